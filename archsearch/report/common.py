"""Plots and tables every run gets, from its ledger alone: leaderboard, Pareto fronts, best-so-far, summary.md.

Figures are drawn on `matplotlib.figure.Figure` objects directly (no pyplot, no global backend state), so reports
render headless and from worker threads.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from archsearch.experiment.ledger import TrialRecord
from archsearch.report._runs import RunRecord
from archsearch.search.pareto import pareto_front as _front


def leaderboard(trials: Sequence[TrialRecord], top: int | None = None) -> list[TrialRecord]:
    """Completed trials by validation accuracy (best first); ties go to the cheaper arch, then the earlier trial."""
    done = [t for t in trials if t.state == "complete" and t.metric("accuracy") is not None]
    done.sort(key=lambda t: (-(t.metric("accuracy") or 0.0), t.metric("macs") or 0.0, t.number))
    return done if top is None else done[:top]


def pareto_front(trials: Sequence[TrialRecord], cost: str = "macs",
                 constraints: Sequence[str] | None = None) -> list[TrialRecord]:
    """The trials no other trial beats on both accuracy (higher) and `cost` (lower), by increasing cost; with the
    run's `constraints` (config.yaml), only among the trials that meet them (a search may train candidates that
    break a bound, NARS's stage 2: they are no result)."""
    from archsearch.cost.constraints import parse_constraints

    parsed = parse_constraints(list(constraints or ()))  # once, not per trial
    points = sorted((t for t in leaderboard(trials) if t.metric(cost) is not None and _meets(t, parsed)),
                    key=lambda t: t.number)
    return _front(points, lambda t: t.metric("accuracy") or 0.0, lambda t: t.metric(cost))  # ties: the earliest


def _meets(trial: TrialRecord, constraints: Sequence[Any]) -> bool:
    """Whether a trial meets every constraint whose metric it recorded (one it did not record cannot be judged)."""
    from archsearch.cost.constraints import METRICS

    for constraint in constraints:
        value = trial.metric(METRICS[constraint.metric])
        if value is not None and not constraint.satisfied_by(float(value)):
            return False
    return True


def front_cost(config: Any, trials: Sequence[TrialRecord]) -> str:
    """The cost a run traded accuracy against, for its Pareto front in text: latency when it searched for or under
    a latency (ProxylessNAS, ``search_cost: latency``, a ``latency<=`` constraint) and its trials carry it, params
    when it searched on params, else MACs."""
    config = config or {}
    search_cost = str((config.get("method_config") or {}).get("search_cost", ""))
    if search_cost == "params":
        return "params"
    latency = (search_cost == "latency" or _front_cost(config.get("method")) == "latency_ms"
               or any("latency" in str(c) for c in config.get("constraints") or []))
    if latency and any(t.metric("latency_ms") is not None for t in trials):
        return "latency_ms"
    return "macs"


def _front_cost(method: Any) -> str | None:
    """The cost a method's spec says its front trades accuracy against (None: MACs, or a method no longer here)."""
    from archsearch.methods import method_names, method_spec

    return method_spec(method).front_cost if method in method_names() else None


def best_so_far(trials: Sequence[TrialRecord]) -> list[tuple[int, float, float]]:
    """(completion index, seconds since the first trial started, best accuracy so far), in completion order."""
    done = [t for t in trials if t.state == "complete" and t.metric("accuracy") is not None]
    done.sort(key=lambda t: (t.end or datetime.max, t.number))
    starts = [t.start for t in trials if t.start is not None]
    origin = min(starts) if starts else None
    out, best = [], float("-inf")
    for i, t in enumerate(done, 1):
        best = max(best, t.metric("accuracy") or 0.0)
        elapsed = (t.end - origin).total_seconds() if (t.end and origin) else float(i)
        out.append((i, elapsed, best))
    return out


# -- plots ------------------------------------------------------------------------------------------------------
def _figure(width: float = 6.0, height: float = 4.0):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


_LABELS = {"macs": "MACs (multiply-adds)", "params": "parameters", "latency_ms": "latency (ms)"}


def plot_pareto(trials: Sequence[TrialRecord], cost: str, path: Path, label: str = "val. acc.") -> Path | None:
    """Accuracy (of kind `label`) vs `cost` for every completed trial, the Pareto front as a step line; None
    without data."""
    points = [t for t in leaderboard(trials) if t.metric(cost) is not None]
    if not points:
        return None
    front = pareto_front(trials, cost)
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter([t.metric(cost) for t in points], [100 * (t.metric("accuracy") or 0) for t in points],
               s=14, alpha=0.5, color="tab:gray", label=f"trials ({len(points)})")
    ax.step([t.metric(cost) for t in front], [100 * (t.metric("accuracy") or 0) for t in front],
            where="post", color="tab:red", marker="o", markersize=4, label=f"Pareto front ({len(front)})")
    ax.set_xlabel(_LABELS.get(cost, cost))
    ax.set_ylabel(f"{label} (%)")
    if cost in ("macs", "params"):
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(f"{label} vs {cost}")
    fig.savefig(path)
    return path


