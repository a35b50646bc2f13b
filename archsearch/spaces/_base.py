"""What a built-in or user search space provides to methods.

A `SearchSpace` couples the pure `Space` of choices with the torch side: `build(arch)` gives the standalone network,
`cost(arch)` its MACs/params analytically (microseconds, no model built), and, for weight-sharing spaces,
`supernet()` gives one model holding every candidate (its `MixedOp`s carry the same choice names as `space`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch.nn as nn

from archsearch.cost.constraints import Cost
from archsearch.space.space import Arch, Space


@runtime_checkable
class SearchSpace(Protocol):
    name: str
    space: Space
    input_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int

    def build(self, arch: Arch) -> nn.Module: ...

    def cost(self, arch: Arch) -> Cost: ...


@runtime_checkable
class WeightSharingSpace(SearchSpace, Protocol):
    def supernet(self) -> nn.Module: ...
