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

import json
import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from archsearch._json import json_value
from archsearch.errors import UsageError
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
        self._server_lock: _ServerLock | None = None  # a database server's own lock on this run's study
        try:
            if url.startswith("postgresql"):
                self._server_lock = _ServerLock(url)
            with self._server_lock.schema() if self._server_lock else _nothing():
                self.storage = optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
                if url.startswith("sqlite"):
                    _tune_sqlite(self.storage.engine)
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
        self._api = _ApiWriter(self.storage, self._distributions)
        # the fast path when it knows the installed Optuna's tables, else Optuna's public API for every trial
        self._writer: _ApiWriter | _RowWriter = _RowWriter.for_storage(self.storage, self._distributions) or self._api
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


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _ServerLock:
    """PostgreSQL advisory locks on one dedicated connection: the schema lock while Optuna creates its tables (two
    writers starting on an empty database would both run CREATE TABLE and one fail), and the study's lock held
    while this process writes the run (released by the server when the connection ends, however it ends)."""

    SCHEMA_KEY = "archsearch:schema"

    def __init__(self, url: str) -> None:
        import sqlalchemy
        from sqlalchemy.pool import NullPool

        self.url = url
        self._engine = sqlalchemy.create_engine(url, poolclass=NullPool)
        self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _call(self, function: str, name: str) -> Any:
        import sqlalchemy

        return self._connection.execute(sqlalchemy.text(f"SELECT {function}(:key)"), {"key": _lock_key(name)}).scalar()

    def schema(self) -> Any:
        import contextlib

        @contextlib.contextmanager
        def held() -> Any:
            self._call("pg_advisory_lock", self.SCHEMA_KEY)  # waits for another process creating the tables
            try:
                yield
            finally:
                self._call("pg_advisory_unlock", self.SCHEMA_KEY)

        return held()

    def hold(self, study_name: str) -> None:
        from archsearch.errors import RunInUseError

        if not self._call("pg_try_advisory_lock", f"archsearch:study:{study_name}"):
            self.close()
            raise RunInUseError(f"run {study_name} is in use by another writer of the ledger at {redact_url(self.url)}")

    def close(self) -> None:
        self._connection.close()
        self._engine.dispose()


def _lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) for a name."""
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def _tune_sqlite(engine: Any) -> None:
    """Write-ahead log and synchronous=NORMAL: a commit no longer waits for two fsyncs (a crash still loses at most
    the last commits, never the database), and readers (reports) do not block the driver."""
    import sqlalchemy

    def on_connect(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections opened before the listener existed are replaced


class _ApiWriter:
    """Opens and completes trials through Optuna's public storage API. Each param and attribute is its own query
    and commit there, so it is the slow path: a process's first trial (its params pass Optuna's distribution
    checks), and every trial when `_RowWriter` does not know the installed Optuna's tables."""

    def __init__(self, storage: Any, distributions: Mapping[str, Any]) -> None:
        self.storage, self.distributions = storage, distributions

    def open_trial(self, study_id: int, params: Mapping[str, Any], attrs: Mapping[str, Any]) -> int:
        """A RUNNING trial with its params ({name: value}) and user attributes; returns its id."""
        from optuna.trial import TrialState, create_trial

        template = create_trial(state=TrialState.RUNNING, params=dict(params), user_attrs=dict(attrs),
                                distributions={n: self.distributions[n] for n in params})
        return int(self.storage.create_new_trial(study_id, template_trial=template))

    def complete_trial(self, trial_id: int, values: Sequence[float], attrs: Mapping[str, Any]) -> None:
        """The attributes, then state COMPLETE with the objective values."""
        from optuna.trial import TrialState

        self.set_user_attrs(trial_id, attrs)
        self.storage.set_trial_state_values(trial_id, TrialState.COMPLETE, list(values))

    def set_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        for name, value in attrs.items():
            self.storage.set_trial_user_attr(trial_id, name, value)


