"""A child of a supernet scored with the weights it inherits: inherit -> re-estimate BN -> evaluate.

SPOS (sec. 3.3) and ProxylessNAS' released code score a path this way: the child takes the supernet's weights, and
its BatchNorm statistics are recomputed on a few training batches (the supernet's running ones mix every path).
DARTS and ProxylessNAS score the child they derive so, GreedyNAS exports its chosen child so, and a study scores
random architectures with a finished supernet so (its proxy tau).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from archsearch.data.batches import Batches
from archsearch.data.splits import TensorPair
from archsearch.space.space import Arch
from archsearch.spaces import WeightSharingSpace
from archsearch.train import evaluate, recalibrate_bn


def calibration_inputs(train: TensorPair, batch_size: int, count: int,
                       generator: torch.Generator) -> list[torch.Tensor]:
    """The inputs of the first `count` shuffled training batches (not augmented): what BN is re-estimated on."""
    batches = Batches(train, batch_size, shuffle=True, generator=generator)
    return [x for _, (x, _) in zip(range(count), batches)]


def recalibrated_child(space: WeightSharingSpace, supernet: nn.Module, arch: Arch,
                       calibration: Sequence[torch.Tensor], device: torch.device) -> nn.Module:
    """The standalone child of `arch` with the supernet's weights, its BN statistics re-estimated on `calibration`."""
    child = space.inherit(supernet, arch).to(device)
    recalibrate_bn(child, calibration)
    return child


def inherited_accuracy(space: WeightSharingSpace, supernet: nn.Module, arch: Arch, *,
                       calibration: Sequence[torch.Tensor], val: TensorPair,
                       device: torch.device) -> tuple[nn.Module, float]:
    """(child, validation accuracy) of `arch` with inherited weights, BN re-estimated on the `calibration` inputs."""
    child = recalibrated_child(space, supernet, arch, calibration, device)
    _, accuracy = evaluate(child, val, device=device)
    return child, float(accuracy)
