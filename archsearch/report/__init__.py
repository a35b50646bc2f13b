"""Reports of a run: generic plots from the ledger plus the method's own (``report/methods/<method>.py``).

``make_report(run)`` writes PNGs and ``summary.md`` into ``run_dir/report/`` and returns what it wrote.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from archsearch.experiment.ledger import TrialRecord
from archsearch.report._runs import RunRecord, default_runs_dir, list_runs, open_run
from archsearch.report.common import common_plots, leaderboard, pareto_front, write_summary

TrialRow = TrialRecord  # the name this package gave a ledger trial before it read the ledger's own records


@dataclass(frozen=True)
class Report:
    summary: Path
    plots: list[Path]
    notes: list[str] = field(default_factory=list)  # e.g. a method plot that failed, and why


def method_plots(method: str, run_dir: Path, out_dir: Path) -> tuple[list[Path], list[str]]:
    """Call ``archsearch.report.methods.<method>.plots`` when it exists; failures become notes, not crashes."""
    module_name = f"archsearch.report.methods.{method.replace('-', '_')}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            return [], []
        return [], [f"{method} plots unavailable: {err}"]
    plots = getattr(module, "plots", None)
    if plots is None:
        return [], [f"{module_name} has no plots(run_dir, out_dir) function"]
    try:
        return [Path(p) for p in plots(run_dir, out_dir)], []
    except Exception as err:  # a report is still useful without one figure
        return [], [f"{method} plots failed: {type(err).__name__}: {err}"]


def make_report(run: str | Path | RunRecord, *, runs_dir: str | Path | None = None,
                out_dir: str | Path | None = None) -> Report:
    record = run if isinstance(run, RunRecord) else open_run(run, runs_dir)
    out = Path(out_dir) if out_dir is not None else record.run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    trials = record.trials()
    plots = common_plots(record, out, trials)
    extra, notes = method_plots(record.method, record.run_dir, out)
    plots += extra
    summary = write_summary(record, out, plots, trials, notes)
    return Report(summary, plots, notes)


__all__ = ["Report", "RunRecord", "TrialRecord", "TrialRow", "default_runs_dir", "leaderboard", "list_runs", "make_report", "method_plots",
           "open_run", "pareto_front"]
