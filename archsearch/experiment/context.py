"""`RunContext`: what a method gets from the experiment around it (its only door to storage and compute).

Methods never open files, databases or Ray themselves: they ask the context. Implemented in
`archsearch.experiment.run` (the `Experiment`); tests may build one over a temporary directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from archsearch.space.space import Arch


class Ledger(Protocol):
    """The trial ledger, on Optuna's storage (SQLite in the run dir by default, PostgreSQL by URL).

    One trial per evaluated arch: params = the arch's choices, values = the objectives, per-epoch values as
    intermediate values, attributes (macs, params, latency_ms, seconds, phase, key, ...), state. Only the driver
    writes. `key` identifies a trial across a resume (e.g. "random/17"): `start` with a key already RUNNING
    returns that trial instead of opening a second one; `find(key)` tells whether a key already completed.
    """

    objective_names: tuple[str, ...]

    def start(self, arch: Arch, *, key: str, phase: str, attrs: dict[str, Any] | None = None) -> int: ...

    def report_epoch(self, trial: int, epoch: int, value: float) -> None: ...

    def complete(self, trial: int, values: dict[str, float], attrs: dict[str, Any] | None = None) -> None: ...

    def fail(self, trial: int, reason: str) -> None: ...

    def prune(self, trial: int, reason: str = "") -> None: ...

    def find(self, key: str) -> Any | None: ...  # a TrialRecord or None

    def trials(self, *, phase: str | None = None, state: str | None = None) -> list[Any]: ...  # TrialRecords


class Executor(Protocol):
    """Runs picklable tasks ``fn(*args)`` locally or on Ray workers; results come back to the driver."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...  # a handle

    def wait_any(self, handles: list[Any]) -> tuple[Any, Any]: ...  # (finished handle, its result or exception)

    def map(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]: ...  # results in order

    @property
    def workers(self) -> int: ...


class RunContext(Protocol):
    run_dir: Path
    seed: int
    device: torch.device
    ledger: Ledger
    executor: Executor

    def rng(self, *phase: object) -> np.random.Generator:
        """A generator seeded from (seed, *phase): the only source of randomness methods use."""
        ...

    def torch_generator(self, *phase: object) -> torch.Generator: ...

    def checkpoint(self, method: Any) -> None:
        """Atomically save ``method.state_dict()`` (plus counters) so `resume` can continue from here."""
        ...

    def save_weights(self, name: str, state: Any) -> str:
        """Save weights (a state_dict) as ``run_dir/name``, atomically, written by rank 0 alone under torchrun;
        returns `name` (paths in results are relative to the run directory). Methods save files only this way."""
        ...

    def progress(self, description: str, total: int | None, *, status: str | None = None) -> Any:
        """A progress bar (rich) with ETA: ``with ctx.progress("supernet", total=n) as bar: bar.advance()``; its
        line ends with `status`, by default the best accuracy recorded so far, named by its kind."""
        ...

    def end_search(self) -> None:
        """The search is over: a method that runs its own final training says so first, so that training is not
        counted as search time (the experiment ends the search itself when `run` returns)."""
        ...

    def log(self, message: str) -> None: ...

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        """Append a row to ``run_dir/metrics/<series>.jsonl`` (atomic append), for reports (pool size, eps, ...)."""
        ...
