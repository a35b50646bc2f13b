"""Mini-batches over in-memory tensors, optionally augmented per batch (see `archsearch.data.augment`)."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import torch

from archsearch.data.augment import Augmentation, augment_batch
from archsearch.data.splits import TensorPair
from archsearch.errors import ConfigError


class Batches:
    """Iterate ``(x, y)`` mini-batches of a `TensorPair`; re-iterating starts a new epoch (a new permutation).

    ``augment=True`` applies the pair's own `Augmentation` (set by the dataset), or pass an `Augmentation`.
    ``generator`` defaults to one seeded with 0, so batches are reproducible even when none is given.

    With ``generator_for`` the batches are also a pure function of the step number, ``batch(step)``: epoch e is
    shuffled by ``generator_for("perm", e)`` and step s augmented with ``generator_for("aug", s)``, so a resumed
    run sees exactly the same batches without saving a data-loader position.
    """

    def __init__(self, pair: TensorPair, batch_size: int, *, shuffle: bool = False,
                 augment: bool | Augmentation = False, generator: torch.Generator | None = None,
                 drop_last: bool = False,
                 generator_for: Callable[[str, int], torch.Generator] | None = None) -> None:
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
        self.generator_for = generator_for
        self._epoch, self._order = -1, None  # batch(): the permutation of the epoch last asked for

    def __len__(self) -> int:
        n = len(self.pair)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.pair), generator=self.generator) if self.shuffle else None
        for index in range(len(self)):
            yield self._take(order, index, self.generator)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of step `step` (counted over epochs), drawn from ``generator_for`` alone."""
        if self.generator_for is None:
            raise ConfigError("Batches.batch(step) needs generator_for")
        if len(self) == 0:
            raise ConfigError(f"{len(self.pair)} images make no batch of {self.batch_size}")
        epoch, index = divmod(step, len(self))
        if epoch != self._epoch:
            self._order = (torch.randperm(len(self.pair), generator=self.generator_for("perm", epoch))
                           if self.shuffle else None)
            self._epoch = epoch
        generator = self.generator_for("aug", step) if self.augmentation is not None else None
        return self._take(self._order, index, generator)

    def _take(self, order: torch.Tensor | None, index: int,
              generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.pair.x, self.pair.y
        start = index * self.batch_size
        stop = min(start + self.batch_size, len(self.pair))
        if order is None:
            xb, yb = x[start:stop], y[start:stop]
        else:
            rows = order[start:stop].to(x.device)
            xb, yb = x.index_select(0, rows), y.index_select(0, rows)
        if self.augmentation is not None:
            xb = augment_batch(xb, self.augmentation, generator)
        return xb, yb


def take_steps(batches: Iterable[tuple[torch.Tensor, torch.Tensor]], steps: int
               ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """`steps` batches from `batches`, starting a new pass (a new permutation) whenever one ends: an "epoch" of a
    fixed number of steps, the same on a small data set as on a large one."""
    taken = 0
    while taken < steps:
        started = taken
        for batch in batches:
            if taken >= steps:
                return
            yield batch
            taken += 1
        if taken == started:  # no batches at all
            return
