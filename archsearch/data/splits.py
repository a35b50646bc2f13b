"""Deterministic train / val / small-val / test splits as normalised in-memory tensors.

The official training set is permuted once by ``np.random.default_rng(seed)``; the first `val_size` images are the
validation set (what searches rank candidates on), the next `small_val_size` the small validation set (GreedyNAS
sec. 3.2 scores paths on 1000 held-out images), and the rest the training set, optionally cut to `train_size`.
The three are disjoint. The official test set is kept apart and used only for final numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from archsearch.data.augment import Augmentation
from archsearch.errors import ConfigError

if TYPE_CHECKING:
    from archsearch.data.datasets import Dataset


@dataclass(frozen=True, eq=False)
class TensorPair:
    """Inputs `x` (N, C, H, W) float32, normalised, and labels `y` (N,) int64, plus how to augment them."""

    x: torch.Tensor
    y: torch.Tensor
    augmentation: Augmentation | None = None

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ConfigError(f"TensorPair: {len(self.x)} inputs but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: torch.Tensor | np.ndarray) -> "TensorPair":
        index = torch.as_tensor(indices, dtype=torch.long)
        return TensorPair(self.x[index], self.y[index], self.augmentation)

    def to(self, device: torch.device | str) -> "TensorPair":
        return TensorPair(self.x.to(device), self.y.to(device), self.augmentation)


@dataclass(frozen=True, eq=False)
class Splits:
    name: str
    train: TensorPair
    val: TensorPair
    small_val: TensorPair
    test: TensorPair
    num_classes: int
    input_shape: tuple[int, ...]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "small_val": len(self.small_val),
                "test": len(self.test)}


def make_splits(dataset: "Dataset", *, val_size: int = 10000, small_val_size: int = 1000,
                train_size: int | None = None, seed: int = 0) -> Splits:
    """Split `dataset` deterministically in `seed` (defaults: a 10k validation set, the usual Fashion-MNIST /
    CIFAR-10 hold-out size, and GreedyNAS' 1000-image small validation set)."""
    n = len(dataset.y_train)
    for label, value in (("val_size", val_size), ("small_val_size", small_val_size)):
        if value < 0:
            raise ConfigError(f"{label} must be >= 0, got {value}")
    available = n - val_size - small_val_size
    if available < 1:
        raise ConfigError(f"dataset {dataset.name!r} has {n} training images: val_size={val_size} + "
                          f"small_val_size={small_val_size} leaves none to train on; lower them")
    if train_size is not None and not 1 <= train_size <= available:
        raise ConfigError(f"train_size={train_size} must be in [1, {available}] for dataset {dataset.name!r} "
                          f"({n} images, {val_size + small_val_size} held out)")
    order = np.random.default_rng(seed).permutation(n)
    val_idx = np.sort(order[:val_size])
    small_idx = np.sort(order[val_size:val_size + small_val_size])
    train_idx = order[val_size + small_val_size:]
    if train_size is not None:
        train_idx = train_idx[:train_size]
    train_idx = np.sort(train_idx)

    def pair(x: torch.Tensor, y: torch.Tensor, index: np.ndarray | None, augmentation: Augmentation | None):
        if index is not None:
            t = torch.from_numpy(index)
            x, y = x[t], y[t]
        return TensorPair(dataset.normalise(x), y.to(torch.int64).clone(), augmentation)

    augmentation = dataset.augmentation
    return Splits(
        name=dataset.name,
        train=pair(dataset.x_train, dataset.y_train, train_idx, augmentation),
        val=pair(dataset.x_train, dataset.y_train, val_idx, augmentation),
        small_val=pair(dataset.x_train, dataset.y_train, small_idx, augmentation),
        test=pair(dataset.x_test, dataset.y_test, None, augmentation),
        num_classes=dataset.num_classes,
        input_shape=dataset.input_shape,
    )
