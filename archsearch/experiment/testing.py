"""Helpers for tests (ours and users' own methods).

``ctx = make_context(tmp_path, method="random", space="hierarchical", space_options={"preset": "smoke"})`` gives a
full `RunContext` (SQLite ledger, checkpoints, metric files) on scikit-learn's `digits` by default;
`run_with_crash` kills a run after N checkpoints and resumes it, for resume-equals-uninterrupted tests.
`MemoryContext` is the same protocol in memory, for unit tests of a method's pieces on a toy space: checkpoints
are serialised and reloaded as a resume does them, the ledger (`MemoryLedger`) keeps `OptunaLedger`'s rules.
"""

from __future__ import annotations

import contextlib
import io
import math
import types
import zlib
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from archsearch.experiment.ledger import OBJECTIVES, TrialRecord
from archsearch.experiment.run import (Experiment, SimulatedCrash, resolve_settings, resume, run, start)
from archsearch.methods._base import SearchResult
from archsearch.space.space import Arch


def make_context(tmp_path: str | Path, *, method: str = "random", space: str | None = None,
                 space_options: dict[str, Any] | None = None, data: str = "digits", seed: int = 0,
                 constraints: tuple[str, ...] | list[str] = (), preset: str = "smoke", executor: str = "local",
                 name: str = "test", **options: Any) -> Experiment:
    space_arg: Any = {"name": space, "options": dict(space_options or {})} if space else None
    settings = resolve_settings(method, space=space_arg, data=data, seed=seed, constraints=list(constraints),
                                preset=preset, executor=executor, name=name, **options)
    return start(settings, Path(tmp_path), quiet=True)


def run_with_crash(method: str, crash_after_checkpoints: int, *, runs_dir: str | Path, name: str = "crashed",
                   **run_kwargs: Any) -> SearchResult:
    """Run `method`, crash it right after `crash_after_checkpoints` checkpoints, resume it to the end."""
    run_kwargs.setdefault("quiet", True)
    try:
        run(method, runs_dir=runs_dir, name=name, crash_after_checkpoints=crash_after_checkpoints, **run_kwargs)
    except SimulatedCrash:
        pass
    else:
        raise AssertionError(f"the run finished before its checkpoint {crash_after_checkpoints}: crash earlier")
    return resume(name, runs_dir=runs_dir, quiet=run_kwargs["quiet"])


class MemoryLedger:
    """The `Ledger` protocol in memory with `OptunaLedger`'s rules: a key names one trial across a resume unless
    that trial failed, the first completion stands, values other than the objectives are not kept."""

    def __init__(self, objective_names: Sequence[str] = OBJECTIVES) -> None:
        self.objective_names = tuple(objective_names)
        self._rows: list[dict[str, Any]] = []
        self._by_key: dict[str, int] = {}

    def start(self, arch: Arch, *, key: str, phase: str, attrs: dict[str, Any] | None = None) -> int:
        existing = self._by_key.get(key)
        if existing is not None and self._rows[existing]["state"] != "failed":
            return existing
        self._rows.append({"key": key, "phase": phase, "state": "running", "arch": dict(arch), "values": {},
                           "attrs": {**(attrs or {}), "key": key, "phase": phase}, "per_epoch": {}})
        self._by_key[key] = len(self._rows) - 1
        return len(self._rows) - 1

    def report_epoch(self, trial: int, epoch: int, value: float) -> None:
        if self._rows[trial]["state"] == "running" and math.isfinite(value):
            self._rows[trial]["per_epoch"][int(epoch)] = float(value)

    def complete(self, trial: int, values: dict[str, float], attrs: dict[str, Any] | None = None) -> None:
        row = self._rows[trial]
        if row["state"] == "running":  # values of other names are not objectives of this ledger: dropped
            row.update(state="complete", values={k: float(v) for k, v in values.items() if k in self.objective_names})
            row["attrs"].update(attrs or {})

    def fail(self, trial: int, reason: str) -> None:
        self._end(trial, "failed", fail_reason=str(reason))

    def prune(self, trial: int, reason: str = "") -> None:
        self._end(trial, "pruned", prune_reason=str(reason))

    def find(self, key: str) -> TrialRecord | None:
        return self._record(self._by_key[key]) if key in self._by_key else None

    def trials(self, *, phase: str | None = None, state: str | None = None) -> list[TrialRecord]:
        records = [self._record(i) for i in range(len(self._rows))]
        return [r for r in records if (phase is None or r.phase == phase) and (state is None or r.state == state)]

    def __len__(self) -> int:
        return len(self._rows)

    def _end(self, trial: int, state: str, **attrs: Any) -> None:
        if self._rows[trial]["state"] == "running":
            self._rows[trial].update(state=state)
            self._rows[trial]["attrs"].update(attrs)

    def _record(self, i: int) -> TrialRecord:
        row = self._rows[i]
        return TrialRecord(i, row["key"], row["phase"], row["state"], dict(row["arch"]), dict(row["values"]),
                           dict(row["attrs"]), dict(row["per_epoch"]))


