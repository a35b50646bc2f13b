"""The trial ledger on Optuna's storage: one trial per evaluated architecture, nothing of our own schema.

SQLite in the run directory by default, any SQLAlchemy URL (``postgresql://...``) to share one across machines.
A trial holds the arch's choices as params (where the space gives their distribution) and the whole arch as the
``arch_json`` attribute, the objectives as values (accuracy maximised, costs minimised), the per-epoch validation
accuracy as intermediate values, attributes (macs, params, latency_ms, seconds, phase, key, ...) and its state.

``key`` names a trial across a resume (``"random/17"``): starting a key that is already in the ledger returns that
trial, so a method that re-runs the work done after its last checkpoint writes no duplicate. Only the driver writes.

Every reader gets the same `TrialRecord`s through `LedgerReader`: the writing `OptunaLedger` (``find``, ``trials``)
and a run read back (`archsearch.report.RunRecord.trials`: reports, ``show``, ``ls``, ``export``).
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from archsearch._json import json_value
from archsearch.errors import UsageError
from archsearch.experiment.ledger_storage import (ApiWriter, RowWriter, ServerLock, check_sqlite_ledger,
                                                  engine_kwargs, open_storage_read_only, redact_url,
                                                  resolve_storage_url, sqlite_url, tune_sqlite)
from archsearch.space.choices import Categorical, Numeric
from archsearch.space.space import Arch, Space

OBJECTIVES = ("accuracy", "macs", "params")  # accuracy maximised, the costs minimised
MAXIMISED = ("accuracy",)

_STATE_NAMES = {"COMPLETE": "complete", "RUNNING": "running", "FAIL": "failed", "PRUNED": "pruned",
                "WAITING": "waiting"}


@dataclass(frozen=True)
class TrialRecord:
    """A ledger trial as plain values: what every ledger's `find` / `trials` and a run's `RunRecord.trials`
    return. ``key`` and ``phase`` are attributes like the others (``attrs["key"]``), shown as properties."""

    number: int
    state: str  # complete | running | failed | pruned | waiting
    arch: dict[str, Any]
    values: dict[str, float] = field(default_factory=dict)  # the objectives by name, accuracy first
    attrs: dict[str, Any] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    per_epoch: dict[int, float] = field(default_factory=dict)

    @property
    def objectives(self) -> dict[str, float]:
        return self.values

    @property
    def key(self) -> str:
        return str(self.attrs.get("key", ""))

    @property
    def phase(self) -> str:
        return str(self.attrs.get("phase", ""))

    def metric(self, name: str) -> float | None:
        """An objective, else a numeric attribute (macs / params / latency_ms are attributes for every trial)."""
        if name in self.values:
            return float(self.values[name])
        value = self.attrs.get(name)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class LedgerReader:
    """One study of a ledger read as `TrialRecord`s: the only code that turns Optuna's trials into records, for the
    writing `OptunaLedger` and for a run opened read-only (`LedgerReader.load`, `read_studies`) alike."""

    def __init__(self, storage: Any, study_id: int, objective_names: Sequence[str], study_name: str = "") -> None:
        """`objective_names` key the trials' values, in Optuna's order."""
        self.storage, self.study_id, self.study_name = storage, study_id, study_name
        self.objective_names = tuple(objective_names)

    @classmethod
    def load(cls, storage: Any, study_name: str) -> "LedgerReader":
        """The study `study_name` of `storage`, its objectives named as the study names them."""
        import optuna

        study = optuna.load_study(study_name=study_name, storage=storage)
        return cls(storage, storage.get_study_id_from_name(study_name), stored_objective_names(study), study_name)

    def trials(self, *, phase: str | None = None, state: str | None = None) -> list[TrialRecord]:
        """The study's trials in trial-number order, those of `phase` / `state` when given."""
        records = [self.record(t) for t in self.storage.get_all_trials(self.study_id, deepcopy=False)]
        return [r for r in records if (phase is None or r.phase == phase) and (state is None or r.state == state)]

    def trial(self, trial_id: int) -> TrialRecord:
        return self.record(self.storage.get_trial(trial_id))

    def record(self, trial: Any) -> TrialRecord:
        """An Optuna `FrozenTrial` as a record."""
        attrs = dict(trial.user_attrs)
        values = {} if trial.values is None else dict(zip(self.objective_names, map(float, trial.values)))
        return TrialRecord(trial.number, _STATE_NAMES.get(trial.state.name, trial.state.name.lower()),
                           _arch_of(trial.params, attrs), values, attrs, trial.datetime_start,
                           trial.datetime_complete, {int(k): float(v) for k, v in trial.intermediate_values.items()})


