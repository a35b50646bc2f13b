"""A comparison study's readable outputs: the terminal table, compare.md and compare.png (the anytime plot: judged
accuracy against search CPU-seconds per method, across the study's targets, with the random archs as a band)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from archsearch._atomic import atomic_write_text

COMPARE_MD = "compare.md"
COMPARE_PNG = "compare.png"


# -- tables ---------------------------------------------------------------------------------------------------------------
def _pct(value: float | None, ci: float | None = None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}" + (f" ± {100 * ci:.2f}" if ci is not None else "")


def _number(value: float | None, text: str = "{:.3f}") -> str:
    return "-" if value is None else text.format(value)


def table_rows(document: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    columns = ["method", "budget (own unit)", "test acc. % (mean ± 95% CI)", "n", "MACs", "params", "search CPU-s",
               "percentile vs random", "p vs random", "p (Holm)", "detectable diff. (points)", "proxy tau"]
    rows = []
    for row in document["methods"]:
        broken = sum(not ok for ok in row.get("meets_constraints", ()))
        name = row["method"] + (f" ({broken} of {len(row['meets_constraints'])} break the constraints)"
                                if broken else "")
        rows.append([name, f"{row['budget']:g}", _pct(row["test_accuracy_mean"], row["test_accuracy_ci95"]),
                     str(row["test_accuracy_n"]), _number(row["macs"] and row["macs"] / 1e6, "{:.2f}M"),
                     _number(row["params"] and row["params"] / 1e3, "{:.1f}k"),
                     _number(row["search_cpu_seconds"], "{:.1f}") + (" (over)" if row.get("over_budget") else ""),
                     _number(row["percentile_vs_random"], "{:.0f}"), _number(row["p_value_vs_random"]),
                     _number(row.get("p_value_holm")),
                     _number(row.get("detectable_difference") and 100 * row["detectable_difference"], "{:.2f}"),
                     _number(row.get("proxy_tau"), "{:.2f}")])
    random = document["random"]
    rows.append([f"random archs (K={random['n']})", "-", _pct(random["mean"], random["ci95"]), str(random["n"]),
                 "-", "-", "0", "-", "-", "-", "-", "-"])
    return columns, rows


def judge_text(document: Mapping[str, Any]) -> str:
    """One paragraph: how far the judge ranks architectures rather than seeds."""
    judge = document.get("judge") or {}
    if judge.get("tau_seed_to_seed") is None:
        return "Judge reliability: not measured (fewer than three random archs with both seeds)."
    text = (f"Judge reliability: Kendall tau {judge['tau_seed_to_seed']:.2f} between the {judge['n']} random archs' "
            "two retraining seeds")
    if judge.get("tau_vs_reference") is not None:
        text += (f", {judge['tau_vs_reference']:.2f} between the first seed and a {judge.get('reference_epochs')}-"
                 f"epoch reference training of {judge['n_reference']} of them")
    if judge.get("arch_sd") is not None:
        text += (f". Spread between architectures {100 * judge['arch_sd']:.2f} points, between seeds "
                 f"{100 * judge['seed_sd']:.2f} points: architecture explains {100 * judge['arch_share']:.0f}% of "
                 "the variance")
    return text + "."


def write_study_report(directory: Path, document: Mapping[str, Any]) -> None:
    """compare.md (the table, the protocol, the judge's reliability) and compare.png beside compare.json."""
    columns, rows = table_rows(document)
    settings = document["settings"]
    lines = [f"# Study {document['study']}", "",
             f"Methods on the `{settings['space']}` space, data `{settings['data']}`, constraints "
             f"{settings['constraints'] or 'none'}, preset `{settings['preset']}`, search seeds {settings['seeds']}.",
             f"Search budget: {_budget_text(document)}. Judgement: every chosen net and "
             f"{document['random']['n']} random nets under the same constraints retrained from scratch with one "
             "recipe, test accuracy on the official test set. p: " + document["test"] + ". Detectable difference: "
             "the shift above the random archs that the test finds 80% of the time at the strictest Holm level.",
             "", judge_text(document), "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    warned = [(row["method"], w) for row in document["methods"] for w in row.get("warnings") or ()]
    if warned:
        lines += ["", "Warnings from the searches:", *[f"- {method}: {w}" for method, w in dict(warned).items()]]
    lines += ["", f"![judged accuracy against search CPU time]({COMPARE_PNG})", ""]
    atomic_write_text(directory / COMPARE_MD, "\n".join(lines))
    plot_study(document, directory / COMPARE_PNG)


def _budget_text(document: Mapping[str, Any]) -> str:
    targets = [t for t in document.get("cpu_budget_targets") or () if t is not None]
    given = document["settings"]["budgets"]
    parts = []
    if targets:
        parts.append(", ".join(f"{t:g}" for t in targets) + " CPU-seconds per search (each method's budget read off "
                     "a line through two pilot searches)")
    if given:
        parts.append("given budgets " + ", ".join(f"{m}={b:g}" for m, b in given.items()))
    text = "; ".join(parts)
    if any(row.get("over_budget") for row in document["methods"]):
        text += ' ("over": even the method\'s smaller pilot budget costs more than the target; it ran at that budget)'
    return text


def plot_study(document: Mapping[str, Any], path: Path) -> None:
    """The anytime plot: judged test accuracy (mean, 95% CI over searches) against search CPU-seconds, one line per
    method through its targets; the random archs as a band (10-90%), their median and a strip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    random = [v for v in document["random"]["test_accuracies"] if v is not None]
    if random:
        low, high = np.quantile(random, [0.1, 0.9])
        ax.axhspan(100 * low, 100 * high, color="0.88", label="random archs, 10-90%")
        ax.axhline(100 * float(np.median(random)), color="0.5", lw=1, ls="--", label="random archs, median")
    methods = list(dict.fromkeys(row["method"] for row in document["methods"]))
    for index, method in enumerate(methods):
        points = sorted((row["search_cpu_seconds"], row["test_accuracy_mean"], row["test_accuracy_ci95"] or 0.0)
                        for row in document["methods"]
                        if row["method"] == method and row["test_accuracy_mean"] is not None
                        and row["search_cpu_seconds"] is not None)
        if not points:
            continue
        x, y, ci = (np.array(v, dtype=float) for v in zip(*points))
        ax.errorbar(x, 100 * y, yerr=100 * ci, fmt="o-", capsize=3, lw=1.2, ms=4, label=method,
                    color=f"C{index % 10}")
    if len({row.get("cpu_budget_target") for row in document["methods"]}) > 1:
        ax.set_xscale("log")
    ax.set_xlabel("search CPU-seconds")
    ax.set_ylabel("test acc. (%) after retraining")
    ax.set_title(f"study {document['study']}")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path_tmp = path.with_suffix(".tmp.png")
    fig.savefig(path_tmp, dpi=120)
    plt.close(fig)
    path_tmp.replace(path)


def print_table(document: Mapping[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    columns, rows = table_rows(document)
    table = Table(title=f"study {document['study']}: test accuracy after retraining, against random archs")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(judge_text(document))


__all__ = ["COMPARE_MD", "COMPARE_PNG", "judge_text", "print_table", "table_rows", "write_study_report"]