class _RowWriter:
    """The fast path, and the only code that writes Optuna's tables itself: `_ApiWriter`'s work for a trial in ONE
    transaction each to open and to complete it, through SQLAlchemy Core on the installed Optuna's own table
    definitions. Optuna's public API commits each param and attribute separately and runs an ORM query before each:
    on SQLite at the hierarchical space's 46 params (Optuna 5.0, a loaded 2-core machine) it took a median 161 ms to
    open a trial and 16 ms to complete it, 50 ms of CPU per trial; this class 1.4 ms and 0.8 ms, 2.5 ms of CPU. At
    thousands of trials per run (evolution, NARS) and a controller meant to stay under 20 ms per evaluation, the
    public API does not keep up. Only the driver writes, as with Optuna's API; the study row is locked while a trial
    number is taken, as Optuna does, so a second writer on PostgreSQL still gets distinct numbers.

    Used only while the installed Optuna's tables have exactly `COLUMNS` (else `for_storage` gives None and the
    public API writes); tests compare these columns with Optuna's models and the rows written here with the rows
    Optuna's API writes for the same trial, so a change of Optuna's schema or of what it stores fails them."""

    # Optuna's schema as of alembic revision v3.2.0.a (unchanged to Optuna 5.0): the tables this class writes
    COLUMNS = {
        "studies": {"study_id", "study_name"},
        "trials": {"trial_id", "number", "study_id", "state", "datetime_start", "datetime_complete"},
        "trial_params": {"param_id", "trial_id", "param_name", "param_value", "distribution_json"},
        "trial_values": {"trial_value_id", "trial_id", "objective", "value", "value_type"},
        "trial_user_attributes": {"trial_user_attribute_id", "trial_id", "key", "value_json"},
    }

    def __init__(self, storage: Any, models: Any, distributions: Mapping[str, Any]) -> None:
        import sqlalchemy as sa
        from optuna.distributions import distribution_to_json
        from optuna.trial import TrialState

        self.engine = storage.engine
        self.distributions = distributions
        self.distribution_json = {n: distribution_to_json(d) for n, d in distributions.items()}
        tables = models.BaseModel.metadata.tables
        self.trials, self.studies = tables["trials"], tables["studies"]
        self.params, self.values = tables["trial_params"], tables["trial_values"]
        self.user_attrs = tables["trial_user_attributes"]
        self.stored_value = models.TrialValueModel.value_to_stored_repr
        self.running, self.complete = TrialState.RUNNING, TrialState.COMPLETE
        self._trial_model = models.TrialModel
        mapper = sa.inspect(models.TrialModel)
        self._time_attr = {column: mapper.get_property_by_column(self.trials.c[column]).key
                           for column in ("datetime_start", "datetime_complete")}

    @classmethod
    def for_storage(cls, storage: Any, distributions: Mapping[str, Any]) -> "_RowWriter | None":
        """None when the installed Optuna's tables are not the ones this class writes: its public API is used."""
        try:
            from optuna.storages._rdb import models

            if not hasattr(storage, "engine") or cls.schema_differences(models):
                return None
            return cls(storage, models, distributions)
        except (ImportError, AttributeError, KeyError):
            return None

    @classmethod
    def schema_differences(cls, models: Any) -> list[str]:
        """How the tables of Optuna's `models` differ from `COLUMNS` ([] when this class may write them)."""
        metadata = getattr(getattr(models, "BaseModel", None), "metadata", None)
        tables = dict(metadata.tables) if metadata is not None else {}
        differences = []
        for name, known in cls.COLUMNS.items():
            if name not in tables:
                differences.append(f"no table {name!r}")
                continue
            columns = set(tables[name].columns.keys())
            if columns != known:
                differences.append(f"table {name!r}: new columns {sorted(columns - known)}, "
                                   f"gone {sorted(known - columns)}")
        return differences

    def open_trial(self, study_id: int, params: Mapping[str, Any], attrs: Mapping[str, Any]) -> int:
        """A RUNNING trial with its params ({name: value}) and user attributes; returns its id."""
        import sqlalchemy as sa

        t = self.trials
        with self.engine.begin() as connection:
            connection.execute(sa.select(self.studies.c.study_id).where(self.studies.c.study_id == study_id)
                               .with_for_update())
            number = connection.execute(sa.select(sa.func.count()).select_from(t)
                                        .where(t.c.study_id == study_id)).scalar_one()
            trial_id = connection.execute(sa.insert(t).values(
                number=number, study_id=study_id, state=self.running,
                datetime_start=self._now("datetime_start"))).inserted_primary_key[0]
            if params:
                connection.execute(sa.insert(self.params), [
                    {"trial_id": trial_id, "param_name": name,
                     "param_value": self.distributions[name].to_internal_repr(value),
                     "distribution_json": self.distribution_json[name]} for name, value in params.items()])
            self._insert_attrs(connection, trial_id, attrs)
        return int(trial_id)

    def complete_trial(self, trial_id: int, values: Sequence[float], attrs: Mapping[str, Any]) -> None:
        """State COMPLETE, the objective values and attributes at once; a trial no longer RUNNING is left as is."""
        import sqlalchemy as sa

        t = self.trials
        with self.engine.begin() as connection:
            updated = connection.execute(sa.update(t).where(t.c.trial_id == trial_id, t.c.state == self.running)
                                         .values(state=self.complete,
                                                 datetime_complete=self._now("datetime_complete")))
            if updated.rowcount != 1:
                return
            connection.execute(sa.delete(self.values).where(self.values.c.trial_id == trial_id))
            rows = []
            for objective, value in enumerate(values):
                stored, kind = self.stored_value(value)
                rows.append({"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind})
            connection.execute(sa.insert(self.values), rows)
            self._insert_attrs(connection, trial_id, attrs)

    def set_user_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        with self.engine.begin() as connection:
            self._insert_attrs(connection, trial_id, attrs)

    def _now(self, column: str) -> Any:
        """The time now as Optuna's own model stores it in `column` of its trials table (naive local time up to
        Optuna 4, naive UTC since Optuna 5): its model converts it, as it does for the public API."""
        trial = self._trial_model(**{column: datetime.now()})
        return getattr(trial, self._time_attr[column])

    def _insert_attrs(self, connection: Any, trial_id: int, attrs: Mapping[str, Any]) -> None:
        import sqlalchemy as sa

        if not attrs:
            return
        table = self.user_attrs
        connection.execute(sa.delete(table).where(table.c.trial_id == trial_id, table.c.key.in_(list(attrs))))
        connection.execute(sa.insert(table), [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)}
                                              for key, value in attrs.items()])


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


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}  # a report reading while the driver writes waits, not fails
    return {"pool_pre_ping": True}


