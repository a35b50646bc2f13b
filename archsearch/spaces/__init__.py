"""Built-in search spaces, registered by name: ``create_space("mobilenet", preset="quick")``. Spaces you write
yourself (a function returning an `nn.Module` with `LayerChoice` / `InputChoice`) are recorded as the space
``user`` (see `archsearch.spaces.user`); runs take them as ``space="file.py:function"`` or as objects."""

from __future__ import annotations

from typing import Callable

from archsearch._registry import Registry
from archsearch.spaces._base import (ArchRecipeSpace, DefaultArchSpace, LatencyCostedSpace, MotifSpace, RecipeSpace,
                                     SearchSpace, WeightSharingSpace, space_label)
from archsearch.spaces.modules import (InputChoice, LayerChoice, ModuleSpace, choice_modules, freeze, set_path,
                                       space_from_module)

# Each built-in space module registers itself on import (imported on the first lookup); add a module here when you
# add a space.
SPACES: Registry[Callable[..., SearchSpace]] = Registry("space", [
    f"archsearch.spaces.{module}" for module in ("fbnet", "hierarchical", "darts", "mobilenet", "user")])
register_space = SPACES.register


def create_space(name: str, **kwargs: object) -> SearchSpace:
    return SPACES.create(name, **kwargs)


def space_names() -> list[str]:
    return SPACES.names()


__all__ = ["SPACES", "ArchRecipeSpace", "DefaultArchSpace", "InputChoice", "LatencyCostedSpace", "LayerChoice",
           "ModuleSpace", "MotifSpace", "RecipeSpace", "SearchSpace", "WeightSharingSpace", "choice_modules",
           "create_space", "freeze", "register_space", "set_path", "space_from_module", "space_label", "space_names"]
