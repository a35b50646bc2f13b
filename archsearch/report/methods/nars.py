"""Plots of a NARS / FBNetV3 run (Dai et al. 2021, Fig. 4-5): predicted vs measured accuracy, the samples of each
stage-2 iteration (FLOPs vs accuracy), the early-stop rank-correlation curve, and stage-3 evolution per constraint.

Reads ``run_dir/metrics/*.jsonl`` written by `archsearch.methods.nars` through ``ctx.log_metrics`` (series
``samples``, ``finals``, ``early_stop``, ``evolution_<i>``) and the constraint names from ``result.json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from archsearch.report._runs import read_metric_rows


def plots(run_dir: Path, out_dir: Path) -> list[Path]:
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = run_dir / "metrics"
    written = [
        plot_predicted_vs_measured(read_metric_rows(metrics / "samples.jsonl"), read_metric_rows(metrics / "finals.jsonl"),
                                   out_dir / "nars_predicted_vs_measured.png"),
        plot_samples(read_metric_rows(metrics / "samples.jsonl"), out_dir / "nars_samples_per_iteration.png"),
        plot_early_stop(read_metric_rows(metrics / "early_stop.jsonl"), out_dir / "nars_early_stop.png"),
        plot_evolution({p.stem: read_metric_rows(p) for p in sorted(metrics.glob("evolution_*.jsonl"))},
                       _constraint_names(run_dir), out_dir / "nars_evolution.png"),
    ]
    return [p for p in written if p is not None]


def _figure(width: float = 6.0, height: float = 4.0):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    return figure, figure.add_subplot(1, 1, 1)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def plot_predicted_vs_measured(samples: list[dict], finals: list[dict], path: Path) -> Path | None:
    """Stage-2 candidates of iterations >= 2 (predicted before they were trained) and the final models."""
    pairs = [(r["predicted"], r["accuracy"], int(r.get("iteration", 0))) for r in samples
             if _finite(r.get("predicted")) and _finite(r.get("accuracy"))]
    final_pairs = [(r["predicted"], r["accuracy"]) for r in finals
                   if _finite(r.get("predicted")) and _finite(r.get("accuracy"))]
    if not pairs and not final_pairs:
        return None
    figure, ax = _figure()
    if pairs:
        scatter = ax.scatter([p[0] for p in pairs], [p[1] for p in pairs], c=[p[2] + 1 for p in pairs], cmap="viridis",
                             s=18, label="stage 2 (colour: iteration)")
        figure.colorbar(scatter, ax=ax, label="iteration")
    if final_pairs:
        ax.scatter([p[0] for p in final_pairs], [p[1] for p in final_pairs], marker="*", s=120, color="tab:red",
                   label="final models")
    everything = [v for p in pairs for v in p[:2]] + [v for p in final_pairs for v in p]
    low, high = min(everything), max(everything)
    ax.plot([low, high], [low, high], color="gray", linestyle="--", linewidth=1, label="y = x")
    title = "predicted vs measured accuracy"
    if len(pairs) >= 3:
        from scipy.stats import kendalltau

        tau = kendalltau([p[0] for p in pairs], [p[1] for p in pairs])[0]
        title += f" (stage 2 Kendall tau {tau:.2f})"
    ax.set(xlabel="predicted accuracy", ylabel="measured accuracy", title=title)
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    return path


def plot_samples(samples: list[dict], path: Path) -> Path | None:
    """FLOPs vs measured accuracy of each stage-2 iteration's candidates (the search narrowing in, Fig. 5)."""
    rows = [r for r in samples if _finite(r.get("macs")) and _finite(r.get("accuracy"))]
    if not rows:
        return None
    figure, ax = _figure()
    iterations = sorted({int(r.get("iteration", 0)) for r in rows})
    cmap = _cmap(len(iterations))
    for k, t in enumerate(iterations):
        chosen = [r for r in rows if int(r.get("iteration", 0)) == t]
        ax.scatter([r["macs"] / 1e6 for r in chosen], [r["accuracy"] for r in chosen], s=20, color=cmap(k),
                   label=f"iteration {t + 1}" + (" (pool)" if t == 0 else ""))
    ax.set(xlabel="MACs (M)", ylabel="accuracy (at the early-stop epoch)", title="stage 2: samples per iteration")
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    return path


def plot_early_stop(rows: list[dict], path: Path) -> Path | None:
    """Rank correlation of each epoch's ranking with the final one; the chosen epoch is the first above threshold."""
    rows = [r for r in rows if _finite(r.get("correlation"))]
    if not rows:
        return None
    epochs = [int(r.get("step", i + 1)) for i, r in enumerate(rows)]
    values = [r["correlation"] for r in rows]
    threshold = next((r["threshold"] for r in rows if _finite(r.get("threshold"))), 0.92)
    figure, ax = _figure()
    ax.plot(epochs, values, marker="o", label="rank correlation with the final ranking")
    ax.axhline(threshold, color="tab:cyan", linestyle="--", label=f"threshold {threshold:g}")
    chosen = next((e for e, v in zip(epochs, values) if v >= threshold - 1e-12), None)
    if chosen is not None:
        ax.axvline(chosen, color="tab:red", linestyle=":", label=f"early-stop epoch {chosen}")
    ax.set(xlabel="epoch", ylabel="rank correlation", title="early stopping (first iteration)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    return path


def plot_evolution(series: dict[str, list[dict]], names: list[str], path: Path) -> Path | None:
    """Best predicted score per generation, one line per resource constraint."""
    series = {k: [r for r in v if _finite(r.get("best_predicted"))] for k, v in series.items()}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    figure, ax = _figure()
    for key, rows in sorted(series.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[-1])):
        index = int(key.rsplit("_", 1)[-1])
        label = names[index] if index < len(names) else f"constraint {index}"
        ax.plot([int(r.get("step", i)) for i, r in enumerate(rows)], [r["best_predicted"] for r in rows],
                marker=".", label=label)
    ax.set(xlabel="generation", ylabel="best predicted accuracy", title="stage 3: predictor-based evolution")
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    return path


def _cmap(n: int):
    from matplotlib import colormaps

    base = colormaps["viridis"]
    return lambda k: base(k / max(1, n - 1))


def _constraint_names(run_dir: Path) -> list[str]:
    try:
        result = json.loads((run_dir / "result.json").read_text())
    except (OSError, json.JSONDecodeError):
        return []
    extra = result.get("extra", result)
    return [str(s.get("constraint")) for s in extra.get("stage3", [])] if isinstance(extra, dict) else []


__all__ = ["plot_early_stop", "plot_evolution", "plot_predicted_vs_measured", "plot_samples", "plots"]
