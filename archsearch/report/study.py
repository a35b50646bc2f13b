"""A comparison study's readable outputs: the terminal table, compare.md and compare.png (test accuracy after
retraining against search CPU-seconds, with the random archs as a band and a strip)."""

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


def table_rows(document: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    columns = ["method", "test acc. % (mean ± 95% CI)", "n", "MACs", "params", "search CPU-s",
               "percentile vs random", "p vs random"]
    rows = []
    for row in document["methods"]:
        broken = sum(not ok for ok in row.get("meets_constraints", ()))
        rows.append([row["method"] + (f" ({broken} of {len(row['meets_constraints'])} break the constraints)"
                                      if broken else ""), _pct(row["test_accuracy_mean"], row["test_accuracy_ci95"]),
                     str(row["test_accuracy_n"]), f"{row['macs'] / 1e6:.2f}M", f"{row['params'] / 1e3:.1f}k",
                     f"{row['search_cpu_seconds']:.1f}" + (" (over)" if row.get("over_budget") else ""),
                     "-" if row["percentile_vs_random"] is None else f"{row['percentile_vs_random']:.0f}",
                     "-" if row["p_value_vs_random"] is None else f"{row['p_value_vs_random']:.3f}"])
    random = document["random"]
    rows.append([f"random archs (K={random['n']})", _pct(random["mean"], random["ci95"]), str(random["n"]),
                 "-", "-", "0", "-", "-"])
    return columns, rows


def write_study_report(directory: Path, document: Mapping[str, Any]) -> None:
    """compare.md (the table, the protocol in two sentences) and compare.png beside the study's compare.json."""
    columns, rows = table_rows(document)
    settings = document["settings"]
    lines = [f"# Study {document['study']}", "",
             f"Methods on the `{settings['space']}` space, data `{settings['data']}`, constraints "
             f"{settings['constraints'] or 'none'}, preset `{settings['preset']}`, search seeds {settings['seeds']}.",
             f"Search budget: {_budget_text(document)}. Judgement: every chosen net "
             f"and {document['random']['n']} random nets under the same constraints retrained from scratch with one "
             "recipe, test accuracy on the official test set. p: " + document["test"] + ".", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", f"![test accuracy against search CPU time]({COMPARE_PNG})", ""]
    atomic_write_text(directory / COMPARE_MD, "\n".join(lines))
    plot_study(document, directory / COMPARE_PNG)


def _budget_text(document: Mapping[str, Any]) -> str:
    target = document["cpu_budget_target"]
    given = document["settings"]["budgets"]
    parts = [f"{target:.0f} CPU-seconds per search (each method's budget read off a line through two pilot searches)"] \
        if target is not None else []
    if given:
        parts.append("given budgets " + ", ".join(f"{m}={b:g}" for m, b in given.items()))
    text = "; ".join(parts)
    if any(row.get("over_budget") for row in document["methods"]):
        text += ' ("over": even the method\'s smaller pilot budget costs more than the target; it ran at that budget)'
    return text


def plot_study(document: Mapping[str, Any], path: Path) -> None:
    """Test accuracy (mean, 95% CI) against search CPU-seconds; the random archs as a band (10-90%) and strip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    random = document["random"]["test_accuracies"]
    if random:
        low, high = np.quantile(random, [0.1, 0.9])
        ax.axhspan(100 * low, 100 * high, color="0.85", label="random archs, 10-90%")
        ax.axhline(100 * float(np.median(random)), color="0.5", lw=1, ls="--", label="random archs, median")
        ax.plot(np.zeros(len(random)), 100 * np.asarray(random), "_", color="0.4", ms=12)
    for row in document["methods"]:
        if row["test_accuracy_mean"] is None:
            continue
        ax.errorbar(row["search_cpu_seconds"], 100 * row["test_accuracy_mean"],
                    yerr=100 * (row["test_accuracy_ci95"] or 0.0), fmt="o", capsize=4, label=row["method"])
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
    Console().print(table)


__all__ = ["COMPARE_MD", "COMPARE_PNG", "print_table", "table_rows", "write_study_report"]
