"""DARTS report plots (Fair DARTS uses the same ones, with sigmoid weights and its threshold).

Reads what `archsearch.methods.darts` logs through ``ctx.log_metrics``: ``metrics/alphas.jsonl`` (one row per
epoch, epoch 0 = initial: ``"<kind>_<src>_<node>/<op>": weight``, softmax for DARTS, sigmoid for Fair DARTS) and
``metrics/search.jsonl`` (losses, supernet accuracy, skip counts of the cell derived after each epoch). Draws:
per-edge op weights over the epochs (heat maps, one panel per edge), the histogram of the final weights, the skip
connections per derived cell over the epochs, and the final cells as graphs (matplotlib only, no graphviz). A run on
another weight-sharing space (``"<choice>/<candidate>"`` keys) gets one heat-map panel per choice and the histogram.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from archsearch.report._runs import read_metric_rows
from archsearch.spaces.darts import CELL_KINDS, NODES, Edge, discretise, live_nodes

FAIR_THRESHOLD = 0.85  # Fair DARTS sec. 4 (used when the run's config does not say)
_TITLES = {"darts": "DARTS (softmax)", "fairdarts": "Fair DARTS (sigmoid)"}


def plots(run_dir: Path, out_dir: Path) -> list[Path]:
    return method_plots(Path(run_dir), Path(out_dir), "darts")


def method_plots(run_dir: Path, out_dir: Path, method: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = read_metric_rows(run_dir / "metrics" / "alphas.jsonl")
    search = read_metric_rows(run_dir / "metrics" / "search.jsonl")
    made: list[Path | None] = []
    if rows and not _is_cell_run(rows):  # another weight-sharing space: one panel per choice, its own candidates
        choices = choice_weights(rows)
        epochs = [float(r["step"]) for r in rows]
        made.append(plot_choice_heatmaps(choices, epochs, method, out_dir / f"{method}_alphas.png"))
        made.append(plot_final_histogram({name: w for name, (_, w) in choices.items()}, method,
                                         out_dir / f"{method}_final_weights.png"))
    elif rows:
        weights, ops, epochs = weight_tensor(rows)
        for kind in CELL_KINDS:
            made.append(plot_edge_heatmaps(weights, ops, epochs, kind, method, out_dir / f"{method}_alphas_{kind}.png"))
        made.append(plot_final_histogram(weights, method, out_dir / f"{method}_final_weights.png"))
        threshold = _threshold(run_dir) if method == "fairdarts" else None
        final = {name: torch.tensor(w[:, -1]) for name, w in weights.items()}
        for kind in CELL_KINDS:
            edges = discretise(final, ops, kind=kind, threshold=threshold)
            made.append(plot_cell(edges, f"{_TITLES.get(method, method)}: {kind} cell",
                                  out_dir / f"{method}_cell_{kind}.png"))
    if search and any("normal_skips" in r for r in search):
        made.append(plot_skip_counts(search, method, out_dir / f"{method}_skips.png"))
    return [p for p in made if p is not None]


# -- reading --------------------------------------------------------------------------------------------------------
def weight_tensor(rows: list[dict[str, Any]]) -> tuple[dict[str, np.ndarray], list[str], list[float]]:
    """({edge: array[op, epoch]}, ops in logged order, epochs)."""
    edges: dict[str, list[str]] = {}
    for key in rows[-1]:
        if "/" in key:
            edge, op = key.rsplit("/", 1)
            edges.setdefault(edge, []).append(op)
    ops = next(iter(edges.values()), [])
    weights = {edge: np.array([[float(r.get(f"{edge}/{op}", np.nan)) for r in rows] for op in ops])
               for edge in edges}
    return weights, ops, [float(r["step"]) for r in rows]


def _is_cell_run(rows: list[dict[str, Any]]) -> bool:
    """Whether the logged weights are the darts cell space's edges (``normal_0_2/<op>`` ...)."""
    return any(key.startswith(f"{kind}_0_2/") for kind in CELL_KINDS for key in rows[-1])


