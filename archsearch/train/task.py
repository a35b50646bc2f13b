"""`EvalTask` and `EvalResult`: one candidate's training job and its outcome, as plain picklable values, and the
per-process dataset cache the job's worker reads (`archsearch.tasks.run_eval_task` runs a job: it rebuilds the
space by name, so it sits above the spaces).

Methods that train candidates (random search, hierarchical evolution, FBNetV3's stage 2, retraining of found
archs) describe each job as a small picklable `EvalTask` and hand it to the executor (local or Ray); the worker
rebuilds the space and the data from plain values (`data` is a built-in name or the path of a .npz file or image
folder; an in-memory dataset is saved into the run directory first). A worker process loads each dataset once and
keeps it (and its splits) in memory for the next task; the Ray executor hands it over through Ray's object store
(`install_dataset`), so workers need no copy of the files.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from archsearch.data.datasets import Dataset, load_dataset
from archsearch.data.splits import Splits, make_splits

_CACHE_SIZE = 2  # datasets (and split sets) kept per process


@dataclass(frozen=True)
class EvalTask:
    """Everything needed to train and evaluate one architecture, as plain (picklable, JSON-able) values.

    `split` holds `make_splits` options (val_size, small_val_size, train_size, seed): every candidate of a search
    must see the same split, so its seed is separate from `seed`, which drives weight init, shuffling,
    augmentation and mixup.
    """

    space: str
    arch: dict[str, Any]
    space_options: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    epochs: int = 1
    data: str = "fashion-mnist"
    data_dir: str | None = None
    image_size: int | None = None  # an image folder's images resized to image_size x image_size
    split: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    threads: int = 1  # torch intra-op threads in the worker; 0 leaves the process setting alone
    device: str | None = None  # None: default_device() in the worker
    test: bool = True  # also evaluate on the test split at the end

    @property
    def data_key(self) -> tuple:
        """What identifies the task's dataset in a process's cache (`cached_dataset`, `install_dataset`)."""
        return (self.data, self.data_dir, self.image_size)


@dataclass(frozen=True)
class EvalResult:
    per_epoch: list[dict[str, float | None]]
    val_accuracy: float | None
    test_accuracy: float | None
    macs: int
    params: int
    seconds: float
    diverged: bool = False
    error: str | None = None
    val_loss: float | None = None
    weights: dict[str, torch.Tensor] | None = None  # the trained state_dict, when asked for (`keep_weights`)
    cpu_seconds: float = 0.0  # CPU time of the process that ran the task (all its threads), measured there


@contextlib.contextmanager
def seeded(seed: int):
    """Seed torch's global RNG for a block and restore it afterwards: nn.Module init, dropout and drop-path draw
    from it, so a build or a training is reproducible without disturbing the caller's random stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


_datasets: dict[tuple, Dataset] = {}
_splits: dict[tuple, Splits] = {}


def cached_splits(data: str, data_dir: str | None, split: dict[str, Any], image_size: int | None = None) -> Splits:
    """The splits of a dataset, loaded and normalised once per process (the last few are kept)."""
    split_key = (data, data_dir, image_size, tuple(sorted(split.items())))
    if split_key not in _splits:
        _remember(_splits, split_key, make_splits(cached_dataset(data, data_dir, image_size), **split))
    return _splits[split_key]


def cached_dataset(data: str, data_dir: str | None, image_size: int | None = None) -> Dataset:
    """A dataset, loaded once per process (the last few are kept)."""
    key = (data, data_dir, image_size)
    if key not in _datasets:
        _remember(_datasets, key, load_dataset(data, data_dir=data_dir, image_size=image_size))
    return _datasets[key]


def forget_dataset(key: tuple) -> None:
    """Drop a dataset (and its splits) from this process's cache, so the next use reads it again."""
    _datasets.pop(tuple(key), None)
    for split_key in [k for k in _splits if k[:3] == tuple(key)]:
        del _splits[split_key]


def install_dataset(key: tuple, fetch: Callable[[], Dataset]) -> None:
    """Put a dataset obtained by `fetch` (called only when missing) in this process's cache under `key`
    ((data, data_dir, image_size)), so tasks naming it do not read it: the driver's in-memory copy, or the one Ray
    shipped through its object store."""
    if tuple(key) not in _datasets:
        _remember(_datasets, tuple(key), fetch())


def _remember(cache: dict, key: tuple, value: Any) -> None:
    cache[key] = value
    while len(cache) > _CACHE_SIZE:
        cache.pop(next(iter(cache)))
