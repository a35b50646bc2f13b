"""A child of a supernet scored with the weights it inherits: inherit -> re-estimate BN -> evaluate.

SPOS (sec. 3.3) and ProxylessNAS' released code score a path this way: the child takes the supernet's weights, and
its BatchNorm statistics are recomputed on a few training batches (the supernet's running ones mix every path).
DARTS, ProxylessNAS and GreedyNAS use it for the child they derive; a study uses it to score random architectures
with a finished supernet (its proxy tau).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn

from archsearch.space.space import Arch
from archsearch.spaces import WeightSharingSpace
from archsearch.train import evaluate, recalibrate_bn


def inherited_accuracy(space: WeightSharingSpace, supernet: nn.Module, arch: Arch, *,
                       calibration: Sequence[torch.Tensor], val: Any, device: torch.device) -> tuple[nn.Module, float]:
    """(child, validation accuracy) of `arch` with inherited weights, BN re-estimated on the `calibration` inputs."""
    child = space.inherit(supernet, arch).to(device)
    recalibrate_bn(child, [x.to(device) for x in calibration])
    _, accuracy = evaluate(child, val, device=device)
    return child, float(accuracy)
