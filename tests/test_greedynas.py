"""GreedyNAS: candidate pool, eps schedule, rejection, pool early stop, NSGA-II seeding, exact resume."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archsearch.errors import ConfigError, UsageError
from archsearch.search.candidate_pool import (CandidatePool, PoolEarlyStop, linear_eps, pool_difference)
from archsearch.space import Arch, Categorical, Space


def _arch(i: int) -> Arch:
    return Arch({"a": i})


# -- candidate pool -------------------------------------------------------------------------------------------------
def test_pool_keeps_exactly_the_best_n():
    pool = CandidatePool(3)
    scores = [5.0, 1.0, 4.0, 3.0, 2.0, 6.0]
    for i, s in enumerate(scores):
        pool.push(_arch(i), s)
    assert [e.arch["a"] for e in pool.entries()] == [1, 4, 3]
    assert [e.score for e in pool.entries()] == [1.0, 2.0, 3.0]
    assert len(pool) == 3


def test_pool_refreshes_the_score_of_a_path_already_in_it():
    pool = CandidatePool(3)
    for i, s in enumerate([1.0, 2.0, 3.0]):
        pool.push(_arch(i), s)
    assert pool.push(_arch(0), 2.5)  # worse than before: refreshed, not kept at the old 1.0
    assert [(e.arch["a"], e.score) for e in pool.entries()] == [(1, 2.0), (0, 2.5), (2, 3.0)]
    assert pool.push(_arch(2), 0.5)  # better: moves to the front
    assert [(e.arch["a"], e.score) for e in pool.entries()] == [(2, 0.5), (1, 2.0), (0, 2.5)]
    assert len(pool) == 3
    assert not pool.push(_arch(9), 2.5)  # a tie with the worst does not evict it (the earlier one stays)
    assert pool.push(_arch(9), 2.4)
    assert [e.arch["a"] for e in pool.entries()] == [2, 1, 9]


def test_pool_sample_top_and_state_round_trip():
    pool = CandidatePool(4)
    for i, s in enumerate([3.0, 1.0, float("nan"), 2.0, 0.5]):
        pool.push(_arch(i), s)
    assert pool.top(2) == [_arch(4), _arch(1)]
    assert math.isinf(pool.entries()[-1].score) is False  # the nan path (scored inf) was evicted by a better one
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    copy = CandidatePool(1)
    copy.load_state_dict(pool.state_dict())
    assert copy.entries() == pool.entries()
    assert [pool.sample(rng_a) for _ in range(10)] == [copy.sample(rng_b) for _ in range(10)]
    assert set(pool.sample(np.random.default_rng(i)) for i in range(50)) <= set(pool.top(4))
    with pytest.raises(ConfigError):
        CandidatePool(0)


# -- eps schedule ---------------------------------------------------------------------------------------------------
def test_eps_grows_linearly_from_0_to_0_8():
    values = [linear_eps(i, 5) for i in range(5)]
    assert values == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert linear_eps(10, 5) == pytest.approx(0.8)
    assert linear_eps(0, 1) == pytest.approx(0.8)


# -- pool difference and early stop --------------------------------------------------------------------------------
def test_pool_difference_metrics():
    assert pool_difference(["a", "b", "c", "d"], ["a", "b", "x", "y"]) == 0.5
    assert pool_difference(["b", "a", "c", "d"], ["a", "b", "c", "d"]) == 0.0
    assert pool_difference(["b", "a", "c", "d"], ["a", "b", "c", "d"], "rank") == 0.5
    with pytest.raises(UsageError):
        pool_difference(["a"], ["a"], "jaccard")


def test_early_stop_fires_on_a_constructed_pool_sequence_and_not_before():
    """A pool of 25: the first checks see 5, 3, 2 new paths (0.2, 0.12, 0.08: not below 0.08), then 1 (0.04)."""
    pool = CandidatePool(25)
    stop = PoolEarlyStop(every=2, threshold=0.08)
    next_id = 0
    for _ in range(25):  # fill the pool with scores 100, 99, ...
        pool.push(_arch(next_id), 100.0 - next_id)
        next_id += 1
    assert stop.update(1, pool) is None  # not a check iteration
    assert stop.update(2, pool) is None  # first check: only a snapshot
    fired = []
    for check, n_new in enumerate([5, 3, 2, 1, 0], start=2):
        for _ in range(n_new):  # each new path beats every pool member, evicting the worst
            pool.push(_arch(next_id), -float(next_id))
            next_id += 1
        difference = stop.update(2 * check, pool)
        assert difference == pytest.approx(n_new / 25)
        fired.append(stop.fired)
    assert fired == [False, False, False, True, True]
    assert stop.fired_at == 10
    restored = PoolEarlyStop(every=2)
    restored.load_state_dict(stop.state_dict())
    assert restored.history == stop.history and restored.fired_at == 10


def test_early_stop_ignores_a_pool_that_is_not_full():
    pool = CandidatePool(10)
    stop = PoolEarlyStop(every=1, threshold=0.5)
    pool.push(_arch(0), 1.0)
    stop.update(1, pool)
    assert stop.update(2, pool) is None and not stop.fired


# -- NSGA-II engine -------------------------------------------------------------------------------------------------
from archsearch.search.nsga2 import ArchNSGA2  # noqa: E402

_TOY = Space({f"b{i}": Categorical(["k3", "k5", "k7", "skip"]) for i in range(6)}, name="toy")
_WEIGHT = {"k3": 1.0, "k5": 2.0, "k7": 3.0, "skip": 0.0}


def _toy_accuracy(arch: Arch) -> float:  # bigger ops are better, with diminishing returns per block
    return sum(math.sqrt(_WEIGHT[v]) for v in arch.values()) / (6 * math.sqrt(3))


def _toy_cost(arch: Arch) -> float:
    return sum(_WEIGHT[v] for v in arch.values())


def _toy_engine(seed: int, calls: list, initial=(), generations=4) -> ArchNSGA2:
    def evaluate(arch: Arch) -> float:
        calls.append(arch)
        return _toy_accuracy(arch)

    return ArchNSGA2(_TOY, evaluate=evaluate, cost=_toy_cost, violation=lambda a: _toy_cost(a) - 12.0,
                     rng=np.random.default_rng(seed), pop_size=8, generations=generations, initial=initial)


def test_nsga2_first_population_starts_with_the_pool_top_and_respects_constraints():
    pool = CandidatePool(20)
    rng = np.random.default_rng(0)
    for i in range(20):
        pool.push(_TOY.sample(rng, where=lambda a: _toy_cost(a) <= 12), float(i))
    calls: list = []
    engine = _toy_engine(1, calls, initial=pool.top(5))
    assert engine.first_population[:5] == pool.top(5) and len(engine.first_population) == 8
    engine.step()  # generation 0: the initial population is evaluated as given
    assert calls[:5] == pool.top(5)
    assert all(_toy_cost(a) <= 12 for a in engine.first_population)
    front = engine.run()
    assert len(calls) == len(set(calls)) == sum(e.feasible for e in engine.evaluated.values())  # once, feasible only
    assert all(_toy_cost(e.arch) <= 12 for e in front)
    feasible = [e for e in engine.evaluated.values() if e.feasible]
    for e in feasible:  # a front member is dominated by nothing; everything else is dominated by a member
        dominated = any(o.accuracy >= e.accuracy and o.cost <= e.cost and (o.accuracy, o.cost) != (e.accuracy, e.cost)
                        for o in feasible)
        assert dominated == (e not in front)
    assert [e.cost for e in front] == sorted(e.cost for e in front)
    assert engine.generation == 5


def test_nsga2_resume_after_a_generation_equals_an_uninterrupted_run():
    full = _toy_engine(7, [])
    full.run()
    interrupted_calls: list = []
    first = _toy_engine(7, interrupted_calls)
    first.step()
    first.step()
    state = first.state_dict()
    resumed_calls: list = []
    second = _toy_engine(999, resumed_calls)  # a different seed: everything must come from the state
    second.load_state_dict(state)
    second.run()
    assert [e.arch for e in second.evaluated.values()] == [e.arch for e in full.evaluated.values()]
    assert second.population() == full.population()
    assert len(interrupted_calls) + len(resumed_calls) == len(full.evaluated) - sum(
        not e.feasible for e in full.evaluated.values())
