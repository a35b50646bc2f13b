"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth"), per sample.

In training, each sample's residual branch is zeroed with probability `p` and the survivors are scaled by
1 / (1 - p), so the expectation is unchanged; in eval it is the identity. The recipe sets `p` per block
(`archsearch.train` gives block i of n the rate ``drop_path * i / n``, as EfficientNet does).
"""

from __future__ import annotations

import torch
import torch.nn as nn


class DropPath(nn.Module):
    """Drop a residual branch for whole samples. Wrap the branch output: ``x + self.drop_path(branch(x))``.

    Like `nn.Dropout` it draws from the global torch RNG unless a `generator` (on the input's device) is set.
    """

    def __init__(self, p: float = 0.0, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"DropPath p must be in [0, 1), got {p}")
        self.p = float(p)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        mask = torch.rand(shape, dtype=x.dtype, device=x.device, generator=self.generator) < keep
        return x * mask.to(x.dtype).div_(keep)

    def extra_repr(self) -> str:
        return f"p={self.p}"