def plot_progress(trials: Sequence[TrialRecord], path: Path, label: str = "val. acc.") -> Path | None:
    """Best accuracy (of kind `label`) so far against completed trials and against wall time; None without
    completed trials."""
    curve = best_so_far(trials)
    if not curve:
        return None
    done = [t for t in trials if t.state == "complete" and t.metric("accuracy") is not None]
    done.sort(key=lambda t: (t.end or datetime.max, t.number))
    fig = _figure(10.0, 4.0)
    by_trial, by_time = fig.subplots(1, 2)
    by_trial.scatter(range(1, len(done) + 1), [100 * (t.metric("accuracy") or 0) for t in done],
                     s=10, alpha=0.4, color="tab:gray", label="trial")
    by_trial.step([c[0] for c in curve], [100 * c[2] for c in curve], where="post", color="tab:blue",
                  label="best so far")
    by_trial.set_xlabel("completed trials")
    by_trial.set_ylabel(f"{label} (%)")
    by_trial.legend(loc="lower right")
    by_time.step([c[1] / 60 for c in curve], [100 * c[2] for c in curve], where="post", color="tab:blue")
    by_time.set_xlabel("wall time (min)")
    by_time.set_ylabel(f"best {label} (%)")
    for ax in (by_trial, by_time):
        ax.grid(alpha=0.3)
    fig.savefig(path)
    return path


def common_plots(record: RunRecord, out_dir: Path, trials: Sequence[TrialRecord] | None = None) -> list[Path]:
    trials = record.trials() if trials is None else trials
    label = record.accuracy["label"]
    made = [plot_pareto(trials, "macs", out_dir / "pareto_macs.png", label),
            plot_pareto(trials, "params", out_dir / "pareto_params.png", label)]
    if any(t.metric("latency_ms") is not None for t in trials):
        made.append(plot_pareto(trials, "latency_ms", out_dir / "pareto_latency.png", label))
    made.append(plot_progress(trials, out_dir / "progress.png", label))
    return [p for p in made if p is not None]


# -- tables -----------------------------------------------------------------------------------------------------
def human(value: float | None, kind: str = "") -> str:
    """3.1M / 812K / 91.23% / 4.2 ms; "-" for missing values."""
    if value is None:
        return "-"
    if kind == "accuracy":
        return f"{100 * value:.2f}%"
    if kind == "latency_ms":
        return f"{value:.2f} ms"
    if kind == "seconds":
        return f"{value:.1f} s"
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:g}"


def arch_text(arch: dict[str, Any], limit: int = 0) -> str:
    """Compact arch string: the values in order (``k3e3 k5e6 skip ...``); names only when values are not str."""
    if all(isinstance(v, str) for v in arch.values()):
        text = " ".join(arch.values())
    else:
        text = " ".join(f"{k}={v}" for k, v in arch.items())
    return text if not limit or len(text) <= limit else text[: limit - 1] + "…"


def space_text(spec: dict[str, Any]) -> str:
    """A built-in space by name; a user space by its file (or module) and function: "user_space.py:make_space"."""
    source = str((spec.get("options") or {}).get("source") or "") if spec.get("name") == "user" else ""
    if not source or source.startswith("object:"):
        return str(spec.get("name"))
    target, _, function = source.rpartition(":")
    return f"{Path(target).name}:{function}"


def column_title(column: str, accuracy_label: str) -> str:
    """A leaderboard column's heading: the accuracy named by its kind (``supernet acc.``, ...)."""
    return {"accuracy": accuracy_label, "test_accuracy": "test acc.", "latency_ms": "latency"}.get(column, column)


def final_lines(record: RunRecord) -> list[str]:
    """What a run ends with, in words: the chosen arch's test accuracy after its final training (mean, 95%
    interval, per seed), the search's own estimate beside it, and what the search cost."""
    final, result = record.final, record.result or {}
    label = record.accuracy["label"]
    estimate = ((result.get("best") or {}).get("objectives") or {}).get("accuracy")
    lines = []
    if final and final.get("test_accuracy") is not None:
        seeds = final.get("seeds") or []
        per_seed = ", ".join(human(a, "accuracy") for a in final.get("test_accuracies") or [])
        spread = (f" ± {100 * final['test_accuracy_ci95']:.2f} (95% interval over {len(seeds)} seeds: {per_seed})"
                  if final.get("test_accuracy_ci95") is not None else
                  f" ({len(seeds)} seed{'s' if len(seeds) != 1 else ''}: {per_seed})")
        lines.append(f"test acc. {human(final['test_accuracy'], 'accuracy')}{spread} after {final.get('epochs')} "
                     f"epoch{'s' if final.get('epochs') != 1 else ''} from scratch, "
                     f"{human(final.get('seconds'), 'seconds')} of training")
    elif final:
        lines.append(f"final training failed: {'; '.join(e for e in final.get('errors') or [] if e)}")
    elif result:
        lines.append("no final training (final_epochs=0)")
    if estimate is not None:
        lines.append(f"{label} {human(estimate, 'accuracy')}: the search's own estimate for the chosen arch"
                     + (", not its accuracy" if final else ""))
    extra = result.get("extra") or {}
    measured = extra.get("measured_latency_ms")
    table = extra.get("table_latency_ms", ((result.get("best") or {}).get("objectives") or {}).get("latency_ms"))
    if isinstance(measured, (int, float)) and isinstance(table, (int, float)):
        threads = extra.get("latency_threads")
        lines.append(f"latency of the chosen arch: {table:.4g} ms by the table, {measured:.4g} ms measured "
                     f"({extra.get('latency_runtime') or 'torch'}"
                     + (f", {threads} thread(s)" if threads is not None else "") + ")")
    search = result.get("search") or {}
    if search.get("seconds") is not None:
        lines.append(f"search: {human(search['seconds'], 'seconds')} wall, {search.get('cpu_seconds', 0):.1f} "
                     "CPU-seconds (without the final training)")
    return lines