def choice_weights(rows: list[dict[str, Any]]) -> dict[str, tuple[list[str], np.ndarray]]:
    """{choice: (its candidates in logged order, array[candidate, epoch])}: choices of a generic space differ in
    their candidates (a `mobilenet` block without a residual has no ``skip``)."""
    candidates: dict[str, list[str]] = {}
    for key in rows[-1]:
        if "/" in key:
            choice, op = key.rsplit("/", 1)
            candidates.setdefault(choice, []).append(op)
    return {choice: (ops, np.array([[float(r.get(f"{choice}/{op}", np.nan)) for r in rows] for op in ops]))
            for choice, ops in candidates.items()}


def _threshold(run_dir: Path) -> float:
    path = run_dir / "config.yaml"
    if not path.exists():
        return FAIR_THRESHOLD
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return FAIR_THRESHOLD
    for key in ("method_config", "config", "method_options"):
        section = config.get(key)
        if isinstance(section, dict) and isinstance(section.get("threshold"), (int, float)):
            return float(section["threshold"])
    return FAIR_THRESHOLD


# -- plots ----------------------------------------------------------------------------------------------------------
def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def plot_edge_heatmaps(weights: dict[str, np.ndarray], ops: list[str], epochs: list[float], kind: str,
                       method: str, path: Path) -> Path | None:
    """One panel per edge of the cell: rows = ops, columns = epochs, colour = the op's weight."""
    names = [f"{kind}_{source}_{node}" for node in NODES for source in range(node)]
    names = [n for n in names if n in weights]
    if not names:
        return None
    # sigmoids span [0, 1]; softmax weights stay near 1/len(ops) for long, so DARTS uses the observed range
    vmin = 0.0 if method == "fairdarts" else min(float(np.nanmin(weights[n])) for n in names)
    vmax = 1.0 if method == "fairdarts" else max(float(np.nanmax(weights[n])) for n in names)
    panels = [(f"edge {name.split('_')[1]} -> {name.split('_')[2]}", ops, weights[name]) for name in names]
    return _heatmap_grid(panels, epochs, (vmin, vmax), "op weight",
                         f"{_TITLES.get(method, method)}: {kind} cell op weights per epoch (x: epoch)", path)


def plot_choice_heatmaps(choices: dict[str, tuple[list[str], np.ndarray]], epochs: list[float], method: str,
                         path: Path) -> Path | None:
    """One panel per choice of a generic space: rows = its candidates, columns = epochs, colour = the weight
    (sigmoids as they are; softmax weights times the choice's candidate count, so 1 is uniform whatever the count)."""
    if not choices:
        return None
    sigmoid = method == "fairdarts"
    panels = [(name, ops, w if sigmoid else w * len(ops)) for name, (ops, w) in choices.items()]
    finite = np.concatenate([w[np.isfinite(w)] for _, _, w in panels])
    scale = (0.0, 1.0) if sigmoid or not finite.size else (float(finite.min()), float(finite.max()))
    return _heatmap_grid(panels, epochs, scale, "sigmoid weight" if sigmoid else "softmax weight x candidates",
                         f"{_TITLES.get(method, method)}: candidate weights per choice and epoch (x: epoch)", path)


