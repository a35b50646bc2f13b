"""One registry per kind of thing (spaces, methods), timm-style: register by name, create by name with typed kwargs."""

from __future__ import annotations

import inspect
from typing import Callable, Generic, TypeVar

from archsearch.errors import ConfigError, unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._factories[name] = factory
            return factory

        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def factory(self, name: str) -> Callable[..., T]:
        if name not in self._factories:
            raise unknown_name(self.kind, name, self._factories)
        return self._factories[name]

    def create(self, name: str, **kwargs: object) -> T:
        """Call the factory, rejecting unknown keywords here rather than three calls deeper."""
        factory = self.factory(name)
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
