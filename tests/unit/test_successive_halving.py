"""Successive halving for searches that train from scratch: Optuna's promotion rule as ASHA defines it, rungs that
retrain from one seed, a pruned candidate that never trains on, and a resume that decides as an uninterrupted run."""

from __future__ import annotations

import numpy as np
import pytest

from archsearch.errors import ConfigError
from archsearch.executors.local import LocalExecutor
from archsearch.experiment.testing import MemoryContext, SimulatedCrash
from archsearch.search.successive_halving import SuccessiveHalving, rung_epochs
from archsearch.spaces import create_space
from archsearch.train.task import EvalResult


def test_rungs_grow_by_eta_up_to_the_full_length():
    assert rung_epochs(1, 4, 16) == [1, 4, 16]
    assert rung_epochs(1, 3, 10) == [1, 3, 9, 10]
    assert rung_epochs(2, 2, 2) == [2]
    with pytest.raises(ConfigError):
        rung_epochs(1, 1, 4)


def _asha_promotes(value: float, earlier: list[float], eta: int) -> bool:
    """ASHA's rule (Li et al. 2020, Algorithm 2, as Optuna runs it without suspending trials): a value is promoted
    when it is among the top floor(n / eta) of the n values its rung has seen, itself included; while n < eta,
    only the best so far is."""
    values = sorted(earlier + [value], reverse=True)
    keep = max(len(values) // eta, 1)
    return value >= values[keep - 1]


def test_promotions_follow_the_asha_rule_rung_by_rung():
    rng = np.random.default_rng(0)
    halving = SuccessiveHalving(min_epochs=1, reduction_factor=2, max_epochs=4)
    seen: dict[int, list[float]] = {1: [], 2: []}
    promoted_total = 0
    for candidate in range(40):
        epochs = 1
        while True:
            value = float(rng.random()) + 0.1 * epochs
            promoted = halving.report(candidate, epochs, value)
            if epochs == 4:
                assert not promoted
                break
            assert promoted == _asha_promotes(value, seen[epochs], 2), (candidate, epochs)
            seen[epochs].append(value)
            if not promoted:
                break
            promoted_total += 1
            epochs = halving.next_rung(epochs)
    # every candidate reached rung 1; each promotion from it is one report at rung 2
    assert 0 < len(seen[2]) < len(seen[1]) == 40 and promoted_total >= len(seen[2])


def test_a_replayed_state_decides_as_the_original():
    rng = np.random.default_rng(1)
    reports = [(c, 1, float(rng.random())) for c in range(12)]
    original = SuccessiveHalving(1, 3, 9)
    for report in reports:
        original.report(*report)
    replayed = SuccessiveHalving(1, 3, 9)
    replayed.load_state_dict(original.state_dict())
    for value in rng.random(10):
        candidate = 100 + len(original.state_dict()["reports"])
        assert original.report(candidate, 1, float(value)) == replayed.report(candidate, 1, float(value))


# -- in a search (training replaced by a toy accuracy, so the loop itself is tested exactly) -------------------------
def _toy_accuracy(arch: dict, epochs: int) -> float:
    """Grows with the epochs; the architectures keep one order at every length."""
    score = sum(hash(str(v)) % 97 for v in arch.values()) / (97 * len(arch))
    return score * (1 - 0.5 ** epochs)


TRAININGS: list[tuple[str, int, int]] = []  # (arch, epochs, seed) of every training


def _toy_eval(task):
    TRAININGS.append((str(sorted(task.arch.items())), task.epochs, task.seed))
    value = _toy_accuracy(task.arch, task.epochs)
    return EvalResult([{"val_accuracy": value}] * task.epochs, value, None, 0, 0, 0.0)


@pytest.fixture()
def toy_training(monkeypatch):
    import archsearch.methods.evolution as evolution_method

    TRAININGS.clear()
    monkeypatch.setattr(evolution_method, "run_eval_task", _toy_eval)


def _search(ctx, **changes):
    from archsearch.methods.evolution import HierarchicalEvolution, RandomSearchConfig

    values = dict(population=8, evaluations=24, epochs=4, successive_halving=True, min_epochs=1,
                  reduction_factor=2, in_flight=3)
    values.update(changes)
    return HierarchicalEvolution(RandomSearchConfig(**values), ctx)


def _context(seed=0, crash_after=None, ledger=None):
    return MemoryContext(create_space("mobilenet", preset="smoke"), seed=seed, crash_after=crash_after,
                         ledger=ledger, executor=LocalExecutor(1),
                         space_spec={"name": "mobilenet", "options": {"preset": "smoke"}})


def test_random_search_with_successive_halving_trains_the_best_longest(toy_training):
    ctx = _context()
    method = _search(ctx)
    result = method.run()
    states = [p["status"] for p in method.proposals]
    assert len(states) == 24 and set(states) == {"complete", "pruned"} and result.extra["pruned"] == states.count(
        "pruned")
    # each candidate trains once per rung it reached, from its own seed; a pruned one never trains on
    per_arch: dict[str, list[tuple[int, int]]] = {}
    for arch, epochs, seed in TRAININGS:
        per_arch.setdefault(arch, []).append((epochs, seed))
    for proposal in method.proposals:
        runs = per_arch[str(sorted(proposal["arch"].items()))]
        assert [e for e, _ in runs] == [1, 2, 4][:len(runs)] and len({s for _, s in runs}) == 1
        assert (runs[-1][0] == 4) == (proposal["status"] == "complete")
    assert len(TRAININGS) < 24 * 3  # fewer trainings than every candidate at every rung
    complete = [p for p in method.proposals if p["status"] == "complete"]
    assert result.best.objectives["accuracy"] == max(p["fitness"] for p in complete)
    trials = {t.key: t for t in ctx.ledger.trials()}
    for proposal in method.proposals:
        trial = trials[proposal["key"]]
        assert trial.state == proposal["status"] and max(trial.per_epoch) == proposal["epochs"]


def test_a_resumed_search_with_successive_halving_equals_an_uninterrupted_one(toy_training):
    full_ctx = _context(seed=3)
    full = _search(full_ctx).run()
    crashed_ctx = _context(seed=3, crash_after=11)
    with pytest.raises(SimulatedCrash):
        _search(crashed_ctx).run()
    resumed_ctx = _context(seed=3, ledger=crashed_ctx.ledger)
    method = _search(resumed_ctx)
    method.load_state_dict(crashed_ctx.latest())
    result = method.run()
    assert result.best == full.best and result.pareto_front == full.pareto_front
    assert [(t.key, t.state, t.per_epoch) for t in resumed_ctx.ledger.trials()] == \
        [(t.key, t.state, t.per_epoch) for t in full_ctx.ledger.trials()]


def test_successive_halving_needs_room_for_two_rungs():
    from archsearch.methods.evolution import RandomSearchConfig

    with pytest.raises(ConfigError, match="epochs"):
        RandomSearchConfig(successive_halving=True, epochs=1, min_epochs=1)


def test_a_study_compares_a_method_with_its_variant():
    from archsearch.experiment.study import _budget_field, method_variant, resolve_study, split_methods

    entries = split_methods("random, random[successive_halving=true,epochs=4,recipe={lr: 0.05, batch_size: 32}]")
    assert entries == ["random", "random[successive_halving=true,epochs=4,recipe={lr: 0.05, batch_size: 32}]"]
    assert method_variant(entries[1]) == ("random", {"successive_halving": True, "epochs": 4,
                                                     "recipe": {"lr": 0.05, "batch_size": 32}})
    settings = resolve_study(",".join(entries[:1] + ["random[successive_halving=true,epochs=4]"]), name="v",
                             preset="smoke", data="digits")
    assert settings.methods == ["random", "random[successive_halving=true,epochs=4]"]
    assert _budget_field(settings.methods[1], "smoke")[0] == "evaluations"
    with pytest.raises(ConfigError, match="epochs"):  # the variant's options are checked before the study starts
        resolve_study("random[successive_halving=true]", name="w", preset="smoke", data="digits")