def stored_objective_names(study: Any) -> list[str]:
    """A study's objectives as the ledger names them; a metric name that says which accuracy it is
    (``supernet_accuracy``, ``accuracy_after_1_epochs``, ``test_accuracy``) is the ``accuracy`` objective."""
    names = study.metric_names or study.user_attrs.get("objective_names")
    if names:
        return ["accuracy" if "accuracy" in str(n) else str(n) for n in names]
    if len(study.directions) == 1:
        return ["accuracy"]
    return [f"value_{i}" for i in range(len(study.directions))]


FINAL_SUFFIX = ":final"  # the study of a run's final training: "<run>:final", one trial per seed


def read_studies(url: str) -> list[LedgerReader]:
    """Every study (run) in the ledger database at `url`, opened read-only, by name."""
    storage = open_storage_read_only(url)
    names = sorted(s.study_name for s in storage.get_all_studies())
    return [LedgerReader.load(storage, name) for name in names]


def _arch_of(params: Mapping[str, Any], attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The whole arch (``arch_json``), else what the params hold of it."""
    text = attrs.get("arch_json")
    if isinstance(text, str):
        try:
            value = json.loads(text)
            if isinstance(value, dict):
                return value
        except json.JSONDecodeError:
            pass
    return dict(params)


class OptunaLedger:
    """The `Ledger` protocol of `archsearch.experiment.context` over an Optuna RDB storage."""

    def __init__(self, url: str, study_name: str, *, objective_names: Sequence[str] = OBJECTIVES,
                 spaces: Sequence[Space] = (), cost: Callable[[Arch], Any] | None = None,
                 metric_names: Sequence[str] | None = None,
                 on_complete: Callable[[dict[str, float]], None] | None = None) -> None:
        """`objective_names` are the keys methods use (``accuracy`` first); `metric_names` what Optuna shows for
        them, in the same order (e.g. ``supernet_accuracy``: which accuracy it is; None: the study's own, for a
        reader); `on_complete(values)` sees every completed trial's objectives (the live progress line)."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.url = url
        self.objective_names = tuple(objective_names)
        self.metric_names = tuple(metric_names or objective_names)
        if len(self.metric_names) != len(self.objective_names):
            raise ValueError(f"ledger: metric names {self.metric_names} do not match {self.objective_names}")
        self.on_complete = on_complete
        self._cost = cost
        self._distributions = _distributions(spaces)
        url = resolve_storage_url(url)
        self._server_lock: ServerLock | None = None  # a database server's own lock on this run's study
        try:
            if url.startswith("postgresql"):
                self._server_lock = ServerLock(url)
            with self._server_lock.schema() if self._server_lock else contextlib.nullcontext():
                self.storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs(url))
                if url.startswith("sqlite"):
                    tune_sqlite(self.storage.engine)
                study = optuna.create_study(
                    storage=self.storage, study_name=study_name, load_if_exists=True,
                    directions=["maximize" if n in MAXIMISED else "minimize" for n in self.objective_names])
        except ImportError as err:  # e.g. psycopg2 for PostgreSQL
            raise UsageError(f"the ledger storage {redact_url(url)} needs a driver that is not installed ({err}); "
                             "for PostgreSQL: pip install 'archsearch[postgres]'") from None
        except Exception as err:  # unreachable server, bad URL, a corrupt database file
            raise UsageError(f"cannot open the ledger at {redact_url(url)}: {str(err).splitlines()[0]}") from None
        if self._server_lock is not None:  # one writer per study across machines, as the run lock is per host
            self._server_lock.hold(study_name)
        stored = list(study.metric_names or [])
        if metric_names is None and len(stored) == len(self.objective_names) and all(
                o in m for m, o in zip(stored, self.objective_names)):  # a reader takes the run's names as they are
            self.metric_names = tuple(stored)
        if stored not in (list(self.metric_names), list(self.objective_names)):  # objective names: an older run
            if stored:
                raise UsageError(f"ledger study {study_name!r} records {stored}, not {list(self.metric_names)}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ExperimentalWarning: the API is stable since Optuna 3.2
                study.set_metric_names(list(self.metric_names))
        self.study = study
        self.study_id = study._study_id
        self._reader = LedgerReader(self.storage, self.study_id, self.objective_names, study_name)
        self._states: dict[int, str] = {}  # trial id -> Optuna state name, for the trials seen by this process
        self._checked = False  # has a trial of this process passed Optuna's distribution checks?
        self._api = ApiWriter(self.storage, self._distributions)
        # the fast path when it knows the installed Optuna's tables, else Optuna's public API for every trial
        self._writer: ApiWriter | RowWriter = RowWriter.for_storage(self.storage, self._distributions) or self._api
        self._by_key: dict[str, int] = {}  # key -> trial id of its latest trial
        self._arch_of: dict[int, Arch] = {}  # trial id -> arch (trials started by this process)
        existing = self.storage.get_all_trials(self.study_id, deepcopy=False)
        # counted here and as this process opens trials (only the driver writes): Optuna's get_n_trials loads every
        # trial, which at 10^4 trials made each checkpoint of an evolution cost seconds
        self._count = len(existing)
        for trial in existing:
            key = trial.user_attrs.get("key")
            if key is not None:
                self._by_key[str(key)] = trial._trial_id

    # -- writing ------------------------------------------------------------------------------------------------------
    def start(self, arch: Arch, *, key: str, phase: str, attrs: dict[str, Any] | None = None) -> int:
        """Open a RUNNING trial for `arch` (or return the trial `key` already names, unless that one failed)."""
        from optuna.trial import TrialState

        existing = self._by_key.get(key)
        if existing is not None:
            state = self.storage.get_trial(existing).state
            if state != TrialState.FAIL:
                self._arch_of[existing] = arch
                return existing
        params = {n: v for n, v in arch.items() if n in self._distributions}
        user_attrs = json_value({**(attrs or {}), "key": key, "phase": phase, "arch_json": arch.to_json()},
                                finite=False)  # Optuna stores NaN
        # the first trial of this process goes through Optuna's checks of the params' distributions
        writer = self._writer if self._checked else self._api
        trial_id = writer.open_trial(self.study_id, params, user_attrs)
        self._checked = True
        self._count += 1
        self._states[trial_id] = "RUNNING"
        self._by_key[key] = trial_id
        self._arch_of[trial_id] = arch
        return trial_id

    def report_epoch(self, trial: int, epoch: int, value: float) -> None:
        if self._running(trial) and math.isfinite(value):
            self.storage.set_trial_intermediate_value(trial, int(epoch), float(value))

    def complete(self, trial: int, values: dict[str, float], attrs: dict[str, Any] | None = None) -> None:
        """Record the objectives; a missing cost comes from `attrs` or the space's cost model. A non-finite
        accuracy fails the trial instead (Optuna stores only finite values)."""
        if not self._running(trial):
            return  # completed before a resume re-ran its work: the first record stands
        attrs = dict(attrs or {})
        full: dict[str, float] = {}
        for name in self.objective_names:
            value = values.get(name, attrs.get(name))
            if value is None:
                value = self._cost_metric(trial, name)
            full[name] = float(value)
        if not all(math.isfinite(v) for v in full.values()):
            self._writer.set_user_attrs(trial, json_value(attrs, finite=False))
            self.fail(trial, f"non-finite objective values {full}")
            return
        self._writer.complete_trial(trial, [full[n] for n in self.objective_names], json_value(attrs, finite=False))
        self._states[trial] = "COMPLETE"
        if self.on_complete is not None:
            self.on_complete(full)

    def fail(self, trial: int, reason: str) -> None:
        from optuna.trial import TrialState

        if self._running(trial):
            self.storage.set_trial_user_attr(trial, "fail_reason", str(reason)[:2000])
            self._set_state(trial, TrialState.FAIL)

    def prune(self, trial: int, reason: str = "") -> None:
        from optuna.trial import TrialState

        if self._running(trial):
            if reason:
                self.storage.set_trial_user_attr(trial, "prune_reason", str(reason)[:2000])
            self._set_state(trial, TrialState.PRUNED)

    def abandon_running(self, reason: str = "the run ended with this trial still running") -> int:
        """Fail every trial still RUNNING (work a finished run no longer owes); returns how many."""
        count = 0
        for trial in self.storage.get_all_trials(self.study_id, deepcopy=False):
            if trial.state.name == "RUNNING":
                self.fail(trial._trial_id, reason)
                count += 1
        return count

    def close(self) -> None:
        """Let go of the database: the server's lock on this run's study (another process may now write it) and
        the connections."""
        if self._server_lock is not None:
            self._server_lock.close()
            self._server_lock = None
        self.storage.engine.dispose()

    # -- reading ------------------------------------------------------------------------------------------------------
    def find(self, key: str) -> TrialRecord | None:
        trial_id = self._by_key.get(key)
        return None if trial_id is None else self._reader.trial(trial_id)

    def trials(self, *, phase: str | None = None, state: str | None = None) -> list[TrialRecord]:
        return self._reader.trials(phase=phase, state=state)

    def __len__(self) -> int:
        return self._count

    def snapshot(self) -> dict[str, Any]:
        """How many trials the ledger holds and their keys (saved with each checkpoint, checked on resume)."""
        return {"trials": len(self), "keys": sorted(self._by_key)}

    # -- internals ----------------------------------------------------------------------------------------------------
    def _running(self, trial: int) -> bool:
        """Whether `trial` is still RUNNING: known for the trials this process wrote (only the driver writes),
        read from the storage for the others."""
        if trial not in self._states:
            self._states[trial] = self.storage.get_trial(trial).state.name
        return self._states[trial] == "RUNNING"

    def _set_state(self, trial: int, state: Any) -> None:
        self.storage.set_trial_state_values(trial, state)
        self._states[trial] = state.name

    def _cost_metric(self, trial: int, name: str) -> float:
        arch = self._arch_of.get(trial)
        if arch is None:
            arch_json = self.storage.get_trial_user_attrs(trial).get("arch_json")
            arch = Arch(json.loads(arch_json)) if arch_json else None
        if arch is None or self._cost is None or name == "accuracy":
            raise ValueError(f"ledger: trial {trial} completed without the objective {name!r}")
        return float(self._cost(arch).metric(name))


def _distributions(spaces: Sequence[Space]) -> dict[str, Any]:
    """Optuna distributions of the choices, so the arch shows as params (dashboard, param importances)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for space in spaces:
        for name, choice in space.choices.items():
            if isinstance(choice, Categorical):
                values = list(choice.values)
                if all(v is None or isinstance(v, (bool, int, float, str)) for v in values):
                    out[name] = CategoricalDistribution(values)
            elif isinstance(choice, Numeric):
                step = choice.step
                if choice.integral and (not choice.log or step in (None, 1)):
                    out[name] = (IntDistribution(int(choice.low), int(choice.high), log=True) if choice.log
                                 else IntDistribution(int(choice.low), int(choice.high), step=int(step or 1)))
                elif not choice.integral and step is None:
                    out[name] = FloatDistribution(float(choice.low), float(choice.high), log=bool(choice.log))
    return out


class RankLedger:
    """The ledger seen by ranks other than 0 of a torchrun job: writes go nowhere (rank 0 records the same
    trials), lookups find nothing (the rank re-computes what rank 0 may skip; no collective runs there)."""

    objective_names = OBJECTIVES

    def __init__(self) -> None:
        self._next = 0

    def start(self, arch: Any, *, key: str, phase: str, attrs: dict[str, Any] | None = None) -> int:
        self._next += 1
        return self._next

    def report_epoch(self, trial: int, epoch: int, value: float) -> None:
        pass

    def complete(self, trial: int, values: dict[str, float], attrs: dict[str, Any] | None = None) -> None:
        pass

    def fail(self, trial: int, reason: str) -> None:
        pass

    def prune(self, trial: int, reason: str = "") -> None:
        pass

    def find(self, key: str) -> None:
        return None

    def trials(self, *, phase: str | None = None, state: str | None = None) -> list[Any]:
        return []


__all__ = ["FINAL_SUFFIX", "LedgerReader", "MAXIMISED", "OBJECTIVES", "OptunaLedger", "RankLedger", "TrialRecord", "check_sqlite_ledger",
           "open_storage_read_only", "read_studies", "redact_url", "resolve_storage_url", "sqlite_url",
           "stored_objective_names"]