class MemoryContext:
    """A `RunContext` in memory. Randomness is derived from (seed, *phase) as in `Experiment`; `checkpoint`
    serialises the method's state with torch.save (`latest()` reloads it with weights_only=True, as a resume does)
    and raises `SimulatedCrash` at checkpoint `crash_after`; ``metrics[series]`` lists the logged rows."""

    def __init__(self, space: Any = None, *, splits: Any = None, seed: int = 0, ledger: Any = None,
                 executor: Any = None, constraints: Sequence[Any] = (), crash_after: int | None = None,
                 run_dir: str | Path | None = None, space_spec: dict[str, Any] | None = None,
                 data_spec: dict[str, Any] | None = None, preset: str = "smoke", device: str = "cpu") -> None:
        from archsearch.executors.local import LocalExecutor

        self.space, self.seed, self.device = space, seed, torch.device(device)
        self._splits = splits
        self.ledger = ledger if ledger is not None else MemoryLedger()
        self.executor = executor if executor is not None else LocalExecutor()
        self.constraints, self.crash_after, self.preset = tuple(constraints), crash_after, preset
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.space_spec = space_spec or {"name": getattr(space, "name", None), "options": {}}
        self.data_spec = data_spec or {"data": "digits"}
        self.checkpoints: list[bytes] = []
        self.metrics: dict[str, list[dict[str, float]]] = {}
        self.messages: list[str] = []
        self.weights: dict[str, Any] = {}  # save_weights without a run_dir
        self.search_ended = False  # set by `end_search`

    def rng(self, *phase: object) -> np.random.Generator:
        return np.random.default_rng([self.seed] + [zlib.crc32(str(p).encode()) for p in phase])

    def torch_generator(self, *phase: object) -> torch.Generator:
        return torch.Generator().manual_seed(int(self.rng(*phase).integers(2**62)))

    def splits(self) -> Any:
        if callable(self._splits):
            return self._splits()
        if self._splits is not None:
            return self._splits
        from archsearch.train.task import cached_splits

        return cached_splits(self.data_spec["data"], None, dict(self.data_spec.get("split") or {}))

    def checkpoint(self, method: Any) -> None:
        buffer = io.BytesIO()
        torch.save(method.state_dict(), buffer)
        self.checkpoints.append(buffer.getvalue())
        if self.crash_after is not None and len(self.checkpoints) == self.crash_after:
            raise SimulatedCrash(f"simulated crash at checkpoint {self.crash_after}")

    def latest(self) -> dict[str, Any]:
        """The last checkpointed state, as `resume` would load it."""
        return torch.load(io.BytesIO(self.checkpoints[-1]), weights_only=True)

    def save_weights(self, name: str, state: Any) -> str:
        """As `Experiment.save_weights`: into `run_dir` when there is one, else kept in ``weights[name]``."""
        if self.run_dir is None:
            self.weights[name] = state
        else:
            from archsearch.experiment.checkpoint import atomic_save

            atomic_save(self.run_dir / name, state)
        return name

    def end_search(self) -> None:
        self.search_ended = True

    @contextlib.contextmanager
    def progress(self, description: str, total: int | None, *, status: str | None = None) -> Iterator[Any]:
        yield types.SimpleNamespace(advance=lambda n=1: None, update=lambda **fields: None)

    def log(self, message: str) -> None:
        self.messages.append(message)

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        self.metrics.setdefault(series, []).append({"step": step, **values})


__all__ = ["MemoryContext", "MemoryLedger", "SimulatedCrash", "die_once", "make_context", "run_with_crash"]


def die_once(marker: str, fn: Any, *args: Any) -> Any:
    """Fault injection for executor tests: the first call (no `marker` file yet) kills the process it runs in, as
    an OOM kill or a lost node would; later calls run ``fn(*args)``. Importable by Ray workers."""
    import os

    if not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return fn(*args)
