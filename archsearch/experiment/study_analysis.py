"""A study's statistics: per target and method, the searches' judged accuracies against the random archs'
(one-sided Mann-Whitney U, Holm over the methods, the smallest difference the test could detect), each method's
proxy tau, and the judge's own reliability (seed-to-seed and reference Kendall tau, the architecture's share of
the variance)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from archsearch.experiment.study_settings import ALPHA, POWER, PROTOCOL, StudySettings, _over_budget, search_key


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment (Holm 1979) of a family of p-values (None: not tested, not counted): the i-th
    smallest of m is multiplied by m - i, made monotone, capped at 1. It controls the family-wise error rate, as
    Bonferroni does, and rejects at least as often."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def detectable_difference(n_method: int, n_random: int, sd: float, *, alpha: float, power: float = POWER,
                          sims: int = 4000) -> float | None:
    """The smallest shift of a method's judged accuracies above the random archs' that the one-sided Mann-Whitney
    U test at level `alpha` finds with probability `power`, for normal accuracies of standard deviation `sd`
    (the random archs' spread); None when no shift up to 10 sd is found that often (too few searches). Simulated
    with a fixed seed (scipy's exact test for these sizes), so the figure is the same every time."""
    from scipy import stats

    if n_method < 1 or n_random < 2 or not sd > 0:
        return None
    rng = np.random.default_rng(0)
    noise_method = rng.standard_normal((sims, n_method))
    noise_random = rng.standard_normal((sims, n_random))
    for shift in np.arange(0.0, 10.01, 0.05):
        p = stats.mannwhitneyu(noise_method + shift, noise_random, alternative="greater", axis=1).pvalue
        if float(np.mean(p < alpha)) >= power:
            return float(shift * sd)
    return None


def _kendall(a: Sequence[float | None], b: Sequence[float | None]) -> float | None:
    from scipy import stats

    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if len(pairs) < 3:
        return None
    tau = stats.kendalltau(*zip(*pairs)).statistic
    return None if not math.isfinite(tau) else float(tau)


def judge_reliability(results: Mapping[str, float], k: int, n_reference: int) -> dict[str, Any]:
    """How far the judge ranks architectures rather than seeds: Kendall tau between the random archs' two
    retraining seeds and between their first seed and the longer reference training; the variance split of the
    one-way random-effects model (two seeds per arch: seed variance = mean within-pair variance, arch variance =
    (between-arch mean square - seed variance) / 2)."""
    first = [results.get(f"random/{i}/r0") for i in range(k)]
    second = [results.get(f"random/{i}/r1") for i in range(k)]
    reference = [results.get(f"reference/{i}") for i in range(n_reference)]
    block: dict[str, Any] = {"tau_seed_to_seed": _kendall(first, second),
                             "tau_vs_reference": _kendall(first[:n_reference], reference),
                             "n": k, "n_reference": n_reference}
    pairs = np.array([(a, b) for a, b in zip(first, second) if a is not None and b is not None])
    if len(pairs) >= 3:
        within = float(np.mean((pairs[:, 0] - pairs[:, 1]) ** 2 / 2))
        between = float(2 * np.var(pairs.mean(axis=1), ddof=1))
        arch = max((between - within) / 2, 0.0)
        block.update(arch_sd=math.sqrt(arch), seed_sd=math.sqrt(within),
                     arch_share=arch / (arch + within) if arch + within > 0 else 0.0)
    return block


def analyse(settings: StudySettings, state: Mapping[str, Any], results: Mapping[str, float], *,
            cost_of: Callable[[Mapping[str, Any]], Any]) -> dict[str, Any]:
    """The study's tables: per target and method, the judged accuracy of each search against the random archs.

    The unit is a search: its judged accuracy is the mean of its R retrainings, and a random arch's the mean of its
    two, so both carry the same seed noise. Significance: one-sided Mann-Whitney U (scipy.stats.mannwhitneyu,
    alternative="greater") of the searches' accuracies against the random archs', rank-based; Holm-adjusted over
    the methods at each target. Proxy tau: Kendall tau between a search's proxy scores of the random archs and
    their judged accuracies, averaged over the searches that scored them.
    """
    from scipy import stats

    from archsearch.cost.constraints import parse_constraints, satisfied
    from archsearch.tasks.final import mean_ci95

    constraints = parse_constraints(settings.constraints)
    k, n_reference = settings.judge("random_archs"), settings.judge("reference_archs")
    random_means = []
    for i in range(k):
        values = [results[key] for key in (f"random/{i}/r0", f"random/{i}/r1") if key in results]
        random_means.append(float(np.mean(values)) if values else None)
    random_values = [v for v in random_means if v is not None]
    random_sd = float(np.std(random_values, ddof=1)) if len(random_values) >= 2 else 0.0
    retrains = settings.judge("retrain_seeds")
    rows = []
    targets = state.get("targets") or {}
    for label, per_method in targets.items():
        target = None if label == "given" else float(label)
        target_rows = []
        for method in settings.methods:
            if method not in per_method:
                continue
            budget = per_method[method]
            keys = [search_key(method, budget, seed) for seed in range(settings.seeds)]
            searches = [state["searches"][key] for key in keys if key in state["searches"]]
            per_search = [[results[f"chosen/{key}/r{r}"] for r in range(retrains) if f"chosen/{key}/r{r}" in results]
                          for key in keys if key in state["searches"]]
            values = [float(np.mean(v)) for v in per_search if v]
            row: dict[str, Any] = {"method": method, "cpu_budget_target": target, "budget": budget,
                                   "search_accuracies": values, "test_accuracies": [a for v in per_search for a in v],
                                   "test_accuracy_n": len(values),
                                   "search_cpu_seconds": float(np.mean([s["cpu_seconds"] for s in searches]))
                                   if searches else None,
                                   "search_cpu_seconds_each": [s["cpu_seconds"] for s in searches],
                                   "over_budget": _over_budget(state.get("pilots", {}).get(method), target),
                                   "archs": [s["arch"] for s in searches],
                                   "warnings": sorted({w for s in searches for w in s.get("warnings") or ()})}
            costs = [cost_of(s["arch"]) for s in searches]
            # DARTS and Fair DARTS know no constraint (as in their papers): a chosen net that breaks one is named
            row["meets_constraints"] = [bool(satisfied(constraints, c)) for c in costs]
            row["macs"] = float(np.mean([c.macs for c in costs])) if costs else None
            row["params"] = float(np.mean([c.params for c in costs])) if costs else None
            each = [_kendall(s["proxy_scores"], random_means) for s in searches if s.get("proxy_scores")]
            taus = [t for t in each if t is not None]
            row["proxy_tau"] = float(np.mean(taus)) if taus else None
            row["proxy_tau_each"] = taus
            row["proxy_kind"] = next((s.get("proxy_kind") for s in searches if s.get("proxy_kind")), None)
            if values:
                mean, ci95 = mean_ci95(values)
                row["test_accuracy_mean"], row["test_accuracy_ci95"] = mean, ci95 or 0.0
                row["percentile_vs_random"] = (float(stats.percentileofscore(random_values, mean, kind="mean"))
                                               if random_values else None)
                row["p_value_vs_random"] = (float(stats.mannwhitneyu(values, random_values,
                                                                     alternative="greater").pvalue)
                                            if len(random_values) >= 2 else None)
            else:
                row.update(test_accuracy_mean=None, test_accuracy_ci95=None, percentile_vs_random=None,
                           p_value_vs_random=None)
            target_rows.append(row)
        for row, adjusted in zip(target_rows, holm([r["p_value_vs_random"] for r in target_rows])):
            row["p_value_holm"] = adjusted
        family = sum(r["p_value_vs_random"] is not None for r in target_rows)
        for row in target_rows:  # the strictest Holm level: what the best method must reach
            row["detectable_difference"] = detectable_difference(
                row["test_accuracy_n"], len(random_values), random_sd, alpha=ALPHA / max(family, 1))
        rows += target_rows
    random_mean, random_ci = mean_ci95(random_values)
    return {"study": settings.name, "settings": dataclasses.asdict(settings), "protocol": PROTOCOL,
            "cpu_budget_targets": [None if label == "given" else float(label) for label in targets],
            "pilots": dict(state.get("pilots", {})), "methods": rows,
            "judge": {**judge_reliability(results, k, n_reference), "epochs": settings.judge("final_epochs"),
                      "reference_epochs": settings.judge("reference_epochs")},
            "random": {"test_accuracies": random_means, "n": len(random_values),
                       "each_seed": [[results.get(f"random/{i}/r{r}") for r in (0, 1)] for i in range(k)],
                       "reference": [results.get(f"reference/{i}") for i in range(n_reference)],
                       "mean": random_mean, "ci95": random_ci or 0.0, "sd": random_sd,
                       "quantiles": ({q: float(np.quantile(random_values, q / 100)) for q in (10, 50, 90)}
                                     if random_values else {})},
            "test": "one-sided Mann-Whitney U, the searches' judged accuracies > the random archs' (each the mean "
                    "of its retrainings); Holm-adjusted over the methods at each budget",
            "finished": _dt.datetime.now().isoformat(timespec="seconds")}


__all__ = ["analyse", "detectable_difference", "holm", "judge_reliability"]
