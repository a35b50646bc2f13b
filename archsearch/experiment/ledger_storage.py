"""Where the ledger lives: opening an Optuna RDB storage (SQLite in the run directory, or a database server), its
URL checked and shown without a password, and the two ways trials are written to it.

`ApiWriter` goes through Optuna's public storage API, one query and commit per param or attribute; `RowWriter`
writes a trial's rows in one transaction, when it knows the installed Optuna's tables. `ServerLock` holds
PostgreSQL advisory locks (one writer per study across machines). A SQLite ledger is checked read-only before a
resume opens it for writing (`check_sqlite_ledger`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping, Sequence

from archsearch.errors import UsageError


class ServerLock:
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

        return self._connection.execute(sqlalchemy.text(f"SELECT {function}(:key)"), {"key": lock_key(name)}).scalar()

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


def lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) for a name."""
    import hashlib

    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def tune_sqlite(engine: Any) -> None:
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


class ApiWriter:
    """Opens and completes trials through Optuna's public storage API. Each param and attribute is its own query
    and commit there, so it is the slow path: a process's first trial (its params pass Optuna's distribution
    checks), and every trial when `RowWriter` does not know the installed Optuna's tables."""

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


class RowWriter:
    """The fast path, and the only code that writes Optuna's tables itself: `ApiWriter`'s work for a trial in ONE
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
    def for_storage(cls, storage: Any, distributions: Mapping[str, Any]) -> "RowWriter | None":
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


def engine_kwargs(url: str) -> dict[str, Any]:
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


__all__ = ["ApiWriter", "POSTGRES_DRIVERS", "RowWriter", "ServerLock", "check_sqlite_ledger", "engine_kwargs",
           "open_storage_read_only", "redact_url", "resolve_storage_url", "sqlite_url", "tune_sqlite"]
