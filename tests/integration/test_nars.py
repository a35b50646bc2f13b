"""FBNetV3 / NARS: predictor, stage-2 selection, early stop, stage-3 evolution, the method end to end (the spaces:
test_fbnet_space.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archsearch.errors import ConfigError
from archsearch.spaces import create_space
from archsearch.spaces.fbnet import recipe_space


# -- stage 1 / 2 pieces -----------------------------------------------------------------------------------------------
from archsearch.predictors import NARSPredictor, PredictorConfig  # noqa: E402
from archsearch.search.predictor_evolution import (PredictorEvolutionConfig, early_stop_epoch, evolve,  # noqa: E402
                                                   initial_population, select_by_flops_bins, sobol_pool)


def test_sobol_pool_has_the_asked_size_distinct_and_covers_every_value():
    space = create_space("fbnet", preset="smoke").space
    pool = sobol_pool(space, 64, np.random.default_rng(0))
    assert len(pool) == 64 and len(set(pool)) == 64
    for name, choice in space.choices.items():
        values = getattr(choice, "values", None) or choice.grid
        assert {a[name] for a in pool} == set(values), name  # every value of every choice appears
    again = sobol_pool(space, 64, np.random.default_rng(0))
    assert again == pool  # deterministic in the generator


def test_sobol_pool_respects_a_predicate():
    space = create_space("fbnet", preset="smoke")
    pool = sobol_pool(space.space, 32, np.random.default_rng(1), where=lambda a: space.cost(a).macs <= 150_000)
    assert all(space.cost(a).macs <= 150_000 for a in pool)


def test_flops_bins_pick_the_best_predicted_candidate_of_each_bin():
    flops = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], dtype=float)
    predicted = np.array([.5, .9, .1, .2, .8, .3, .3, .7, .6, .1])
    # bins over [1, 10]: [1, 4), [4, 7), [7, 10]
    assert select_by_flops_bins(flops, predicted, 3) == [1, 4, 7]
    # excluding the winners gives the runners-up; bins with nothing left are filled with the best remaining
    assert select_by_flops_bins(flops, predicted, 3, exclude=[1, 4, 7]) == [0, 5, 8]
    assert select_by_flops_bins(flops, predicted, 2, low=1, high=3) == [0, 1]
    assert select_by_flops_bins(flops, predicted, 2, low=1, high=2) == [0, 1]


def test_early_stop_epoch_is_the_smallest_epoch_reaching_the_threshold():
    final = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    curves = np.stack([final[[5, 4, 3, 2, 1, 0]],  # epoch 1: reversed ranking (tau = -1)
                       final[[1, 0, 3, 2, 5, 4]],  # epoch 2: three swaps (tau = 9/15 = 0.6)
                       final[[1, 0, 2, 3, 4, 5]],  # epoch 3: one swap (tau = 13/15 = 0.867)
                       final[[0, 1, 2, 3, 4, 5]],  # epoch 4: same ranking
                       final], axis=1)
    assert early_stop_epoch(curves, 0.92, "kendall") == 4
    assert early_stop_epoch(curves, 0.85, "kendall") == 3
    assert early_stop_epoch(curves, 0.5, "kendall") == 2
    assert early_stop_epoch(curves, 0.92, "spearman") == 3  # spearman of one adjacent swap: 1 - 6*2/210 = 0.943


def test_frozen_encoder_does_not_move_in_the_first_phase_and_moves_in_the_second():
    rng = np.random.default_rng(0)
    x, proxies = rng.random((64, 6)), rng.random((64, 2)) * 1e6 + 1
    predictor = NARSPredictor(6, generator=torch.Generator().manual_seed(0))
    predictor.pretrain(x, proxies, epochs=3)
    before = [p.clone() for p in predictor.network.encoder.parameters()]
    head_before = [p.clone() for p in predictor.network.accuracy_head.parameters()]
    predictor.fit(x[:16], rng.random(16), frozen_epochs=5, unfrozen_epochs=0)
    assert all(torch.equal(a, b) for a, b in zip(before, predictor.network.encoder.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(head_before, predictor.network.accuracy_head.parameters()))
    predictor.fit(x[:16], rng.random(16), frozen_epochs=0, unfrozen_epochs=3)
    assert not all(torch.equal(a, b) for a, b in zip(before, predictor.network.encoder.parameters()))


def test_predictor_fits_a_known_function_and_round_trips_its_state():
    rng = np.random.default_rng(0)
    x = rng.random((240, 8)).astype(np.float32)
    accuracy = 0.80 + 0.05 * np.tanh(x @ rng.normal(size=8))
    predictor = NARSPredictor(8, PredictorConfig(batch_size=32), generator=torch.Generator().manual_seed(0))
    predictor.fit(x[:200], accuracy[:200], frozen_epochs=60, unfrozen_epochs=20)
    error = predictor.predict(x[200:]) - accuracy[200:]
    assert float(np.sqrt(np.mean(error ** 2))) < 0.01  # targets spread over +-0.05
    clone = NARSPredictor(8, generator=torch.Generator().manual_seed(5))
    clone.load_state_dict(predictor.state_dict())
    assert np.array_equal(clone.predict(x[200:]), predictor.predict(x[200:]))


def test_pretraining_learns_the_free_proxies():
    space = create_space("fbnet", preset="smoke")
    pool = sobol_pool(space.space, 256, np.random.default_rng(0))
    proxies = np.array([[space.cost(a).macs, space.cost(a).params] for a in pool], dtype=float)
    predictor = NARSPredictor(space.space.encoding_width, generator=torch.Generator().manual_seed(0))
    history = predictor.pretrain(space.space.encode_many(pool), proxies, epochs=40, batch_size=32)
    assert history["val_mse"][-1] < 0.2 * history["val_mse"][0]
    assert history["val_mse"][-1] < 0.1  # standardised log FLOPs / params


# -- stage 3 -------------------------------------------------------------------------------------------------------
def test_evolution_children_always_satisfy_the_constraint_and_the_best_never_drops():
    space = create_space("fbnet", preset="quick")
    bound = 1_200_000
    feasible = lambda a: space.cost(a).macs <= bound  # noqa: E731
    scored: list = []

    def score(archs):
        scored.extend(archs)
        return np.array([space.cost(a).params / 1e6 for a in archs])  # a known optimum: most params within FLOPs

    rng = np.random.default_rng(0)
    history = [space.space.sample(rng) for _ in range(80)]
    initial = initial_population(space.space, history, feasible, rng, PredictorEvolutionConfig())
    assert len(initial) == 100 and all(feasible(a) for a in initial)
    assert initial[:5] == [a for a in history if feasible(a)][:5]  # stage-2 best come first
    result = evolve(space.space, score, feasible, initial, rng, PredictorEvolutionConfig(max_generations=5))
    assert all(feasible(a) for a in scored) and feasible(result.best)
    assert np.all(np.diff(result.best_per_generation) >= 0)
    assert result.best_per_generation[-1] > result.best_per_generation[0]
    assert len(result.population) == 40


def test_evolution_stops_when_the_best_score_saturates():
    space = create_space("fbnet", preset="smoke").space
    rng = np.random.default_rng(0)
    initial = [space.sample(rng) for _ in range(10)]
    config = PredictorEvolutionConfig(population=10, from_history=0, children_per_parent=2, keep=4, patience=3)
    result = evolve(space, lambda archs: np.zeros(len(archs)), lambda a: True, initial, rng, config)
    assert len(result.best_per_generation) == 1 + 3  # generation 0, then 3 generations without gain
    assert result.scored == 10 + 10 * 2 + 2 * 4 * 2  # generation 1 from all 10 initial, then from the kept 4


def test_first_generation_has_children_from_all_100_initial_candidates():
    """FBNetV3 appendix: 100 initial (50 best + 50 random) x 24 children = 2,400 in generation 1; only then the
    top 40 are kept (960 children per later generation)."""
    space = create_space("fbnet", preset="quick").space
    rng = np.random.default_rng(0)
    history = [space.sample(rng) for _ in range(50)]
    initial = initial_population(space, history, lambda a: True, rng, PredictorEvolutionConfig())
    random_half = set(initial[50:])
    assert len(initial) == 100 and not random_half & set(history)
    batches: list[int] = []
    parents_per_generation: list[list] = []
    mutate = space.mutate

    def spy(arch, rng, n=1):  # records each child's parent
        parents_per_generation[-1].append(arch)
        return mutate(arch, rng, n)

    def score(archs):
        batches.append(len(archs))
        parents_per_generation.append([])
        return space.encode_many(list(archs)).sum(axis=1)  # any deterministic score

    space.mutate = spy
    result = evolve(space, score, lambda a: True, initial, rng, PredictorEvolutionConfig(max_generations=2))
    assert batches[:2] == [100, 2400]
    first = parents_per_generation[0]  # mutate calls while making generation 1 (redraws of a repeat included)
    assert set(first) == set(initial)
    assert all(first.count(arch) >= 24 for arch in random_half)  # the random half has children too
    assert len(set(parents_per_generation[1])) == 40  # generation 2: from the kept 40 only
    assert batches[2] + result.rejected == 40 * 24  # (a few children of the best could not be made new)


def test_adaptive_mutation_is_gentlest_for_the_best_parent():
    from archsearch.search.predictor_evolution import mutation_counts

    scores = np.array([0.9, 0.5, 0.1, 0.1])
    counts = np.stack([mutation_counts(scores, 20, np.random.default_rng(s), PredictorEvolutionConfig())
                       for s in range(200)])
    assert np.all(counts[:, 0] == 1)  # the best parent changes exactly one choice
    assert counts[:, 2].mean() > counts[:, 1].mean() > 1.0  # below-average parents explore the most


# -- the method loop -------------------------------------------------------------------------------------------------
import json  # noqa: E402

from archsearch.cost.constraints import parse_constraints  # noqa: E402
from archsearch.experiment.testing import SimulatedCrash  # noqa: E402

CONSTRAINTS = parse_constraints(["params<=12K"])
FAMILY = [150_000, 250_000]  # flops_family: one stage-3 search per FLOPs target, each under CONSTRAINTS too


def _context(tmp_path, *, constraints=(), crash_after=None):
    """fbnet smoke on digits in memory; the ledger records accuracy and MACs only (NARS writes what it records)."""
    from archsearch.experiment.testing import MemoryContext, MemoryLedger

    return MemoryContext(create_space("fbnet", preset="smoke"), run_dir=tmp_path, constraints=constraints,
                         crash_after=crash_after, ledger=MemoryLedger(("accuracy", "macs")),
                         space_spec={"name": "fbnet", "options": {"preset": "smoke"}},
                         data_spec={"data": "digits", "split": {"val_size": 300, "small_val_size": 0}})


def _smoke(**changes):
    from archsearch.methods import make_config

    return make_config("nars", "smoke", **changes)


class _CostLovingScorer:
    """Stands in for the accuracy predictor in stage 3: a linear fit of log MACs + log params on the encoding, so
    the search pushes against every resource bound."""

    def __init__(self, method):
        points = method.space.pool
        costs = np.log(method.space.pool_costs).sum(axis=1)  # log MACs + log params
        x = method.space.joint.encode_many(points)
        self.w = np.linalg.lstsq(np.c_[x, np.ones(len(x))], costs, rcond=None)[0]

    def predict(self, x):
        return np.c_[x, np.ones(len(x))] @ self.w


def _stage3_alone(tmp_path, constraints, **changes):
    from archsearch.methods.nars import NARS

    method = NARS(_smoke(pool_size=256, population=100, from_history=0, keep=40, children_per_parent=24,
                         max_generations=5, **changes), _context(tmp_path, constraints=constraints))
    method.predictor.predict = _CostLovingScorer(method).predict
    for index in range(len(method.evolution.searches())):
        method.evolution.search(index, history=[])
    return method.evolution.found


@pytest.mark.integration
def test_stage3_is_one_search_under_every_constraint_at_once(tmp_path):
    """FBNetV3 eq. 1: flops<= and params<= together are one search whose network meets both bounds; searched
    under one bound alone, the network breaks the other (so the bounds do bind)."""
    both = parse_constraints(["flops<=75K", "params<=7K"])
    found = _stage3_alone(tmp_path, both)
    assert len(found) == 1 and found[0]["constraint"] == "flops<=75K, params<=7K"
    assert found[0]["macs"] <= 75_000 and found[0]["params"] <= 7_000
    flops_only = _stage3_alone(tmp_path, both[:1])[0]
    params_only = _stage3_alone(tmp_path, both[1:])[0]
    assert flops_only["macs"] <= 75_000 < params_only["macs"]
    assert params_only["params"] <= 7_000 < flops_only["params"]


@pytest.mark.integration
def test_flops_family_is_one_search_per_target_each_under_every_constraint(tmp_path):
    found = _stage3_alone(tmp_path, parse_constraints(["params<=7K"]), flops_family=["150K", 75_000])
    assert [f["constraint"] for f in found] == ["params<=7K, flops<=75K", "params<=7K, flops<=150K"]
    assert all(f["params"] <= 7_000 for f in found)
    assert found[0]["macs"] <= 75_000 and 75_000 < found[1]["macs"] <= 150_000
    for bad in ([], ["abc"], [-3]):
        with pytest.raises(ConfigError, match="flops_family"):
            _smoke(flops_family=bad)
    from archsearch.errors import ConstraintError
    from archsearch.methods.nars import NARS

    with pytest.raises(ConstraintError, match="flops<=1K"):  # recipe mode: a target the fixed arch breaks, at once
        NARS(_smoke(mode="recipe", flops_family=["1K", "1G"]), _context(tmp_path))


@pytest.mark.parametrize("distill", [True, False])
def test_final_training_distils_every_found_model_from_the_largest_one_unless_turned_off(tmp_path, distill):
    """FBNetV3 sec. 4.3, two steps: the largest found model trained on the labels, then every found model (here
    the only one, so itself) trained with it as teacher. `distill=False`: one training on the labels."""
    from archsearch.methods.nars import NARS

    ctx = _context(tmp_path, constraints=parse_constraints(["flops<=75K"]))
    method = NARS(_smoke(pool_size=64, final_epochs=1, distill=distill), ctx)
    method.predictor.predict = _CostLovingScorer(method).predict
    method.evolution.search(0, history=[])
    method.final_training.run(method.evolution.found)
    trials = sorted((t.attrs["key"], t.attrs["distilled"], t.state) for t in ctx.ledger.trials(phase="final"))
    if distill:
        assert trials == [("final/0", True, "complete"), ("final/teacher", False, "complete")]
        assert method.final_training.teacher["found_index"] == 0 and method.final_training.finals[0]["distilled"]
        assert (tmp_path / "weights" / "teacher.pt").exists()
    else:
        assert trials == [("final/0", False, "complete")] and method.final_training.teacher is None
    assert (tmp_path / "weights" / "final_0.pt").exists()


@pytest.mark.integration
def test_train_until_keeps_the_full_schedule_and_stops_early():
    from archsearch.methods.nars import train_until
    from archsearch.train import EvalTask

    task = EvalTask(space="fbnet", space_options={"preset": "smoke"},
                    arch=create_space("fbnet", preset="smoke").default_arch().to_dict(),
                    recipe={"batch_size": 32, "schedule": "cosine", "lr": 0.05, "dropout": 0.2}, epochs=3,
                    data="digits", split={"val_size": 200, "small_val_size": 0}, seed=3, test=False)
    cut, full = train_until(task, 1), train_until(task)
    assert len(cut.per_epoch) == 1 and len(full.per_epoch) == 3
    assert cut.per_epoch[0]["lr"] == pytest.approx(full.per_epoch[0]["lr"])  # the 3-epoch cosine, cut short
    assert cut.per_epoch[0]["val_accuracy"] == full.per_epoch[0]["val_accuracy"]  # dropout seeded per task


def test_final_training_returns_its_weights_and_distils_from_a_teacher():
    import torch

    from archsearch.methods.nars import train_final
    from archsearch.train import EvalTask

    space = create_space("fbnet", preset="smoke")
    task = EvalTask(space="fbnet", space_options={"preset": "smoke"}, arch=space.default_arch().to_dict(),
                    recipe={"batch_size": 32, "lr": 0.05, "ema": True, "ema_decay": 0.9}, epochs=1, data="digits",
                    split={"val_size": 200, "small_val_size": 0, "train_size": 256}, seed=3, test=False)
    global_state = torch.get_rng_state()
    alone = train_final(task)
    assert torch.equal(torch.get_rng_state(), global_state)  # the caller's random stream is left alone
    model = space.build(space.space.validate(task.arch))
    assert alone.weights.keys() == model.state_dict().keys()
    assert train_final(task).weights["classifier.0.weight"].equal(alone.weights["classifier.0.weight"])
    teacher = {"arch": task.arch, "state": alone.weights}
    distilled = train_final(EvalTask(**{**task.__dict__, "recipe": {**task.recipe, "distill_weight": 0.8}}), teacher)
    assert not distilled.weights["classifier.0.weight"].equal(alone.weights["classifier.0.weight"])


@pytest.mark.integration
def test_nars_joint_run_meets_every_constraint_and_records_the_stages(tmp_path):
    from archsearch.methods.nars import NARS

    ctx = _context(tmp_path, constraints=CONSTRAINTS)
    result = NARS(_smoke(flops_family=FAMILY), ctx).run()
    found = result.extra["per_constraint"]
    assert [f["constraint"] for f in found] == ["params<=12K, flops<=150K", "params<=12K, flops<=250K"]
    assert found[0]["macs"] <= 150_000 and found[1]["macs"] <= 250_000
    assert all(f["params"] <= 12_000 for f in found)
    # points of the run's (plain fbnet) space, each with the recipe searched with it
    assert all("resolution" in f["arch"] and not {"optimizer", "lr", "ema"} & set(f["arch"]) for f in found)
    assert all(f["recipe"]["ema"] is True for f in found)  # the joint search always uses EMA
    stage2 = ctx.ledger.trials(phase="stage2")
    assert len(stage2) == 2 * 3 and all(t.state == "complete" for t in stage2)  # T x m, per-epoch values
    assert all(len(t.per_epoch) == 2 for t in stage2[:3])  # the first iteration: full training
    stop = result.extra["stop_epoch"]
    assert all(len(t.per_epoch) == stop for t in stage2[3:])  # later iterations: early-stopped at e
    # distillation by default (FBNetV3 sec. 4.3): the largest found model trained on the labels, then both found
    # models (the largest too) distilled from it
    finals = ctx.ledger.trials(phase="final")
    assert sorted((t.attrs["key"], t.attrs["distilled"]) for t in finals) == [
        ("final/0", True), ("final/1", True), ("final/teacher", False)]
    largest = max(range(2), key=lambda i: found[i]["macs"])
    teacher = next(t for t in finals if t.attrs["key"] == "final/teacher")
    assert dict(teacher.arch) == found[largest]["arch"]
    assert result.extra["teacher"]["found_index"] == largest and (tmp_path / "weights" / "teacher.pt").exists()
    assert all(f["distilled"] for f in result.extra["finals"])
    assert {"pretrain", "samples", "early_stop", "evolution_0", "evolution_1", "finals"} <= set(ctx.metrics)
    # the best pair's final training is the run's final block (the one final training, summarised alike), and
    # the search's clock stopped before the final trainings
    assert ctx.search_ended and result.final is not None and result.final.epochs == 1
    assert result.final.test_accuracy == result.best.attrs["test_accuracy"] and len(result.final.seeds) == 1
    assert result.final.recipe["ema"] is True  # FBNetV3 sec. 4.3


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from archsearch.methods.nars import NARS

    return NARS(_smoke(final_epochs=0, flops_family=FAMILY),
                _context(tmp_path_factory.mktemp("full"), constraints=CONSTRAINTS)).run()


# checkpoints of the smoke run: 1 after stage 1, 2 the first iteration's picks, 3-5 each trained candidate, 6 end of
# iteration 1, 7-11 iteration 2, 12 end of stage 2, 13-14 each search of stage 3 (one per FLOPs target)
@pytest.mark.parametrize("crash_after", [1, 4, 9, 13])
@pytest.mark.integration
def test_nars_resume_equals_an_uninterrupted_run(tmp_path, crash_after, uninterrupted):
    from archsearch.methods.nars import NARS

    config, full = _smoke(final_epochs=0, flops_family=FAMILY), uninterrupted
    crashed = _context(tmp_path, constraints=CONSTRAINTS, crash_after=crash_after)
    with pytest.raises(SimulatedCrash):
        NARS(config, crashed).run()
    resumed_ctx = _context(tmp_path, constraints=CONSTRAINTS)
    method = NARS(config, resumed_ctx)
    method.load_state_dict(crashed.latest())
    resumed = method.run()
    assert resumed.best.arch == full.best.arch and resumed.best.objectives == full.best.objectives
    assert resumed.extra["stage3"] == [{**s, "seconds": r["seconds"]} for s, r in
                                       zip(full.extra["stage3"], resumed.extra["stage3"])]


@pytest.mark.integration
def test_nars_recipe_mode_keeps_the_architecture_fixed(tmp_path):
    from archsearch.methods.nars import NARS

    ctx = _context(tmp_path)
    method = NARS(_smoke(mode="recipe", final_epochs=0), ctx)
    result = method.run()
    archs = {json.dumps(method.space.split(method.space.pool[e["index"]])[0].to_dict())
             for e in method.optimisation.evaluated}
    assert archs == {json.dumps(ctx.space.default_arch().to_dict())}
    assert result.best.arch == ctx.space.default_arch()  # a point of the run's (plain fbnet) space, ...
    assert set(recipe_space("smoke").choices) <= set(result.best.attrs["recipe"])  # ... its recipe beside it
    assert len({json.dumps(t.attrs["recipe"], sort_keys=True) for t in ctx.ledger.trials(phase="stage2")}) > 1
    assert method.pretraining.pretrained_state is None  # recipe-only search: no pretrained embedding (FBNetV3 appendix)


def test_the_checkpoint_is_one_flat_dict_each_stage_restoring_its_own_keys(tmp_path):
    """The checkpoint format of runs saved before the method was split into its stages: the same flat keys, so
    those runs resume; each stage restores its part (a checkpoint older still has no teacher)."""
    from archsearch.methods.nars import NARS

    state = NARS(_smoke(), _context(tmp_path)).state_dict()
    assert set(state) == {"config", "phase", "iteration", "evaluated", "current", "stop_epoch", "correlations",
                          "pretrained_state", "pretrain_history", "predictor", "found", "teacher", "finals"}
    found = [{"constraint": "none", "arch": "{}", "predicted": 0.5, "macs": 1, "params": 1}]
    state = {**state, "phase": "final", "iteration": 2, "stop_epoch": 1, "correlations": [0.5, 1.0],
             "evaluated": json.dumps([{"index": 3, "label": 0.25}]), "pretrain_history": '{"val_mse": [1.0]}',
             "found": json.dumps(found)}
    del state["teacher"]
    method = NARS(_smoke(), _context(tmp_path))
    method.load_state_dict(state)
    assert method.phase == "final" and method.optimisation.iteration == 2 and method.optimisation.stop_epoch == 1
    assert method.optimisation.correlations == [0.5, 1.0] and method.optimisation.evaluated[0]["label"] == 0.25
    assert method.pretraining.history == {"val_mse": [1.0]} and method.evolution.found == found
    assert method.final_training.teacher is None and method.final_training.finals == []


# -- end to end through the experiment layer ---------------------------------------------------------------------------
E2E = dict(preset="smoke", data="digits", quiet=True, constraints=["params<=12K"], flops_family=["150K", "250K"])


@pytest.fixture(scope="module")
def e2e_full(tmp_path_factory):
    from archsearch.experiment.run import run

    runs = tmp_path_factory.mktemp("e2e")
    return runs, run("nars", runs_dir=runs, name="full", **E2E)


# checkpoints of the smoke run: 1 stage 1, 2 iteration 1's picks, 3-5 its candidates, 6 its end, 7-11 iteration 2,
# 12 end of stage 2, 13-14 the two searches, 15 start of final training, 16 the teacher, 17-18 each final model, 19 done
@pytest.mark.parametrize("crash_after", [4, pytest.param(17, marks=pytest.mark.slow)])
@pytest.mark.integration
def test_nars_experiment_resume_equals_an_uninterrupted_run(tmp_path, crash_after, e2e_full):
    """The real run (Experiment, Optuna ledger, checkpoint and metric files, final weights), killed mid-stage 2
    (or, slow, between the final trainings) and resumed, ends as the uninterrupted run."""
    from archsearch.experiment.testing import run_with_crash
    from archsearch.report import open_run

    runs, full = e2e_full
    resumed = run_with_crash("nars", crash_after, runs_dir=tmp_path, name="crashed", **E2E)
    assert dict(resumed.best.arch) == dict(full.best.arch) and resumed.best.objectives == full.best.objectives
    assert [dict(c.arch) for c in resumed.pareto_front] == [dict(c.arch) for c in full.pareto_front]
    for key in ("stop_epoch", "correlations", "per_constraint", "teacher"):
        assert resumed.extra[key] == full.extra[key], key

    def untimed(finals):  # each final's block holds its measured training time
        return [{**f, "final": {**f["final"], "seconds": 0, "cpu_seconds": 0}} for f in finals]

    assert untimed(resumed.extra["finals"]) == untimed(full.extra["finals"])
    assert [{**s, "seconds": 0} for s in resumed.extra["stage3"]] == [{**s, "seconds": 0} for s in full.extra["stage3"]]
    for name in ("samples", "early_stop", "stage2", "evolution_0", "evolution_1", "finals"):  # cut back, not doubled
        assert (tmp_path / "crashed" / "metrics" / f"{name}.jsonl").read_text() == \
            (runs / "full" / "metrics" / f"{name}.jsonl").read_text(), name

    def completed(run_dir):
        return sorted((t.attrs["key"], t.arch, t.objectives, t.per_epoch) for t in open_run(run_dir).trials()
                      if t.state == "complete")

    assert completed(tmp_path / "crashed") == completed(runs / "full") and len(completed(runs / "full")) == 6 + 3
    for name in ("teacher", "final_0", "final_1"):  # the teacher and the distilled final models, bit for bit
        mine = torch.load(tmp_path / "crashed" / "weights" / f"{name}.pt", weights_only=True)
        reference = torch.load(runs / "full" / "weights" / f"{name}.pt", weights_only=True)
        for key, value in reference.items():
            torch.testing.assert_close(mine[key], value, rtol=0, atol=0)


def test_stage2_candidates_train_on_train_size_images(tmp_path):
    from archsearch.errors import ConfigError
    from archsearch.methods.nars import NARS, NARSConfig

    assert NARSConfig.PRESETS["quick"]["train_size"] == 4096 and NARSConfig().train_size is None  # paper: all
    method = NARS(_smoke(train_size=50), _context(tmp_path))
    task = method.optimisation._task(method.space.pool[0], "stage2/0/0")
    assert task.split == {"val_size": 300, "small_val_size": 0, "train_size": 50}
    assert NARS(_smoke(), _context(tmp_path / "all")).optimisation._task(
        method.space.pool[0], "stage2/0/0").split == {"val_size": 300, "small_val_size": 0}
    with pytest.raises(ConfigError, match="train_size"):  # more than the data has: at construction
        NARS(_smoke(train_size=10**6), _context(tmp_path / "big"))
