"""Search methods, registered by name with their config dataclass: ``archsearch run greedynas``.

Each method module registers itself on import (``@register_method("darts", DartsConfig)``); the modules are
imported lazily, the first time a name is looked up, so importing `archsearch` stays cheap.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
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

    Each value is read by its field's type (``"1e-3"`` -> 0.001 for a float field; an int field refuses 1.5 and
    true); numeric options are never negative. Unknown option names and presets fail here, naming the allowed
    ones."""
    from archsearch._values import coerce, field_types, matches

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
        values[budget_field] = budget
    values.update(options)
    types = field_types(config_cls)
    deferred: dict[str, ConfigError] = {}  # text the config's own __post_init__ reads (proxyless "5ms")
    for key, value in values.items():
        if key not in types:
            continue
        try:
            values[key] = coerce(value, types[key], f"{name} option {key}")
        except ConfigError as err:
            if not isinstance(value, str):
                raise
            deferred[key] = err
            continue
        number = values[key]
        if isinstance(number, (int, float)) and not isinstance(number, bool) and number < 0:
            raise ConfigError(f"{name} option {key} must be >= 0, got {number}")  # sizes, rates, weights
    try:
        config = config_cls(**values)
    except (TypeError, ValueError) as err:
        if deferred:
            raise next(iter(deferred.values())) from None
        raise ConfigError(f"method {name!r}: {err}") from None
    for key, err in deferred.items():
        if not matches(getattr(config, key), types[key]):
            raise err
    check_final_training(name, config)
    return config


# Budgets: a value past BUDGET_REFUSE x the paper's (or past BUDGET_CAP where the paper gives none) is refused
# unless forced; past BUDGET_WARN x it is run with a warning. The paper's own sizes are the defaults.
BUDGET_WARN = 10
BUDGET_REFUSE = 1000
BUDGET_CAP = 10**6
_BUDGET_FIELD = re.compile(r"(epochs?|evaluations|iterations|generations|population|pool_size)$")


def check_budget(name: str, config: Any, *, force: bool = False,
                 warn: Callable[[str], None] | None = None) -> None:
    """Refuse an absurd budget (``epochs=10**12``) unless `force`; `warn` about a merely large one."""
    config_cls = type(config)
    budget_field = getattr(config_cls, "BUDGET_FIELD", None)
    for f in dataclasses.fields(config_cls):
        if f.name != budget_field and not _BUDGET_FIELD.search(f.name):
            continue
        value = getattr(config, f.name)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        paper = f.default if isinstance(f.default, (int, float)) and not isinstance(f.default, bool) else None
        limit = BUDGET_REFUSE * paper if paper else BUDGET_CAP
        if value > limit:
            if force:
                if warn is not None:
                    warn(f"{name} {f.name}={value:g} is past the sane bound {limit:g}; running it as forced")
                continue
            basis = f"{BUDGET_REFUSE}x the paper's {paper:g}" if paper else f"{BUDGET_CAP:g}"
            raise ConfigError(f"{name} {f.name}={value:g} is absurd (more than {basis}); pass --force to run it "
                              "anyway")
        if paper and value > BUDGET_WARN * paper and warn is not None:
            warn(f"{name} {f.name}={value:g} is {value / paper:.0f}x the paper's {paper:g}: this run will take long")


def check_final_training(name: str, config: Any) -> None:
    """The final-training section every built-in config has (``final_epochs``, ``final_seeds``, ``final_recipe``):
    whole numbers (0 epochs: no final training) and a valid recipe, checked before a run starts."""
    from archsearch.train.recipe import Recipe

    for field_name, least in (("final_epochs", 0), ("final_seeds", 1)):
        value = getattr(config, field_name, None)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ConfigError(f"method {name!r}: {field_name} must be a whole number >= {least}, got {value!r}")
    recipe = getattr(config, "final_recipe", None)
    if recipe is not None:
        if not isinstance(recipe, dict):
            raise ConfigError(f"method {name!r}: final_recipe must be a mapping of recipe fields, got {recipe!r}")
        Recipe.from_dict(recipe)


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


__all__ = ["Candidate", "Method", "MethodEntry", "SearchResult", "check_budget", "create_method", "default_space", "make_config",
           "method_config", "method_entry", "method_names", "register_method"]
