"""The ledger: every implementation passes the conformance checks of `archsearch.experiment.testing`, every reader
gets the same records, the fast trial writer writes what Optuna's own API writes, and a run written by the
previous version reads and prints as it did."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import types
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from support import TEST_DATA, postgres_server, run_cli

from archsearch.experiment.ledger import LedgerReader, OptunaLedger, TrialRecord, read_studies, sqlite_url
from archsearch.experiment.ledger_storage import RowWriter
from archsearch.experiment.testing import LEDGER_CHECKS, LEDGER_SPACE, MemoryLedger
from archsearch.space import Arch

OLD_RUN = TEST_DATA / "old_run"


# -- conformance: every ledger implementation -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_postgres_url() -> Iterator[str]:
    """One server for the module's PostgreSQL checks, each on a study of its own."""
    with postgres_server() as url:
        yield url


def _opener(kind: str, tmp_path: Path, request: pytest.FixtureRequest, study: str) -> Any:
    """`open_ledger` of the conformance checks for one implementation (see `LEDGER_CHECKS`)."""
    if kind == "memory":
        ledger = MemoryLedger()
        return lambda: ledger
    url = request.getfixturevalue("shared_postgres_url") if kind == "postgresql" else sqlite_url(tmp_path / "l.db")

    def open_ledger() -> OptunaLedger:
        ledger = OptunaLedger(url, study, spaces=[LEDGER_SPACE])
        if kind == "sqlite-optuna-api":  # the writer used where the fast one does not know Optuna's tables
            ledger._writer = ledger._api
        return ledger

    return open_ledger


@pytest.mark.parametrize("check", LEDGER_CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
@pytest.mark.parametrize("kind", ["sqlite", "sqlite-optuna-api", "memory", "postgresql"])
def test_every_ledger_passes_the_conformance_checks(kind, check, tmp_path, request):
    check(_opener(kind, tmp_path, request, study=f"{check.__name__}-{kind}"))


# -- one read path ----------------------------------------------------------------------------------------------------
def test_the_writer_a_run_read_back_and_ls_storage_read_the_same_records(tmp_path):
    from archsearch.report import TrialRow, open_run

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("name: r\nmethod: random\n", encoding="utf-8")
    ledger = OptunaLedger(sqlite_url(run_dir / "ledger.db"), "r", spaces=[LEDGER_SPACE],
                          metric_names=("supernet_accuracy", "macs", "params"))
    for i in range(3):
        trial = ledger.start(Arch({"op": "conv3", "width": 8 * (i + 1), "ratio": 0.5, "bias": True}), key=f"k/{i}",
                             phase="search", attrs={"latency_ms": 1.5})
        ledger.report_epoch(trial, 1, 0.25 * i)
        if i != 1:
            ledger.complete(trial, {"accuracy": 0.5 + i / 10, "macs": 1e6 * (i + 1), "params": 1e3})
    written = ledger.trials()
    assert written[0].values == {"accuracy": 0.5, "macs": 1e6, "params": 1e3}  # supernet_accuracy is `accuracy`
    assert open_run(run_dir).trials() == written
    (study,) = read_studies(sqlite_url(run_dir / "ledger.db"))
    assert isinstance(study, LedgerReader) and study.study_name == "r" and study.trials() == written
    assert TrialRow is TrialRecord and isinstance(written[0], TrialRow)  # the name reports exported it under
    assert [r.metric("latency_ms") for r in written] == [1.5, 1.5, 1.5] and written[1].state == "running"


# -- the fast writer: Optuna's tables, Optuna's rows ------------------------------------------------------------------
def test_the_fast_writer_knows_the_installed_optunas_tables_and_steps_aside_for_others(monkeypatch):
    import sqlalchemy as sa
    from optuna.storages._rdb import models

    assert RowWriter.schema_differences(models) == [], (
        "Optuna's tables changed: check what RowWriter writes against Optuna's API, then update its COLUMNS")
    metadata = sa.MetaData()  # Optuna's tables as a migration could change them: a column added, one gone
    for table in models.BaseModel.metadata.tables.values():
        if table.name == "trial_values":
            kept = [sa.Column(c.name, c.type) for c in table.columns if c.name != "value_type"]
            sa.Table(table.name, metadata, *kept)
        else:
            table.to_metadata(metadata)
    metadata.tables["trials"].append_column(sa.Column("priority", sa.Integer))
    changed = types.SimpleNamespace(BaseModel=types.SimpleNamespace(metadata=metadata))
    assert RowWriter.schema_differences(changed) == ["table 'trials': new columns ['priority'], gone []",
                                                      "table 'trial_values': new columns [], gone ['value_type']"]
    monkeypatch.setattr(models, "BaseModel", changed.BaseModel)  # installed: Optuna's API writes every trial
    assert RowWriter.for_storage(types.SimpleNamespace(engine=None), {}) is None


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """Local time 5:45 ahead of UTC, where Optuna's naive-UTC datetimes and local ones differ."""
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "KTM-5:45")  # POSIX form: needs no time zone database
    time.tzset()
    try:
        assert time.timezone == -(5 * 3600 + 45 * 60)
        yield
    finally:
        mp.undo()
        time.tzset()


