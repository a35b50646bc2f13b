"""Mini-batches over in-memory tensors, optionally augmented per batch (see `archsearch.data.augment`)."""

from __future__ import annotations

from typing import Iterator

import torch

from archsearch.data.augment import Augmentation, augment_batch
from archsearch.data.splits import TensorPair
from archsearch.errors import ConfigError


class Batches:
    """Iterate ``(x, y)`` mini-batches of a `TensorPair`; re-iterating starts a new epoch (a new permutation).

    ``augment=True`` applies the pair's own `Augmentation` (set by the dataset), or pass an `Augmentation`.
    ``generator`` defaults to one seeded with 0, so batches are reproducible even when none is given.
    """

    def __init__(self, pair: TensorPair, batch_size: int, *, shuffle: bool = False,
                 augment: bool | Augmentation = False, generator: torch.Generator | None = None,
                 drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.pair = pair
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        if augment is True:
            augmentation = pair.augmentation
            if augmentation is None:
                raise ConfigError("augment=True but this TensorPair has no Augmentation; pass augment=Augmentation(...)")
        elif augment is False:
            augmentation = None
        else:
            augmentation = augment
        if augmentation is not None and pair.x.dim() != 4:
            raise ConfigError(f"augmentation needs images (N, C, H, W); got shape {tuple(pair.x.shape)}")
        self.augmentation = None if augmentation is None or augmentation.is_identity else augmentation
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        n = len(self.pair)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.pair.x, self.pair.y
        n = len(self.pair)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for batch in range(len(self)):
            start = batch * self.batch_size
            stop = min(start + self.batch_size, n)
            if order is None:
                xb, yb = x[start:stop], y[start:stop]
            else:
                index = order[start:stop].to(x.device)
                xb, yb = x.index_select(0, index), y.index_select(0, index)
            if self.augmentation is not None:
                xb = augment_batch(xb, self.augmentation, self.generator)
            yield xb, yb
