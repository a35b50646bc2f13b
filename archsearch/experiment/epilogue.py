"""What a run adds to a method's result once its search ends, before the final training: a warning when the
search's estimates sat at chance, a study's proxy scores, and the chosen net's latency measured end to end. `run` is
the `archsearch.experiment.experiment.Experiment`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from archsearch.methods import SearchResult
from archsearch.spaces import LatencyCostedSpace


def after_search(run: Any, method: Any, result: SearchResult) -> SearchResult:
    return with_measured_latency(run, method, with_proxy_scores(run, method, with_chance_warning(run, result)))


def with_chance_warning(run: Any, result: SearchResult) -> SearchResult:
    """Name a search whose proxy could not tell architectures apart: the median estimate over the candidates it
    recorded (the chosen one's alone, a maximum over noisy estimates, sits above chance even on noise) is within
    a tenth of the way from chance to perfect: a supernet trained for a few dozen steps, candidates trained on
    a handful of images. The search then chose at random, and the user is told so, with what to change."""
    estimates = [t.values.get("accuracy") for t in run.ledger.trials(state="complete")] if run.main else []
    estimates = [v for v in estimates if v is not None and math.isfinite(v)]
    if not estimates:
        estimates = [result.best.objectives.get("accuracy", math.nan)]
    estimate = float(np.median(estimates))
    classes = run.splits().num_classes
    chance = 1.0 / classes
    if not math.isfinite(estimate) or estimate >= chance + 0.1 * (1 - chance):
        return result
    label = run.accuracy["label"]
    what = "the supernet is" if run.accuracy["kind"] == "supernet" else "the search's estimate is"
    counted = (f"the median {label} of its {len(estimates)} candidates" if len(estimates) > 1
               else f"the chosen arch's {label}")
    warning = (f"{what} at chance level: {counted} is {100 * estimate:.1f}% against {100 * chance:.1f}% for "
               f"guessing among {classes} classes, so the search chose at random; raise the budget (--budget) "
               "or give it more data")
    run.log(f"warning: {warning}")
    return dataclasses.replace(result, extra={**result.extra,
                                              "warnings": [*result.extra.get("warnings", []), warning]})


def with_proxy_scores(run: Any, method: Any, result: SearchResult) -> SearchResult:
    """A study's proxy tau: the method's own estimate (its `proxy_accuracy`) of the architectures the run was given
    as `proxy_archs`, scored at the end of the search, outside its clock, into ``extra.proxy``."""
    archs = run.settings.proxy_archs
    score = getattr(method, "proxy_accuracy", None)
    if not archs or score is None:
        return result
    scores = score([run.space.space.validate(arch) for arch in archs])
    proxy = {"kind": run.accuracy["label"],
             "scores": None if scores is None else [None if v is None else float(v) for v in scores]}
    return dataclasses.replace(result, extra={**result.extra, "proxy": proxy})


def with_measured_latency(run: Any, method: Any, result: SearchResult) -> SearchResult:
    """A search under a ``latency<=`` constraint, or one that costed its space by a table itself (GreedyNAS's
    latency objective): the chosen net timed end-to-end as its table was measured (runtime, threads, clock,
    batch), beside the table's prediction, in ``extra`` and the log. A method that timed it itself (ProxylessNAS)
    has done so already."""
    costed = [s for s in (run.space, getattr(method, "space", None)) if isinstance(s, LatencyCostedSpace)]
    if not costed or result.extra.get("measured_latency_ms") is not None:
        return result
    from archsearch.cost.latency import measure_network, predict_latency, table_timing

    table = costed[0].latency_table
    timing = table_timing(table)
    measured = measure_network(run.space, result.best.arch, table, device=run.latency_device())
    predicted = float(predict_latency(table, result.best.arch))
    run.log(f"chosen arch: latency {predicted:.4g} ms by the table, {measured:.4g} ms measured "
            f"({timing['runtime']}, {timing['threads']} thread(s), {timing['clock']} clock)")
    return dataclasses.replace(result, extra={**result.extra, "measured_latency_ms": measured,
                                              "table_latency_ms": predicted, "latency_runtime": timing["runtime"],
                                              "latency_threads": timing["threads"]})


__all__ = ["after_search", "with_chance_warning", "with_measured_latency", "with_proxy_scores"]