def redact_url(url: str) -> str:
    """A database URL with its password hidden, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user, has_password, _ = creds.partition(":")
        return f"{scheme}://{user}{':***' if has_password else ''}@{host}"
    return url


# Drivers for a ``postgresql://`` URL, in order: psycopg 3 (what archsearch[postgres] installs), then psycopg2.
POSTGRES_DRIVERS = ("psycopg", "psycopg2")


def resolve_storage_url(url: str) -> str:
    """`url` with an installed driver named. ``postgresql://`` names none and SQLAlchemy's default for it changed
    (psycopg2 in 2.0, psycopg 3 in 2.1), so the one installed is used. A URL that does not parse, a database kind
    SQLAlchemy does not know, a missing driver or an in-memory SQLite ledger is a `UsageError`; nothing connects."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = redact_url(str(url))
    try:
        parsed = make_url(str(url))
    except (ArgumentError, ValueError, TypeError):
        raise UsageError(f"storage {shown!r} is not a database URL (e.g. postgresql://user@host/db or "
                         "sqlite:////path/ledger.db)") from None
    if parsed.drivername == "postgresql":
        for driver in POSTGRES_DRIVERS:
            if importlib.util.find_spec(driver) is not None:
                parsed = parsed.set(drivername=f"postgresql+{driver}")
                break
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise UsageError(f"storage {shown!r}: unknown database kind {parsed.drivername!r} (e.g. postgresql, "
                         "sqlite, mysql+pymysql)") from None
    try:
        load_driver: Any = getattr(dialect, "import_dbapi", None) or dialect.dbapi
        load_driver()
    except ImportError as err:
        raise UsageError(f"the ledger storage {shown} needs a driver that is not installed ({err}); "
                         "for PostgreSQL: pip install 'archsearch[postgres]'") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise UsageError(f"storage {shown!r} is an in-memory SQLite database: the ledger would be lost; give a "
                             "file (sqlite:////path/ledger.db)")
        if not database.startswith("file:") and not Path(database).expanduser().parent.is_dir():
            raise UsageError(f"storage {shown!r}: no directory {str(Path(database).parent)!r}")
    return parsed.render_as_string(hide_password=False)


