"""Plots of a GreedyNAS run (You et al. 2020): the candidate pool's evolution during supernet training (mean pool
score, pool difference at each early-stop check, eps) and the Pareto front NSGA-II found on the supernet.

Reads ``metrics/supernet.jsonl`` (written by the method through ``ctx.log_metrics("supernet", iteration, ...)``)
and the ledger's ``search`` trials. SPOS runs use the same module (`spos.py`), showing what they logged.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from archsearch.report._runs import read_metric_rows


def plots(run_dir: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = read_metric_rows(run_dir / "metrics" / "supernet.jsonl")
    if rows:
        written.append(plot_supernet(rows, out_dir / "supernet_pool.png"))
    front = plot_search_front(run_dir, out_dir / "search_pareto.png")
    if front is not None:
        written.append(front)
    return written


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in rows:
        value = row.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            xs.append(float(row["step"]))
            ys.append(float(value))
    return xs, ys


def plot_supernet(rows: list[dict[str, Any]], path: Path) -> Path:
    """Left: mean pool score (loss of the pool's paths) and the training loss; right: pool difference at each
    check (with the 0.08 threshold) and eps. A uniform (SPOS) run has only the training loss."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.0), dpi=110, layout="constrained")
    losses, pool = fig.subplots(1, 2)
    for key, label, colour in (("pool_mean_score", "mean pool score (small-val loss)", "tab:red"),
                               ("sampled_mean_loss", "mean loss of the m sampled paths", "tab:orange"),
                               ("train_loss", "training loss of trained paths", "tab:blue")):
        xs, ys = _series(rows, key)
        if xs:
            losses.plot(xs, ys, label=label, color=colour, linewidth=1)
    losses.set_xlabel("iteration")
    losses.set_ylabel("loss")
    losses.legend(loc="upper right", fontsize=8)
    xs, ys = _series(rows, "pool_difference")
    if xs:
        pool.plot(xs, ys, marker="o", markersize=3, color="tab:purple", label="pool difference vs t iterations ago")
        pool.axhline(0.08, color="tab:purple", linestyle=":", linewidth=1, label="early-stop threshold 0.08")
    xs, ys = _series(rows, "eps")
    if xs:
        pool.plot(xs, ys, color="tab:green", linewidth=1, label="eps (sample from pool)")
    pool.set_xlabel("iteration")
    pool.set_ylim(-0.02, 1.02)
    if pool.lines:
        pool.legend(loc="upper right", fontsize=8)
    else:
        pool.text(0.5, 0.5, "uniform sampling: no candidate pool", ha="center", va="center",
                  transform=pool.transAxes)
    for ax in (losses, pool):
        ax.grid(alpha=0.3)
    fig.suptitle("supernet training: candidate pool evolution")
    fig.savefig(path)
    return path


def plot_search_front(run_dir: Path, path: Path) -> Path | None:
    """Supernet accuracy vs the search cost of every arch NSGA-II evaluated, with the Pareto front."""
    from archsearch.report import open_run
    from archsearch.report.common import plot_pareto

    record = open_run(run_dir)
    trials = [t for t in record.trials() if t.attrs.get("phase") == "search"]
    if not trials:
        return None
    return plot_pareto(trials, search_cost(record, trials), path)


def search_cost(record: Any, trials: list[Any]) -> str:
    """The cost NSGA-II minimised: result.json's ``search_cost``, else the config's, else the first cost the
    trials carry (a run still going has no result.json yet)."""
    from archsearch.cost.constraints import METRICS

    extra = (record.result or {}).get("extra") or {}
    configured = ((record.config or {}).get("method_config") or {}).get("search_cost")
    for name in (extra.get("search_cost"), METRICS.get(str(configured))):
        if name and any(t.metric(name) is not None for t in trials):
            return str(name)
    return next((n for n in ("macs", "params", "latency_ms") if any(t.metric(n) is not None for t in trials)),
                "macs")


__all__ = ["plot_search_front", "plot_supernet", "plots", "search_cost"]