def _trial_rows(url: str, study: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of Optuna's per-trial tables for `study`'s trials, database ids replaced by trial numbers."""
    import sqlalchemy as sa
    from optuna.storages._rdb import models

    tables = models.BaseModel.metadata.tables
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            studies, trials = tables["studies"], tables["trials"]
            study_id = connection.execute(sa.select(studies.c.study_id)
                                          .where(studies.c.study_name == study)).scalar_one()
            number_of = dict(connection.execute(sa.select(trials.c.trial_id, trials.c.number)
                                                .where(trials.c.study_id == study_id)).all())
            out: dict[str, list[dict[str, Any]]] = {}
            for name, table in sorted(tables.items()):
                if "trial_id" not in table.c:
                    continue
                ids = set(table.primary_key.columns.keys()) | {"trial_id", "study_id"}
                rows = connection.execute(sa.select(table).where(table.c.trial_id.in_(list(number_of)))).mappings()
                out[name] = sorted(({**{k: v for k, v in row.items() if k not in ids},
                                     "trial": number_of[row["trial_id"]]} for row in rows), key=repr)
    finally:
        engine.dispose()
    return out


def _write_trials(ledger: OptunaLedger) -> None:
    """Trials of every kind a method writes: completed (an attribute set again at completion), failed for a
    non-finite accuracy, still running; the first of them goes through Optuna's API in any case."""
    archs = [Arch({"op": op, "width": w, "ratio": r, "bias": b})
             for op, w, r, b in (("conv3", 8, 0.0, True), ("conv5", 64, 1 / 3, False), ("skip", 16, 1.0, True),
                                 ("conv3", 24, 0.5, False))]
    full = {"accuracy": 0.75, "macs": 3e6, "params": 2.5e4}
    for i, arch in enumerate(archs):
        trial = ledger.start(arch, key=f"k/{i}", phase="search", attrs={"origin": "mutation", "parent": i - 1})
        ledger.report_epoch(trial, 1, 0.5)
        if i < 2:
            ledger.complete(trial, {**full, "accuracy": 0.7 + i / 100}, {"seconds": 1.5, "origin": "init"})
        elif i == 2:
            ledger.complete(trial, {**full, "accuracy": float("nan")}, {"seconds": 0.5})


def test_the_fast_writer_writes_the_rows_optunas_api_writes(tmp_path, far_from_utc):
    """Row for row, column for column, on the installed Optuna: what a trial's rows hold, which tables it writes,
    and its times (naive UTC since Optuna 5, naive local time before) are Optuna's. The time zone is 5:45 off UTC,
    so time written in the wrong convention is hours off."""
    url = sqlite_url(tmp_path / "ledger.db")
    through_api = OptunaLedger(url, "api", spaces=[LEDGER_SPACE])
    through_api._writer = through_api._api
    fast = OptunaLedger(url, "fast", spaces=[LEDGER_SPACE])
    assert isinstance(fast._writer, RowWriter)
    _write_trials(through_api)
    _write_trials(fast)
    expected, written = _trial_rows(url, "api"), _trial_rows(url, "fast")
    times = {}
    for name, rows in (("api", expected), ("fast", written)):
        times[name] = [(row.pop("datetime_start"), row.pop("datetime_complete")) for row in rows["trials"]]
    assert written == expected
    assert (len(expected["trials"]), len(expected["trial_params"]), len(expected["trial_values"])) == (4, 16, 6)
    for (api_start, api_end), (start, end) in zip(times["api"], times["fast"]):
        assert abs(start - api_start) < timedelta(minutes=1)
        assert (end is None) == (api_end is None) and (end is None or abs(end - api_end) < timedelta(minutes=1))


# -- a run written by the previous version --------------------------------------------------------------------------
def _old_run(root: Path) -> Path:
    """The run of tests/data/old_run, its ledger rebuilt from the SQL dump that holds it: a random search on the
    hierarchical smoke space (4 trials, the first through Optuna's API, then the fast writer, and a final training
    in its own study) written by commit 51e811c, the last before `LedgerReader`."""
    run_dir = root / "runs" / "old"
    shutil.copytree(OLD_RUN / "run", run_dir)
    with sqlite3.connect(run_dir / "ledger.db") as db:
        db.executescript((OLD_RUN / "ledger.sql").read_text(encoding="utf-8"))
    db.close()
    return run_dir


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out


@pytest.mark.integration
def test_a_run_written_by_the_previous_version_reads_and_prints_as_it_did(tmp_path, capsys, monkeypatch):
    """`show`, `ls`, `ls --storage`, `report` and `export` print (and write) what the previous version did for
    the same run (tests/data/old_run/expected: that version's outputs for this very run directory; ls_storage.txt as
    it is since a run's final training shows as its row's test acc., not as a run of its own)."""
    run_dir = _old_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    expected = OLD_RUN / "expected"
    assert _cli(capsys, "show", "old", "--runs-dir", "runs") == (expected / "show.txt").read_text(encoding="utf-8")
    assert _cli(capsys, "ls", "--runs-dir", "runs") == (expected / "ls.txt").read_text(encoding="utf-8")
    assert _cli(capsys, "ls", "--storage", "sqlite:///runs/old/ledger.db") == (
        expected / "ls_storage.txt").read_text(encoding="utf-8")
    _cli(capsys, "report", "runs/old")
    assert (run_dir / "report" / "summary.md").read_text(encoding="utf-8") == (
        expected / "summary.md").read_text(encoding="utf-8")
    _cli(capsys, "export", "runs/old", "--top", "2")
    for rank in (1, 2):
        assert json.loads((run_dir / "export" / f"rank{rank}" / "arch.json").read_text(encoding="utf-8")) == (
            json.loads((expected / f"rank{rank}.json").read_text(encoding="utf-8")))
