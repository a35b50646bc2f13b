"""Built-in search spaces, registered by name: ``create_space("mobilenet", preset="quick")``. Spaces you write
yourself (a function returning an `nn.Module` with `LayerChoice` / `InputChoice`) are recorded as the space
``user`` (see `archsearch.spaces.user`); runs take them as ``space="file.py:function"`` or as objects."""

from __future__ import annotations

from archsearch._registry import Registry
from archsearch.spaces._base import SearchSpace, WeightSharingSpace

SPACES: Registry[SearchSpace] = Registry("space")
register_space = SPACES.register


def create_space(name: str, **kwargs: object) -> SearchSpace:
    _load_builtins()
    return SPACES.create(name, **kwargs)


def space_names() -> list[str]:
    _load_builtins()
    return SPACES.names()


def _load_builtins() -> None:
    """Import the built-in space modules so they register themselves (kept lazy: importing archsearch is cheap)."""
    import importlib

    for module in _BUILTIN_MODULES:
        importlib.import_module(f"archsearch.spaces.{module}")


# Each built-in space module registers itself on import; add a module here when you add a space.
_BUILTIN_MODULES: list[str] = ["fbnet", "hierarchical", "darts", "mobilenet", "user"]

__all__ = ["SPACES", "SearchSpace", "WeightSharingSpace", "create_space", "register_space", "space_names"]
