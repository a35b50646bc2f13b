"""Mixup (Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization"), batched.

One ``lam ~ Beta(alpha, alpha)`` per batch; inputs are mixed with a random permutation of the same batch,
``x' = lam x + (1 - lam) x[perm]``, and the loss is the same mixture of two cross-entropy terms,
``lam CE(f(x'), y) + (1 - lam) CE(f(x'), y[perm])`` (equal to CE against the mixed one-hot labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class MixedBatch:
    x: torch.Tensor
    y_a: torch.Tensor
    y_b: torch.Tensor
    lam: float


def mixup_batch(x: torch.Tensor, y: torch.Tensor, alpha: float, generator: torch.Generator) -> MixedBatch:
    """Mix a batch; ``alpha == 0`` returns it unchanged (lam = 1)."""
    if alpha <= 0:
        return MixedBatch(x, y, y, 1.0)
    # torch has no generator-driven Beta sampler: seed a numpy Generator from the torch one (one draw per batch)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
    mixed = x.mul(lam).add_(x.index_select(0, perm), alpha=1.0 - lam)
    return MixedBatch(mixed, y, y.index_select(0, perm), lam)


def mixup_cross_entropy(logits: torch.Tensor, batch: MixedBatch, *, label_smoothing: float = 0.0) -> torch.Tensor:
    """``lam CE(logits, y_a) + (1 - lam) CE(logits, y_b)``, each with the given label smoothing."""
    loss = F.cross_entropy(logits, batch.y_a, label_smoothing=label_smoothing)
    if batch.lam == 1.0:
        return loss
    return batch.lam * loss + (1.0 - batch.lam) * F.cross_entropy(logits, batch.y_b, label_smoothing=label_smoothing)