def _heatmap_grid(panels: list[tuple[str, list[str], np.ndarray]], epochs: list[float], scale: tuple[float, float],
                  label: str, title: str, path: Path) -> Path:
    """Panels (title, row labels, array[row, epoch]) on one colour scale, five to a row."""
    cols = min(5, len(panels))
    rows = -(-len(panels) // cols)
    fig = _figure(3.0 * cols, 1.9 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for ax, (name, ops, w) in zip(axes.flat, panels):
        image = ax.imshow(w, aspect="auto", interpolation="nearest", cmap="viridis", vmin=scale[0], vmax=scale[1],
                          extent=(epochs[0] - 0.5, epochs[-1] + 0.5, len(ops) - 0.5, -0.5))
        ax.set_title(name, fontsize=8)
        ax.set_yticks(range(len(ops)))
        ax.set_yticklabels(ops, fontsize=5)
        ax.tick_params(axis="x", labelsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label=label)
    fig.suptitle(title)
    fig.savefig(path)
    return path


def plot_final_histogram(weights: dict[str, np.ndarray], method: str, path: Path) -> Path | None:
    final = np.concatenate([w[:, -1] for w in weights.values()]) if weights else np.array([])
    final = final[np.isfinite(final)]
    if final.size == 0:
        return None
    fig = _figure(6.0, 3.8)
    ax = fig.add_subplot()
    ax.hist(final, bins=np.linspace(0.0, 1.0, 41), color="tab:blue", edgecolor="white")
    if method == "fairdarts":
        polarised = float(np.mean((final < 0.1) | (final > 0.9)))
        for x in (0.1, 0.9):
            ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        ax.axvline(FAIR_THRESHOLD, color="tab:red", linestyle="--", linewidth=1, label="threshold 0.85")
        ax.legend(fontsize=8)
        ax.set_title(f"final sigmoid weights: {polarised:.0%} below 0.1 or above 0.9")
    else:
        ax.set_title("final softmax weights (all edges, both cells)")
    ax.set_xlabel("op weight")
    ax.set_ylabel("count")
    fig.savefig(path)
    return path


def plot_skip_counts(search: list[dict[str, Any]], method: str, path: Path) -> Path | None:
    epochs = [r["step"] for r in search]
    fig = _figure(6.0, 3.5)
    ax = fig.add_subplot()
    for kind, style in (("normal", "-o"), ("reduce", "--s")):
        values = [r.get(f"{kind}_skips") for r in search]
        if any(v is not None for v in values):
            ax.plot(epochs, [np.nan if v is None else v for v in values], style, label=f"{kind} cell")
    ax.set_xlabel("epoch")
    ax.set_ylabel("skip connections in the derived cell")
    ax.set_ylim(bottom=-0.2, top=8.2)
    ax.legend(fontsize=8)
    ax.set_title(f"{_TITLES.get(method, method)}: skip connections per epoch")
    fig.savefig(path)
    return path


def plot_cell(edges: list[Edge], title: str, path: Path) -> Path:
    """The cell as a graph: inputs c_{k-2}, c_{k-1} on the left, intermediate nodes, the output c_k on the right;
    each edge labelled with its op. Dropped nodes are drawn hollow and grey."""
    fig = _figure(7.5, 4.0)
    ax = fig.add_subplot()
    ax.set_axis_off()
    live = set(live_nodes(edges))
    pos = {0: (-0.5, 1.2), 1: (-0.5, -1.2)}
    for i, node in enumerate(NODES):
        pos[node] = (1.2 + 1.1 * i, 0.9 if i % 2 == 0 else -0.9)
    out = (1.2 + 1.1 * len(NODES) + 0.4, 0.0)
    colours = {"skip_connect": "tab:red", "max_pool_3x3": "tab:green", "avg_pool_3x3": "tab:olive"}
    for source, node, op in edges:
        if source not in pos or node not in pos:
            continue
        rad = 0.25 if source in (0, 1) and node != 2 else 0.0
        colour = colours.get(op, "tab:blue")
        ax.annotate("", xy=pos[node], xytext=pos[source],
                    arrowprops=dict(arrowstyle="-|>", color=colour, shrinkA=14, shrinkB=14, lw=1.3,
                                    connectionstyle=f"arc3,rad={rad}"))
        mx = (pos[source][0] + pos[node][0]) / 2
        my = (pos[source][1] + pos[node][1]) / 2 + rad * 0.6
        ax.text(mx, my, op, fontsize=7, color=colour, ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    for node in NODES:
        if node in live:
            ax.annotate("", xy=out, xytext=pos[node],
                        arrowprops=dict(arrowstyle="-|>", color="lightgrey", shrinkA=14, shrinkB=16, lw=0.8))
    for node, (x, y) in pos.items():
        label = {0: "c_{k-2}", 1: "c_{k-1}"}.get(node, str(node - 2))
        alive = node in (0, 1) or node in live
        ax.text(x, y, label, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="circle" if node >= 2 else "round", fc="lightyellow" if alive else "white",
                          ec="black" if alive else "lightgrey"), color="black" if alive else "grey")
    ax.text(*out, "c_k", ha="center", va="center", fontsize=9, bbox=dict(boxstyle="round", fc="lightblue"))
    skips = sum(op == "skip_connect" for _, _, op in edges)
    ax.set_title(f"{title}: {len(edges)} edges, {skips} skip connections", fontsize=10)
    ax.set_xlim(-1.1, out[0] + 0.6)
    ax.set_ylim(-1.7, 1.7)
    fig.savefig(path)
    return path


__all__ = ["method_plots", "plot_cell", "plot_edge_heatmaps", "plot_final_histogram", "plot_skip_counts", "plots",
           "weight_tensor"]
