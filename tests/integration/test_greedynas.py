"""GreedyNAS: candidate pool, eps schedule, rejection, pool early stop, NSGA-II seeding, exact resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from archsearch.errors import ConfigError, UsageError
from archsearch.experiment.testing import MemoryContext, MemoryLedger, SimulatedCrash
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


# -- the method on a toy weight-sharing space (no mobilenet / experiment layer needed) ------------------------------
import copy  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from archsearch.cost.constraints import Cost, parse_constraint  # noqa: E402
from archsearch.data.splits import TensorPair  # noqa: E402
from archsearch.methods.greedynas import (GreedyNAS, GreedyNASConfig, SPOSConfig, constraint_violation,  # noqa: E402
                                          select_lowest)
from archsearch.supernet import MixedOp, set_path  # noqa: E402
from archsearch.train import batch_statistics  # noqa: E402
from support import PathToySpace, toy_splits  # noqa: E402

_OPS = {"c3": 3, "c5": 5, "skip": 0}


def _conv(k: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 4, k, padding=k // 2, bias=False), nn.BatchNorm2d(4), nn.ReLU())


class _ToySpace(PathToySpace):
    """Two searchable blocks on 1x8x8 images: enough to exercise every mechanism in milliseconds."""
    space = Space({"b0": Categorical(list(_OPS)), "b1": Categorical(list(_OPS)), "b2": Categorical(list(_OPS))},
                  name="toy")

    def supernet(self) -> nn.Module:
        blocks = [MixedOp(f"b{i}", {v: (_conv(k) if k else nn.Identity()) for v, k in _OPS.items()})
                  for i in range(3)]
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), *blocks,
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def cost(self, arch: Arch) -> Cost:
        macs = 8 * 8 * 4 * 9 + sum(8 * 8 * 16 * _OPS[v] ** 2 for v in arch.values())
        return Cost(macs=macs, params=100 + sum(16 * _OPS[v] ** 2 for v in arch.values()))



def _toy_context(run_dir: Path, crash_after: int | None = None, constraints=()) -> MemoryContext:
    return MemoryContext(_ToySpace(), splits=toy_splits, run_dir=run_dir, crash_after=crash_after,
                         constraints=constraints, ledger=MemoryLedger(("accuracy", "macs")))


def _toy_config(**changes) -> GreedyNASConfig:
    base = dict(supernet_epochs=5.0, batch_size=8, score_batch_size=16, pool_size=6, early_stop_every_epochs=1.0,
                population=4, generations=2, search_val_images=48, checkpoint_every=2)
    return GreedyNASConfig(**{**base, **changes})


def test_rejection_keeps_the_k_lowest_losses():
    paths = [_arch(i) for i in range(6)]
    assert select_lowest(paths, [0.5, 0.1, float("nan"), 0.3, 0.1, 0.9], 3) == [_arch(1), _arch(4), _arch(3)]


def test_greedy_iteration_trains_exactly_the_k_lowest_scored_paths(tmp_path, monkeypatch):
    method = GreedyNAS(_toy_config(), _toy_context(tmp_path))
    method._build()
    scored, trained = [], []
    real_scores = __import__("archsearch.methods.greedynas", fromlist=["path_losses"]).path_losses

    def spy_scores(supernet, paths, x, y):
        losses = real_scores(supernet, paths, x, y)
        scored.append(list(zip(paths, losses)))
        return losses

    monkeypatch.setattr("archsearch.methods.greedynas.path_losses", spy_scores)
    monkeypatch.setattr(method, "_train_path", lambda path: trained.append(path) or 0.0)
    method._greedy_iteration()
    assert len(scored[0]) == 10 and len(trained) == 5
    assert trained == select_lowest([p for p, _ in scored[0]], [l for _, l in scored[0]], 5)
    assert all(method.pool.entries())  # the scored paths entered the pool (best 6 of them)
    assert [e.score for e in method.pool.entries()] == sorted(l for _, l in
                                                              {p.key: (p, l) for p, l in scored[0]}.values())[:6]


def test_batch_relative_pool_scores_compare_batches_and_keep_the_same_paths():
    from archsearch.methods.greedynas import pool_scores

    easy, hard = [0.2, 0.4, 0.3], [0.9, 1.1, 1.0]  # the same three paths on an easy and on a hard batch
    assert pool_scores(easy) == easy  # the paper: the loss itself
    assert pool_scores(easy, "batch_relative") == pytest.approx([-0.1, 0.1, 0.0])
    assert pool_scores(hard, "batch_relative") == pytest.approx(pool_scores(easy, "batch_relative"))
    paths = [_arch(i) for i in range(3)]
    assert select_lowest(paths, pool_scores(hard, "batch_relative"), 2) == select_lowest(paths, hard, 2)
    assert math.isnan(pool_scores([0.1, float("nan")], "batch_relative")[1])  # a diverged path stays last
    with pytest.raises(UsageError, match="unknown pool_score 'accuracy'"):
        GreedyNASConfig(pool_score="accuracy")


def test_scoring_uses_batch_statistics_and_leaves_running_statistics_alone(tmp_path):
    net = _ToySpace().supernet()
    set_path(net, _ToySpace.space.sample(np.random.default_rng(0)))
    before = copy.deepcopy(net.state_dict())
    with batch_statistics(net):
        assert not net[0].training and net[1].training
        net(torch.randn(8, 1, 8, 8))
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) and net.training


def test_constraint_violation_is_relative_excess():
    cost = Cost(macs=150, params=10)
    assert constraint_violation([parse_constraint("flops<=100")], cost) == pytest.approx(0.5)
    assert constraint_violation([parse_constraint("flops<=300"), parse_constraint("params<=20")], cost) == -0.5
    assert constraint_violation([], cost) == 0.0


@pytest.mark.parametrize("config_cls", [GreedyNASConfig, SPOSConfig])
def test_resume_mid_training_equals_an_uninterrupted_run(tmp_path, config_cls):
    config = config_cls(**{**_toy_config().__dict__, "sampling": config_cls().sampling})
    full_ctx = _toy_context(tmp_path)
    full = GreedyNAS(config, full_ctx).run()

    crash_ctx = _toy_context(tmp_path, crash_after=2)  # dies right after the 2nd checkpoint (iteration 4)
    with pytest.raises(SimulatedCrash):
        GreedyNAS(config, crash_ctx).run()
    state = crash_ctx.latest()
    assert state["phase"] == "train" and state["iteration"] == 4
    resume_ctx = _toy_context(tmp_path)
    resumed_method = GreedyNAS(config, resume_ctx)
    resumed_method.load_state_dict(state)
    resumed = resumed_method.run()

    assert resumed.best == full.best and resumed.pareto_front == full.pareto_front
    full_state, resumed_state = full_ctx.latest(), resume_ctx.latest()
    for key, value in full_state["trainer"]["model"].items():
        assert torch.equal(value, resumed_state["trainer"]["model"][key]), key
    assert full_state["pool"] == resumed_state["pool"]
    assert full_state["search"]["evaluated"] == resumed_state["search"]["evaluated"]
    assert [r for r in full_ctx.metrics["supernet"] if r["step"] > 4] == resume_ctx.metrics["supernet"]


def test_greedy_run_logs_pool_metrics_seeds_search_from_pool_and_exports(tmp_path):
    ctx = _toy_context(tmp_path, constraints=[parse_constraint("flops<=60K")])
    method = GreedyNAS(_toy_config(), ctx)
    result = method.run()
    rows = ctx.metrics["supernet"]
    assert method.total_iterations == 8 * 5 // 5 and len(rows) == method.iteration
    assert [r["eps"] for r in rows[:2]] == pytest.approx([0.0, 0.8 / 7])
    assert any("pool_difference" in r for r in rows)
    assert method.search.first_population[:4] == method.pool.top(4)
    assert ctx.space.cost(result.best.arch).macs <= 60_000
    assert all(record.state == "complete" for record in ctx.ledger.trials())
    assert len(ctx.ledger) == sum(e.feasible for e in method.search.evaluated.values())
    assert result.weights.best == "weights/child.pt" and (tmp_path / "weights" / "child.pt").is_file()
    assert (tmp_path / result.weights.supernet).is_file()


# -- end to end on the real mobilenet smoke space, through the experiment layer -------------------------------------
def _completed_trials(run_dir: Path) -> list[tuple]:
    from archsearch.experiment.ledger import OptunaLedger, sqlite_url

    ledger = OptunaLedger(sqlite_url(run_dir / "ledger.db"), run_dir.name)
    return sorted((t.key, t.phase, json.dumps(t.arch, sort_keys=True), tuple(sorted(t.values.items())))
                  for t in ledger.trials(state="complete"))


@pytest.mark.integration
def test_mobilenet_run_crashed_mid_training_and_resumed_equals_an_uninterrupted_run(tmp_path):
    """`run_with_crash` kills the run right after its first checkpoint (iteration 2 of 3, inside supernet
    training), resumes it from the checkpoint; best arch, objectives, front, ledger and metric rows equal an
    uninterrupted run's, and everything respects the constraint."""
    from archsearch.experiment.run import run
    from archsearch.experiment.testing import run_with_crash

    options = dict(space="mobilenet", preset="smoke", data="digits", constraints=["flops<=22K"], quiet=True)
    full = run("greedynas", runs_dir=tmp_path, name="full", **options)
    resumed = run_with_crash("greedynas", 1, runs_dir=tmp_path, **options)

    assert "resumed crashed from checkpoint 1" in (tmp_path / "crashed" / "log.txt").read_text()
    assert resumed.best.arch == full.best.arch and resumed.best.objectives == full.best.objectives
    assert [(c.arch, c.objectives) for c in resumed.pareto_front] == [(c.arch, c.objectives) for c in full.pareto_front]
    assert resumed.extra == full.extra and resumed.weights == full.weights
    assert full.extra["iterations"] == 3 and full.extra["trained_path_batches"] == 15
    trials = _completed_trials(tmp_path / "full")
    assert trials == _completed_trials(tmp_path / "crashed") and 0 < len(trials) <= full.extra["evaluated"]
    # result.json names the weights and the run directory in `extra`, as it always has (export reads them there)
    assert json.loads((tmp_path / "full" / "result.json").read_text())["extra"] == {
        **full.extra, "supernet_weights": "weights/supernet.pt", "export": "weights/child.pt",
        "run_dir": str(tmp_path / "full")}
    assert full.run_dir == tmp_path / "full" and full.weights.supernet == "weights/supernet.pt"
    assert all(dict(values)["macs"] <= 22_000 for *_, values in trials)
    for series in ("supernet", "search"):
        assert (tmp_path / "full" / "metrics" / f"{series}.jsonl").read_text() == \
            (tmp_path / "crashed" / "metrics" / f"{series}.jsonl").read_text()

    from archsearch.report.methods.greedynas import plots

    written = plots(tmp_path / "full", tmp_path / "plots")  # pool evolution and the searched front
    assert sorted(p.name for p in written) == ["search_pareto.png", "supernet_pool.png"]


