"""The one registry of archsearch, timm-style: entries of one kind (spaces, methods) registered by name, looked up by
name with a suggestion for a typo. Spaces register factories (`create` calls one with checked keywords); methods
register a `MethodSpec` each. The built-in modules of a kind register themselves on import and are imported on the
first lookup, so importing `archsearch` stays cheap."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, Generic, Sequence, TypeVar

from archsearch.errors import ConfigError, unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, builtin_modules: Sequence[str] = ()) -> None:
        self.kind = kind
        self.builtin_modules = tuple(builtin_modules)  # add a module here when you add a built-in entry
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, *, same: Callable[[T, T], bool] | None = None) -> T:
        """Register `entry` as `name`; a second entry under a name is an error unless `same(old, new)` says it is
        the first one again (a module re-imported under another name)."""
        old = self._entries.get(name)
        if old is not None and not (same is not None and same(old, entry)):
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`: ``@SPACES.register("mobilenet")`` over a factory."""

        def decorator(entry: T) -> T:
            return self.add(name, entry)

        return decorator

    def names(self) -> list[str]:
        self._load_builtins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_builtins()
        return name in self._entries

    def get(self, name: str) -> T:
        self._load_builtins()
        if name not in self._entries:
            raise unknown_name(self.kind, name, self._entries)
        return self._entries[name]

    factory = get  # a registry of factories (spaces) reads better with this name

    def create(self, name: str, **kwargs: object) -> Any:
        """Call the factory `name`, rejecting unknown keywords here rather than three calls deeper."""
        factory: Any = self.get(name)
        params = inspect.signature(factory).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            for key in kwargs:
                if key not in params:
                    raise unknown_name(f"option for {self.kind} {name!r}:", key, params)
        try:
            inspect.signature(factory).bind(**kwargs)
        except TypeError as err:  # a missing required argument, caught at the entry point
            raise ConfigError(f"{self.kind} {name!r}: {err}") from None
        return factory(**kwargs)

    def _load_builtins(self) -> None:
        for module in self.builtin_modules:  # after the first time, a lookup in sys.modules
            importlib.import_module(module)
