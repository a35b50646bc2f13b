"""Search methods, registered by name with their config dataclass: ``archsearch run greedynas``.

Each method module registers itself on import (``@register_method("darts", DartsConfig)``); the modules are
imported lazily, the first time a name is looked up, so importing `archsearch` stays cheap.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any, Callable

from archsearch.errors import ConfigError, unknown_name
from archsearch.methods._base import Candidate, Method, SearchResult

PRESET_NAMES = ("paper", "quick", "smoke")


@dataclass(frozen=True)
class MethodEntry:
    name: str
    cls: type
    config_cls: type


_METHODS: dict[str, MethodEntry] = {}

# Built-in method modules; each registers its names on import. Add a module here when you add a method.
_BUILTIN_MODULES: tuple[str, ...] = ("evolution", "greedynas", "proxyless", "darts", "nars")


def register_method(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: ``name`` runs ``cls(config_cls(...), ctx)``. Registering a name twice is an error."""

    def decorate(cls: type) -> type:
        entry = _METHODS.get(name)
        if entry is not None and entry.cls is not cls:
            # a module re-imported under another name (e.g. by a test) re-registers the same class: allow that
            if f"{entry.cls.__module__}.{entry.cls.__qualname__}" != f"{cls.__module__}.{cls.__qualname__}":
                raise ValueError(f"method {name!r} registered twice ({entry.cls.__qualname__}, {cls.__qualname__})")
        _METHODS[name] = MethodEntry(name, cls, config_cls)
        return cls

    return decorate


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"archsearch.methods.{module}")


def method_names() -> list[str]:
    _load_builtins()
    return sorted(_METHODS)


def method_entry(name: str) -> MethodEntry:
    _load_builtins()
    if name not in _METHODS:
        raise unknown_name("method", name, _METHODS)
    return _METHODS[name]


def method_config(name: str) -> type:
    """The config dataclass of method `name` (its fields are the method's options)."""
    return method_entry(name).config_cls


def make_config(name: str, preset: str = "quick", budget: float | None = None, **options: Any) -> Any:
    """The method's config: dataclass defaults (the paper's), then the preset's sizes, the budget, then `options`.

    Unknown option names and presets fail here, naming the allowed ones."""
    config_cls = method_config(name)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    for key in options:
        if key not in fields:
            raise unknown_name(f"option of method {name!r}:", key, fields)
    presets: dict[str, dict[str, Any]] = dict(getattr(config_cls, "PRESETS", {}) or {})
    if preset not in PRESET_NAMES:
        raise unknown_name("preset", preset, PRESET_NAMES)
    values = dict(presets.get(preset, {}))
    if budget is not None:
        budget_field = getattr(config_cls, "BUDGET_FIELD", None)
        if budget_field is None:
            raise ConfigError(f"method {name!r} has no single budget; set its fields with --set")
        values[budget_field] = int(budget) if float(budget).is_integer() else budget
    values.update(options)
    try:
        return config_cls(**values)
    except TypeError as err:
        raise ConfigError(f"method {name!r}: {err}") from None


def create_method(name: str, config: Any, ctx: Any) -> Any:
    entry = method_entry(name)
    if not isinstance(config, entry.config_cls):
        raise ConfigError(f"method {name!r} takes a {entry.config_cls.__name__}, got {type(config).__name__}")
    return entry.cls(config, ctx)


def default_space(name: str) -> str:
    """The space a method searches when none is given (config class attribute ``DEFAULT_SPACE``)."""
    entry = method_entry(name)
    return str(getattr(entry.config_cls, "DEFAULT_SPACE", None) or getattr(entry.cls, "DEFAULT_SPACE", None)
               or "mobilenet")


__all__ = ["Candidate", "Method", "MethodEntry", "SearchResult", "create_method", "default_space", "make_config",
           "method_config", "method_entry", "method_names", "register_method"]
