"""BatchNorm statistics of a network cut from a supernet: the supernet's running statistics mix every path that was
trained, so they fit no single path. Two remedies: re-estimate them on training batches (`recalibrate_bn`, SPOS'
BN recalibration, for a child that is kept), or normalise each evaluated batch with its own statistics
(`batch_statistics`, for scoring many paths cheaply)."""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
import torch.nn as nn


def _norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Sequence[torch.Tensor]) -> None:
    """Recompute BN running statistics as the plain average over the input `batches` (moved to the model's
    device), in train mode; the model's mode and the BN momenta are restored afterwards."""
    norms = _norms(model)
    if not norms or not batches:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    was_training = model.training
    model.train()
    first = next(model.parameters(), None)
    for x in batches:
        model(x if first is None else x.to(first.device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)


@contextlib.contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Evaluate with BatchNorm on each batch's own statistics, leaving the running ones untouched.

    A supernet's running BN statistics mix every path that was trained; SPOS recalibrates them per path, we
    (interpretation) normalise with the evaluated batch itself, which costs nothing. Dropout and other train-mode
    behaviour stay off.
    """
    was_training = model.training
    model.eval()
    saved = []
    for module in _norms(model):
        saved.append((module, module.momentum,
                      None if module.num_batches_tracked is None else module.num_batches_tracked.clone()))
        module.train()
        module.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
    try:
        yield
    finally:
        for module, momentum, tracked in saved:
            module.momentum = momentum
            if tracked is not None:
                module.num_batches_tracked.copy_(tracked)
        model.train(was_training)


__all__ = ["batch_statistics", "recalibrate_bn"]