def leaderboard_columns(trials: Sequence[TrialRecord]) -> list[str]:
    columns = ["rank", "trial", "accuracy", "macs", "params"]
    if any(t.metric("latency_ms") is not None for t in trials):
        columns.append("latency_ms")
    if any("test_accuracy" in t.attrs for t in trials):
        columns.append("test_accuracy")
    return columns + ["seconds", "arch"]


def leaderboard_rows(rows: Sequence[TrialRecord], columns: Sequence[str], arch_limit: int = 0) -> list[list[str]]:
    out = []
    for rank, t in enumerate(rows, 1):
        cells = []
        for column in columns:
            if column == "rank":
                cells.append(str(rank))
            elif column == "trial":
                cells.append(str(t.number))
            elif column == "arch":
                cells.append(arch_text(t.arch, arch_limit))
            elif column == "test_accuracy":
                cells.append(human(t.metric("test_accuracy"), "accuracy"))
            else:
                cells.append(human(t.metric(column), column))
        out.append(cells)
    return out


def _markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_summary(record: RunRecord, out_dir: Path, plots: Sequence[Path], trials: Sequence[TrialRecord],
                  notes: Sequence[str] = (), top: int = 10) -> Path:
    """summary.md: the final training's test accuracy first, then what was run, how many trials ended how, the best
    arch, leaderboard and Pareto front (accuracies named by their kind), plots."""
    config = record.config
    states: dict[str, int] = {}
    for t in trials:
        states[t.state] = states.get(t.state, 0) + 1
    lines = [f"# Run `{record.name}`", ""]
    space = record.space_spec
    facts = [("method", record.method), ("space", space.get("name")), ("space options", space.get("options")),
             ("data", config.get("data")), ("preset", config.get("preset")), ("seed", config.get("seed")),
             ("constraints", ", ".join(map(str, config.get("constraints") or [])) or "none"),
             ("executor", config.get("executor")), ("status", record.status()),
             ("trials", ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none")]
    result = record.result or {}
    label = record.accuracy["label"]
    if result:  # the run's number first: the chosen arch trained from scratch, judged on the test set
        lines += ["## Final training (test set)", ""] + [f"- {line}" for line in final_lines(record)] + [""]
    lines += [f"- **{k}**: {v}" for k, v in facts if v not in (None, {}, "")]
    lines.append(f"- **search accuracy**: {label} (what the leaderboard ranks by)")
    lines.append("")
    best = result.get("best")
    if isinstance(best, dict):
        lines += ["## Best architecture (result.json)", ""]
        objectives = best.get("objectives") or {}
        lines.append(", ".join(f"{column_title(k, label)} = {human(v, k)}" for k, v in objectives.items())
                     or "(no objectives)")
        lines += ["", "```json", _json(best.get("arch")), "```", ""]
    board = leaderboard(trials, top)
    if board:
        columns = leaderboard_columns(trials)
        lines += [f"## Leaderboard (top {len(board)} of {len(leaderboard(trials))} by {label})", "",
                  _markdown_table([column_title(c, label) for c in columns], leaderboard_rows(board, columns)), ""]
        cost = front_cost(config, trials)
        front = pareto_front(trials, cost, (config or {}).get("constraints"))
        costs = ["macs", "params"] + (["latency_ms"] if cost == "latency_ms" else [])
        lines += [f"## Pareto front ({label} vs {_LABELS[cost]})", "",
                  _markdown_table(["trial", label, *costs, "arch"],
                                  [[str(t.number), human(t.metric("accuracy"), "accuracy"),
                                    *(human(t.metric(c), c) for c in costs), arch_text(t.arch)]
                                   for t in front]), ""]
    else:
        lines += ["No completed trials in the ledger.", ""]
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{p.stem}]({p.name})" for p in plots]
        lines.append("")
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    path = out_dir / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=1)