def open_storage_read_only(url: str) -> Any:
    """Optuna storage for reading a ledger that never writes to it: SQLite opened with ``mode=ro`` (an emptied or
    foreign file gets no fresh schema), PostgreSQL in read-only transactions. A damaged or empty ledger is a
    `DamagedRunError` naming the file and why."""
    import optuna
    from sqlalchemy.engine import make_url

    from archsearch.errors import DamagedRunError

    url = resolve_storage_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    where = redact_url(url)
    if parsed.get_backend_name() == "sqlite":
        from pathlib import Path
        from urllib.parse import quote

        path = Path(parsed.database or "").resolve()
        where = str(path)
        check_sqlite_ledger(path)
        url = f"sqlite:///file:{quote(str(path))}?{_read_only_query(path)}&uri=true"
        kwargs = {"connect_args": {"timeout": 60}}
    elif parsed.get_backend_name() == "postgresql":
        kwargs = {"pool_pre_ping": True, "connect_args": {"options": "-c default_transaction_read_only=on"}}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, skip_table_creation=True)
    except DamagedRunError:
        raise
    except Exception as err:  # an unreadable or foreign database: say which, in one line
        raise DamagedRunError(f"ledger {where} cannot be read: {_first_line(err)}") from None


def check_sqlite_ledger(path: Any) -> None:
    """Read only: a SQLite ledger that is empty, not SQLite, or fails SQLite's own quick check is damaged: say so by name."""
    import sqlite3
    from urllib.parse import quote

    from archsearch.errors import DamagedRunError

    try:
        size = path.stat().st_size
    except OSError as err:
        raise DamagedRunError(f"ledger {path} cannot be read: {err.strerror}") from None
    if size == 0:
        raise DamagedRunError(f"ledger {path} is empty (0 bytes): its trials are gone")
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?{_read_only_query(path)}", uri=True, timeout=60)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            connection.close()
    except sqlite3.Error as err:
        raise DamagedRunError(f"ledger {path} is damaged: {err}") from None
    if not check or check[0] != "ok":
        raise DamagedRunError(f"ledger {path} is damaged: {check[0] if check else 'no integrity result'}")
    if "trials" not in tables or "studies" not in tables:
        raise DamagedRunError(f"ledger {path} holds no Optuna tables: it was emptied or replaced")


def _read_only_query(path: Any) -> str:
    """SQLite's query for a reader that leaves no trace: a ledger with no write-ahead log beside it has no writer
    and nothing unmerged, so it is read as immutable (a plain read-only connection would leave empty -wal and -shm
    files behind); with a log (a run in progress, or killed), as read-only, through the log."""
    from pathlib import Path

    return "mode=ro" if Path(f"{path}-wal").exists() else "mode=ro&immutable=1"


def _first_line(err: BaseException) -> str:
    text = " ".join(str(err).split("\n")[0].split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def sqlite_url(path: Any) -> str:
    from pathlib import Path

    return f"sqlite:///{Path(path).resolve()}"
