"""Plots of a hierarchical-evolution run (Liu et al. 2018, Fig. 3 and the motif drawings of Fig. 4 / appendix):
best fitness vs evaluations (this run, and with the comparable evolution / random, hierarchical / flat runs of the
same runs folder), and the motifs of the best genotype drawn as graphs (matplotlib only, no graphviz).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from archsearch.report._runs import read_metric_rows

_EDGE = re.compile(r"^l(\d+)m(\d+)_(\d+)_(\d+)$")
_COLOURS = {"conv1x1": "tab:blue", "dwconv3x3": "tab:orange", "sepconv3x3": "tab:green", "maxpool3x3": "tab:red",
            "avgpool3x3": "tab:purple", "identity": "tab:gray"}


def plots(run_dir: Path, out_dir: Path) -> list[Path]:
    """Evolution curve from ``metrics/evolution.jsonl`` (else the ledger) and the best genotype's motifs."""
    from archsearch.report import open_run

    out_dir.mkdir(parents=True, exist_ok=True)
    record = open_run(run_dir)
    label = record.accuracy["label"]  # the fitness: "acc. after E ep."
    rows = read_metric_rows(run_dir / "metrics" / "evolution.jsonl")
    written: list[Path] = []
    if rows:
        fitness = [r.get("fitness") for r in rows]
        path = plot_fitness_curves({"evolution": fitness}, out_dir / "evolution_fitness.png",
                                   title="hierarchical evolution: fitness per evaluation", scatter=True,
                                   ylabel=f"best {label} so far")
        written.append(path)
    compared = compare_runs(run_dir, out_dir / "evolution_vs_random_hierarchical_vs_flat.png")
    if compared is not None:
        written.append(compared)
    done = record.completed()
    if done:
        best = max(done, key=lambda t: (t.metric("accuracy") or 0.0, -t.number))
        if not rows:
            ordered = sorted(done, key=lambda t: t.number)
            written.append(plot_fitness_curves({record.method: [t.metric("accuracy") for t in ordered]},
                                               out_dir / "evolution_fitness.png", scatter=True,
                                               ylabel=f"best {label} so far"))
        drawn = plot_motifs(best.arch, out_dir / "best_motifs.png",
                            title=f"best genotype (trial {best.number}, {label} {best.metric('accuracy'):.4f})")
        if drawn is not None:
            written.append(drawn)
    return written


def compare_runs(run_dir: Path, path: Path) -> Path | None:
    """Best fitness vs evaluations of this run and its comparable siblings (same folder, data and preset;
    methods evolution / random on the hierarchical / flat spaces), one line per space + strategy, seeds pooled
    into a mean with a min-max band (Liu et al. Fig. 3). None when there is nothing to compare with."""
    run_dir = Path(run_dir)
    own = _run_config(run_dir)
    if own is None:
        return None
    curves: dict[str, list[list[float | None]]] = {}
    for sibling in sorted(run_dir.parent.iterdir()):
        config = _run_config(sibling)
        if config is None or any(config.get(k) != own.get(k) for k in ("data", "preset")):
            continue
        space = (config.get("space") or {}).get("name")
        if config.get("method") not in ("evolution", "random") or space not in ("hierarchical", "flat"):
            continue
        strategy = (config.get("method_config") or {}).get("strategy") or config.get("method")
        rows = read_metric_rows(sibling / "metrics" / "evolution.jsonl")
        if rows:
            curves.setdefault(f"{space} + {strategy}", []).append([r.get("fitness") for r in rows])
    if len(curves) < 2:
        return None
    label = {k: f"{k} ({len(v)} run{'s' if len(v) > 1 else ''})" for k, v in curves.items()}
    return plot_fitness_curves({label[k]: v for k, v in sorted(curves.items())}, path,
                               title=f"best fitness vs evaluations ({own.get('data')}, {own.get('preset')})")


def _run_config(run_dir: Path) -> dict[str, Any] | None:
    import yaml

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return document if isinstance(document, dict) else None


def best_so_far(fitness: Sequence[float | None]) -> list[float]:
    """Running maximum of the fitness sequence; failed evaluations (None / NaN) do not count."""
    out, best = [], -math.inf
    for value in fitness:
        if value is not None and not math.isnan(value):
            best = max(best, value)
        out.append(best if best > -math.inf else math.nan)
    return out