@pytest.mark.slow
def test_spos_run_crashed_mid_search_and_resumed_equals_an_uninterrupted_run(tmp_path):
    """SPOS on the same code path; the crash comes after NSGA-II's first generation (checkpoint 10 of 12), so the
    resumed search restores its population and reads the ledger's completed evaluations back."""
    from archsearch.experiment.run import run
    from archsearch.experiment.testing import run_with_crash

    options = dict(space="mobilenet", preset="smoke", data="digits", quiet=True)
    full = run("spos", runs_dir=tmp_path, name="full", **options)
    resumed = run_with_crash("spos", 10, runs_dir=tmp_path, **options)
    assert resumed.best.arch == full.best.arch and resumed.best.objectives == full.best.objectives
    assert full.extra["sampling"] == "uniform" and full.extra["early_stop_iteration"] is None
    assert full.extra["trained_path_batches"] == full.extra["iterations"] == 16
    assert _completed_trials(tmp_path / "full") == _completed_trials(tmp_path / "crashed")
    rows = [json.loads(line) for line in (tmp_path / "full" / "metrics" / "supernet.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and not any("pool_mean_score" in row for row in rows)


def test_latency_cost_or_constraint_wraps_the_space_with_a_lookup_table(tmp_path, monkeypatch):
    """search_cost="latency" (or a latency constraint) gives the space LUT latencies; NSGA-II then minimises them."""
    import dataclasses

    class _WithLatency:
        latency_table = "fake"

        def __init__(self, inner):
            self._inner = inner

        def cost(self, arch):
            return dataclasses.replace(self._inner.cost(arch), latency_ms=0.001 * self._inner.cost(arch).macs)

        def __getattr__(self, name):
            return getattr(self._inner, name)

    calls = []
    monkeypatch.setattr("archsearch.methods.greedynas.with_latency",
                        lambda space, **options: calls.append(options) or _WithLatency(space))
    method = GreedyNAS(_toy_config(search_cost="latency"), _toy_context(tmp_path))
    result = method.run()
    assert len(calls) == 1 and method.cost_metric == "latency_ms"
    assert result.best.objectives["latency_ms"] == pytest.approx(0.001 * result.best.objectives["macs"])
    GreedyNAS(_toy_config(), _toy_context(tmp_path, constraints=[parse_constraint("latency<=50ms")]))
    GreedyNAS(_toy_config(), _toy_context(tmp_path))
    assert len(calls) == 2


def test_a_preset_epoch_is_a_step_count_on_any_data(tmp_path):
    """A small data set is cycled: the budget trains the preset's steps, not a few dozen (quick: 382 an epoch)."""
    from archsearch.experiment.run import run

    result = run("spos", preset="smoke", data="digits", runs_dir=tmp_path, name="r", final_epochs=0,
                 steps_per_epoch=90, supernet_epochs=1.0)
    assert result.extra["trained_path_batches"] == 90  # digits' training split is 40-odd batches of 32


def test_take_steps_starts_new_passes():
    import torch

    from archsearch.data.batches import Batches, take_steps

    batches = Batches(TensorPair(torch.arange(10.0).view(10, 1), torch.arange(10)), 4, shuffle=True)
    taken = list(take_steps(batches, 7))
    assert len(taken) == 7 and sorted(int(y) for x, y in taken[:3] for y in y) == list(range(10))
    assert list(take_steps(Batches(TensorPair(torch.zeros(0, 1), torch.zeros(0)), 4), 3)) == []
