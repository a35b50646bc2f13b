"""ProxylessNAS report plots: op probabilities per block over the search, and expected latency against the target.

Reads what `archsearch.methods.proxyless` logs through ``ctx.log_metrics``: ``metrics/proxyless_probs.jsonl``
(one row per architecture step: ``"<block>/<op>": probability``) and ``metrics/proxyless_arch.jsonl``
(``expected_latency_ms`` / ``expected_macs``, ``target``, losses or rewards, mean entropy).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from archsearch.report._runs import read_metric_rows

_NOT_VALUES = {"step", "time", "timestamp", "t", "series", "wall_time"}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def probability_matrix(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]], np.ndarray, list[float]]:
    """(blocks, ops per block, probabilities [row = (block, op) in order, column = step], steps)."""
    keys = [k for k in rows[0] if "/" in k and k not in _NOT_VALUES]
    blocks: list[str] = []
    ops: dict[str, list[str]] = {}
    for key in keys:
        block, op = key.rsplit("/", 1)
        if block not in ops:
            blocks.append(block)
            ops[block] = []
        ops[block].append(op)
    ordered = [f"{b}/{o}" for b in blocks for o in ops[b]]
    matrix = np.array([[float(r.get(k, np.nan)) for r in rows] for k in ordered])
    return blocks, [ops[b] for b in blocks], matrix, [float(r["step"]) for r in rows]


def plot_probabilities(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Heat map: one row per (block, op), one column per architecture step, colour = probability."""
    if not rows:
        return None
    blocks, ops, matrix, steps = probability_matrix(rows)
    if matrix.size == 0:
        return None
    n_rows = matrix.shape[0]
    fig = _figure(9.0, max(3.0, 0.11 * n_rows + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(matrix, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0.0, vmax=1.0,
                      extent=(steps[0] - 0.5, steps[-1] + 0.5, n_rows - 0.5, -0.5))
    labels = [f"{b} {o}" for b, block_ops in zip(blocks, ops) for o in block_ops]
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels(labels, fontsize=5 if n_rows > 60 else 7)
    edge = -0.5
    for block_ops in ops[:-1]:
        edge += len(block_ops)
        ax.axhline(edge, color="white", linewidth=0.8)
    ax.set_xlabel("architecture step")
    ax.set_title("ProxylessNAS: op probability per block over the search")
    fig.colorbar(image, ax=ax, label="probability")
    fig.savefig(path)
    return path


def plot_final_probabilities(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Blocks x ops heat map of the last step's probabilities; the derived arch is each row's maximum (boxed)."""
    if not rows:
        return None
    blocks, ops, matrix, _ = probability_matrix(rows)
    all_ops = list(dict.fromkeys(o for block_ops in ops for o in block_ops))
    grid = np.full((len(blocks), len(all_ops)), np.nan)
    row = 0
    for i, block_ops in enumerate(ops):
        for op in block_ops:
            grid[i, all_ops.index(op)] = matrix[row, -1]
            row += 1
    fig = _figure(1.0 + 0.7 * len(all_ops), 1.5 + 0.25 * len(blocks))
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(all_ops)))
    ax.set_xticklabels(all_ops, rotation=45, ha="right")
    ax.set_yticks(range(len(blocks)))
    ax.set_yticklabels(blocks, fontsize=7)
    for i in range(len(blocks)):
        if np.all(np.isnan(grid[i])):
            continue
        j = int(np.nanargmax(grid[i]))
        ax.add_patch(_box(j, i))
    ax.set_title("final op probabilities (boxed: derived arch)")
    fig.colorbar(image, ax=ax, label="probability")
    fig.savefig(path)
    return path


def _box(x: int, y: int):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.2)


def plot_expected_cost(rows: list[dict[str, Any]], path: Path,
                       derived: dict[str, float] | None = None) -> Path | None:
    """Expected latency (or expected MACs) per architecture step, with the target as a dashed line and, when the
    run finished, the derived arch's table-predicted and measured latency at the last step."""
    if not rows:
        return None
    if any("expected_latency_ms" in r for r in rows):
        key, label = "expected_latency_ms", "expected latency E[LAT] (ms, lookup table)"
    elif any("expected_macs" in r for r in rows):
        key, label = "expected_macs", "expected MACs E[FLOPs]"
    else:
        return None
    points = [(float(r["step"]), float(r[key])) for r in rows if key in r]
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    ax.plot([p[0] for p in points], [p[1] for p in points], color="tab:blue", linewidth=1.2, label=label,
            marker="o" if len(points) <= 30 else None, markersize=3)
    if key == "expected_latency_ms" and derived and points:
        for name, marker, colour in (("latency_ms", "s", "tab:green"), ("measured_latency_ms", "^", "tab:orange")):
            if derived.get(name) is not None:
                what = "table" if name == "latency_ms" else "measured end-to-end"
                ax.scatter([points[-1][0]], [float(derived[name])], marker=marker, color=colour, zorder=3,
                           label=f"derived arch, {what}: {float(derived[name]):.3g} ms")
    targets = [float(r["target"]) for r in rows if r.get("target") is not None]
    if targets and (key == "expected_latency_ms" or key == "expected_macs"):
        ax.axhline(targets[-1], color="tab:red", linestyle="--", label=f"target {targets[-1]:g}")
    ax.set_xlabel("architecture step")
    ax.set_ylabel(label)
    ax.set_title("ProxylessNAS: expected cost vs target")
    ax.legend(loc="best", fontsize=8)
    fig.savefig(path)
    return path


def _derived(run_dir: Path) -> dict[str, float]:
    """The derived arch's latencies from result.json (empty while the run is unfinished)."""
    try:
        result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    best = result.get("best") or {}
    return {"latency_ms": (best.get("objectives") or {}).get("latency_ms"),
            "measured_latency_ms": (result.get("extra") or {}).get("measured_latency_ms")}


def plots(run_dir: Path, out_dir: Path) -> list[Path]:
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    probs = read_metric_rows(run_dir / "metrics" / "proxyless_probs.jsonl")
    arch = read_metric_rows(run_dir / "metrics" / "proxyless_arch.jsonl")
    made = [plot_probabilities(probs, out_dir / "proxyless_op_probabilities.png"),
            plot_final_probabilities(probs, out_dir / "proxyless_final_probabilities.png"),
            plot_expected_cost(arch, out_dir / "proxyless_expected_latency.png", _derived(run_dir))]
    return [p for p in made if p is not None]