def plot_fitness_curves(curves: Mapping[str, Sequence[Sequence[float | None]] | Sequence[float | None]], path: Path,
                        *, title: str = "best fitness vs evaluations", scatter: bool = False,
                        ylabel: str = "validation accuracy (best so far)") -> Path:
    """Best-so-far fitness against the number of evaluations, one line per label (e.g. h_evo, h_random,
    flat_evo). A label may hold several runs (seeds): the mean is drawn with a min-max band."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.0), dpi=110, layout="constrained")
    ax = figure.add_subplot()
    for label, runs in curves.items():
        runs_list = [runs] if runs and not isinstance(runs[0], (list, tuple)) else list(runs)
        if not runs_list or not runs_list[0]:
            continue
        length = min(len(r) for r in runs_list)
        bests = [best_so_far(r)[:length] for r in runs_list]
        x = list(range(1, length + 1))
        mean = [_nanmean([b[i] for b in bests]) for i in range(length)]
        line = ax.plot(x, mean, label=label)[0]
        if len(bests) > 1:
            lo = [min(b[i] for b in bests) for i in range(length)]
            hi = [max(b[i] for b in bests) for i in range(length)]
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2)
        if scatter and len(runs_list) == 1:
            points = [(i + 1, v) for i, v in enumerate(runs_list[0][:length]) if v is not None and not math.isnan(v)]
            if points:
                ax.scatter(*zip(*points), s=8, color=line.get_color(), alpha=0.4)
    ax.set_xlabel("evaluations")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    figure.savefig(path)
    return path


def motif_edges(arch: Mapping[str, Any]) -> dict[tuple[int, int], list[tuple[int, int, str]]]:
    """{(level, motif): [(j, i, op), ...]} of the edges that are not ``none``, read from the choice names."""
    motifs: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
    for name, value in arch.items():
        match = _EDGE.match(name)
        if match is None:
            continue
        level, motif, j, i = map(int, match.groups())
        edges = motifs.setdefault((level, motif), [])
        if value != "none":
            edges.append((j, i, str(value)))
    return {key: motifs[key] for key in sorted(motifs)}


def plot_motifs(arch: Mapping[str, Any], path: Path, *, title: str = "") -> Path | None:
    """Every motif as a small DAG: nodes left to right, edges as arcs labelled with their op (primitive colours)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    motifs = motif_edges(arch)
    if not motifs:
        return None
    sizes = {}
    for name in arch:
        match = _EDGE.match(name)
        if match:
            level, motif, _, i = map(int, match.groups())
            sizes[(level, motif)] = max(sizes.get((level, motif), 0), i + 1)
    columns = min(3, len(motifs))
    rows = math.ceil(len(motifs) / columns)
    figure = Figure(figsize=(4.2 * columns, 2.6 * rows), dpi=110, layout="constrained")
    for index, ((level, motif), edges) in enumerate(motifs.items()):
        ax = figure.add_subplot(rows, columns, index + 1)
        n = sizes[(level, motif)]
        for k in range(n):
            ax.scatter([k], [0], s=260, color="white", edgecolors="black", zorder=3)
            ax.text(k, 0, "in" if k == 0 else ("out" if k == n - 1 else str(k)), ha="center", va="center",
                    fontsize=7, zorder=4)
        for j, i, op in edges:
            span = i - j
            bend = 0.35 * (1 if (j + i) % 2 == 0 else -1) * (span > 1)
            arrow = FancyArrowPatch((j, 0), (i, 0), connectionstyle=f"arc3,rad={bend:.2f}", arrowstyle="-|>",
                                    mutation_scale=8, color=_COLOURS.get(op, "black"), lw=1.2, shrinkA=8, shrinkB=8)
            ax.add_patch(arrow)
            ax.text((j + i) / 2, -bend * span / 2, op, fontsize=6, ha="center", va="center",
                    color=_COLOURS.get(op, "black"), bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(-0.25 * n - 0.3, 0.25 * n + 0.3)
        ax.set_axis_off()
        ax.set_title(f"level {level}, motif {motif}" if level > 2 or len(motifs) > 1 else f"level {level}",
                     fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.savefig(path)
    return path


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan
