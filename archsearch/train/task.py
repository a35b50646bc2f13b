"""`EvalTask` -> `run_eval_task` -> `EvalResult`: train one candidate from scratch, anywhere.

Methods that train candidates (random search, hierarchical evolution, FBNetV3's stage 2, retraining of found
archs) describe each job as a small picklable `EvalTask` and hand it to the executor (local or Ray); the worker
rebuilds the space and the data from plain values (`data` is a built-in name or the path of a .npz file or image
folder; an in-memory dataset is saved into the run directory first). A worker process loads each dataset once and
keeps it (and its splits) in memory for the next task; the Ray executor hands it over through Ray's object store
(`install_dataset`), so workers need no copy of the files.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from archsearch.data.datasets import Dataset, load_dataset
from archsearch.data.splits import Splits, make_splits
from archsearch.errors import DivergedError
from archsearch.train.device import resolve_device
from archsearch.train.recipe import Recipe
from archsearch.train.trainer import evaluate, train

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


def run_eval_task(task: EvalTask, on_epoch: Callable[[int, dict[str, float | None]], None] | None = None, *,
                  teacher: dict[str, Any] | None = None, keep_weights: bool = False) -> EvalResult:
    """Build ``task.arch`` in ``task.space``, train it with ``task.recipe`` for ``task.epochs``, evaluate.

    A NaN / inf loss does not raise: the result has ``diverged=True`` and the message in ``error`` (searches
    record the candidate as failed and go on). Weight init is seeded by ``task.seed`` inside `seeded`, so the
    process's global RNG is left as it was. ``teacher = {"arch": ..., "state": state_dict}`` (an arch of the same
    space) turns on distillation; ``keep_weights`` returns the trained state_dict in ``weights``.
    """
    from archsearch.spaces import create_space  # lazy: spaces import torch modules of every built-in space

    start, cpu_start = time.perf_counter(), time.process_time()
    previous_threads = torch.get_num_threads()
    if task.threads > 0:
        torch.set_num_threads(task.threads)
    try:
        search_space = create_space(task.space, **task.space_options)
        arch = search_space.space.validate(task.arch)
        cost = search_space.cost(arch)
        recipe = Recipe.from_dict(task.recipe)
        splits = cached_splits(task.data, task.data_dir, dict(task.split), task.image_size)
        device = resolve_device(task.device)
        with seeded(task.seed):
            model = search_space.build(arch)
            teacher_model = None
            if teacher is not None:  # its init is overwritten: built here only to leave the global RNG alone
                teacher_model = search_space.build(search_space.space.validate(teacher["arch"]))
                teacher_model.load_state_dict(teacher["state"])
        generator = torch.Generator().manual_seed(task.seed)
        history: list[dict[str, float | None]] = []

        def record(epoch: int, metrics: dict[str, float | None]) -> None:
            history.append(metrics)
            if on_epoch is not None:
                on_epoch(epoch, metrics)

        try:
            train(model, splits, recipe, task.epochs, device=device, generator=generator, teacher=teacher_model,
                  on_epoch=record)
        except DivergedError as err:
            return EvalResult(history, None, None, int(cost.macs), int(cost.params), time.perf_counter() - start,
                              diverged=True, error=str(err), cpu_seconds=time.process_time() - cpu_start)
        last = history[-1] if history else {}
        test_accuracy = evaluate(model, splits.test, device=device)[1] if task.test else None
        weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()} if keep_weights else None
        return EvalResult(history, last.get("val_accuracy"), test_accuracy, int(cost.macs), int(cost.params),
                          time.perf_counter() - start, val_loss=last.get("val_loss"), weights=weights,
                          cpu_seconds=time.process_time() - cpu_start)
    finally:
        torch.set_num_threads(previous_threads)


def _remember(cache: dict, key: tuple, value: Any) -> None:
    cache[key] = value
    while len(cache) > _CACHE_SIZE:
        cache.pop(next(iter(cache)))
