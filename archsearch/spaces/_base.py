"""What a built-in or user search space provides to methods, as protocols a method checks with ``isinstance``.

A `SearchSpace` couples the pure `Space` of choices with the torch side: `build(arch)` gives the standalone network,
`cost(arch)` its MACs/params analytically (microseconds, no model built). A `WeightSharingSpace` also gives
`supernet()`, one model holding every candidate (its `MixedOp`s carry the same choice names as `space`), and
`inherit(supernet, arch)`, the standalone child with the supernet's weights.

What only some spaces have is a protocol of its own, so a method asks ``isinstance(space, LatencyCostedSpace)``
instead of probing for an attribute: `LatencyCostedSpace` (costs carry latency from a lookup table),
`MotifSpace` (hierarchical genotypes), `DefaultArchSpace` (a reference architecture), `RecipeSpace` (points carry
their training recipe) and `ArchRecipeSpace` (FBNetV3's joint architecture-recipe space).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch.nn as nn

from archsearch.cost.constraints import Cost
from archsearch.cost.latency import LatencyTable
from archsearch.search.hierarchy import Hierarchy
from archsearch.space.space import Arch, Space
from archsearch.train.recipe import Recipe


@runtime_checkable
class SearchSpace(Protocol):
    name: str
    space: Space
    input_shape: tuple[int, int, int]  # (C, H, W) (a user's `ModuleSpace` holds None until a run fills it in)
    num_classes: int

    def build(self, arch: Arch) -> nn.Module: ...

    def cost(self, arch: Arch) -> Cost: ...


@runtime_checkable
class WeightSharingSpace(SearchSpace, Protocol):
    def supernet(self) -> nn.Module: ...

    def inherit(self, supernet: nn.Module, arch: Arch) -> nn.Module: ...


@runtime_checkable
class LatencyCostedSpace(SearchSpace, Protocol):
    """A space whose `cost` already carries ``latency_ms`` predicted from `latency_table` (`cost.latency`)."""

    latency_table: LatencyTable


@runtime_checkable
class MotifSpace(SearchSpace, Protocol):
    """A space of hierarchical motif genotypes (Liu et al. 2018): evolution mutates them edge by edge."""

    hierarchy: Hierarchy


@runtime_checkable
class DefaultArchSpace(SearchSpace, Protocol):
    """A space with a reference architecture (FBNetV3: the middle of every range), e.g. for a recipe-only search."""

    def default_arch(self) -> Arch: ...


@runtime_checkable
class RecipeSpace(SearchSpace, Protocol):
    """A space whose points carry the training recipe they are trained with (`recipe_of`, on top of `base`)."""

    def recipe_of(self, arch: Arch, base: Recipe | None = None) -> Recipe: ...


@runtime_checkable
class ArchRecipeSpace(RecipeSpace, Protocol):
    """FBNetV3's joint space: each point is an architecture of `architecture` with a training recipe of `recipes`."""

    architecture: SearchSpace
    recipes: Space


def space_label(search_space: object) -> object:
    """What an error message calls a space: its name, or the object itself when it is no `SearchSpace`."""
    return search_space.name if isinstance(search_space, SearchSpace) else search_space
