"""Which runs exist and where: the rows of ``archsearch ls`` (a runs directory, or a shared ledger database) and the
directory of a run that just finished. Plain strings, so any front end can show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsearch.errors import ArchsearchError
from archsearch.experiment.ledger import FINAL_SUFFIX, read_studies, redact_url
from archsearch.report._runs import default_runs_dir, list_runs
from archsearch.report.common import human, leaderboard, space_text

RUN_COLUMNS = ("name", "method", "space", "data", "preset", "status", "trials", "test acc.", "search's best")
LEDGER_COLUMNS = ("name", "trials", "complete", "running", "failed", "best accuracy")


@dataclass(frozen=True)
class Listing:
    """The runs in `place` (a runs directory or a redacted database URL), one row of `columns` each; `damaged`:
    (run directory name, why) of the runs that could not be read, listed rather than hiding the others."""

    place: str
    columns: tuple[str, ...]
    rows: list[list[str]]
    damaged: list[tuple[str, str]] = field(default_factory=list)


def runs_listing(runs_dir: str | Path | None = None) -> Listing:
    """The runs under `runs_dir` (default: ./runs or $ARCHSEARCH_RUNS), newest first: each run's final test
    accuracy and the search's best, named by what that accuracy is."""
    root = Path(runs_dir) if runs_dir else default_runs_dir()
    rows, damaged = [], []
    for record in list_runs(runs_dir):
        try:
            if record.damage is not None:
                raise ArchsearchError(record.damage)
            trials = record.trials()
        except ArchsearchError as err:
            damaged.append((record.run_dir.name, str(err).removeprefix(f"run {record.name!r}: ")))
            config = record.config
            rows.append([record.run_dir.name, *(str(v) if config and v is not None else "?" for v in (
                config.get("method"), record.space_spec.get("name"), config.get("data"), config.get("preset"))),
                "damaged", "?", "?"])
            continue
        board = leaderboard(trials, 1)
        best = board[0].metric("accuracy") if board else None
        if best is None and record.result:
            best = ((record.result.get("best") or {}).get("objectives") or {}).get("accuracy")
        final = (record.final or {}).get("test_accuracy")
        rows.append([record.name, record.method, space_text(record.space_spec), str(record.config.get("data")),
                     str(record.config.get("preset")), record.status(),
                     str(sum(t.state == "complete" for t in trials)), human(final, "accuracy"),
                     "-" if best is None else f"{human(best, 'accuracy')} ({record.accuracy['label']})"])
    return Listing(str(root), RUN_COLUMNS, rows, damaged)


def ledger_listing(url: str) -> Listing:
    """The runs (Optuna studies) in a shared ledger database, opened read-only, with their trials' states. A run's
    final training (its study ``<run>:final``) is not a row of its own: its mean test accuracy over the seeds is the
    run's ``test acc.`` (a column shown when some run has one)."""
    studies = read_studies(url)
    names = {s.study_name for s in studies}
    finals: dict[str, float | None] = {}
    rows = []
    for study in studies:
        trials = study.trials()
        accuracies = [t.values.get("accuracy", next(iter(t.values.values())))  # else the study's first objective
                      for t in trials if t.state == "complete" and t.values]
        run = study.study_name.removesuffix(FINAL_SUFFIX)
        if run != study.study_name and run in names:
            finals[run] = sum(accuracies) / len(accuracies) if accuracies else None
            continue
        states = [t.state for t in trials]
        rows.append([study.study_name, str(len(trials)), str(states.count("complete")), str(states.count("running")),
                     str(states.count("failed")), human(max(accuracies) if accuracies else None, "accuracy")])
    if not finals:
        return Listing(redact_url(url), LEDGER_COLUMNS, rows)
    return Listing(redact_url(url), (*LEDGER_COLUMNS, "test acc."),
                   [[*row, human(finals.get(row[0]), "accuracy")] for row in rows])


def finished_run_dir(result: Any, name: str | None, runs_dir: str | Path | None) -> Path | None:
    """Where the run just finished lives: what its result says, else its name, else the newest run."""
    if getattr(result, "run_dir", None) is not None:  # a SearchResult: set by the experiment (rank 0)
        return Path(result.run_dir)
    root = Path(runs_dir) if runs_dir else default_runs_dir()
    if name and (root / name / "config.yaml").is_file():
        return root / name
    runs = list_runs(root)
    return runs[0].run_dir if runs else None


__all__ = ["LEDGER_COLUMNS", "Listing", "RUN_COLUMNS", "finished_run_dir", "ledger_listing", "runs_listing"]
