"""Hierarchical evolution (Liu et al. 2018): genotype space, model and cost, mutation, initialisation, tournament."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archsearch.errors import ConfigError, UsageError
from archsearch.executors.local import LocalExecutor
from archsearch.experiment.testing import MemoryContext, SimulatedCrash
from archsearch.search.evolution import mutate, random_genotype, tournament_select, tournament_size
from archsearch.spaces import create_space
from archsearch.spaces.hierarchical import FLAT, HIERARCHICAL, PRIMITIVES, edge_name


def _diff(a, b) -> list[str]:
    return [name for name in a if a[name] != b[name]]


# -- space ----------------------------------------------------------------------------------------------------
def test_hierarchy_shapes_match_the_paper():
    space = create_space("hierarchical", preset="smoke").space
    # level 2: 6 motifs x C(4, 2) = 6 edges; level 3: 1 motif x C(5, 2) = 10 edges
    assert len(space) == 6 * 6 + 10
    assert space.choices[edge_name(2, 5, 2, 3)].values == ("none",) + PRIMITIVES
    assert space.choices[edge_name(3, 0, 0, 4)].values == ("none", "m0", "m1", "m2", "m3", "m4", "m5")
    flat = create_space("flat", preset="smoke").space
    assert len(flat) == 11 * 10 // 2
    assert all(c.values == ("none",) + PRIMITIVES for c in flat.choices.values())


def test_trivial_genotype_is_identity_chains():
    trivial = HIERARCHICAL.trivial()
    assert trivial[edge_name(2, 3, 0, 1)] == "identity" and trivial[edge_name(2, 3, 0, 2)] == "none"
    assert trivial[edge_name(3, 0, 3, 4)] == "m0" and trivial[edge_name(3, 0, 0, 4)] == "none"
    assert sum(v != "none" for v in FLAT.trivial().values()) == 10


def test_genotype_round_trips_through_json_and_encoding():
    space = create_space("hierarchical", preset="smoke").space
    arch = random_genotype(HIERARCHICAL, np.random.default_rng(0))
    assert space.from_json(arch.to_json()) == arch
    assert space.decode(space.encode(arch)) == arch
    assert json.loads(arch.key) == arch.to_dict()


@pytest.mark.parametrize("name", ["hierarchical", "flat"])
def test_model_flops_and_params_equal_the_analytic_cost(name):
    search_space = create_space(name, preset="smoke")
    hierarchy = search_space.hierarchy
    all_none = search_space.space.validate({n: "none" for n in search_space.space.names()})
    archs = [hierarchy.trivial(), all_none] + [random_genotype(hierarchy, np.random.default_rng(s), 200)
                                               for s in range(3)]
    for arch in archs:
        model = search_space.build(arch).eval()
        x = torch.randn(2, *search_space.input_shape)
        with FlopCounterMode(display=False) as counter:
            logits = model(x)
        cost = search_space.cost(arch)
        assert logits.shape == (2, 10)
        assert counter.get_total_flops() == 2 * 2 * cost.macs  # batch 2, FLOPs = 2 x MACs
        assert sum(p.numel() for p in model.parameters()) == cost.params


@pytest.mark.parametrize("name", ["hierarchical", "flat"])
def test_small_model_ends_with_a_stride_1_separable_conv_after_the_last_cell(name):
    """Fig. 2 (sec. 4.1), the small search model: ... cell, sep. conv 3x3 of stride 1, global pooling, linear. It
    maps the last cell's concatenated output to the last stage's width (C0 x 2^(stages - 1))."""
    search_space = create_space(name, preset="paper", input_size=32, in_channels=3)
    arch = random_genotype(search_space.hierarchy, np.random.default_rng(0), 200)
    model = search_space.build(arch).eval()
    depthwise, pointwise, bn, _ = model.cells[-1]
    assert depthwise.stride == (1, 1) and depthwise.kernel_size == (3, 3) and depthwise.groups == depthwise.in_channels
    assert pointwise.out_channels == bn.num_features == 16 * 4 == model.classifier.in_features
    reduces = [m for m in model.cells if isinstance(m, torch.nn.Sequential) and m[0].stride == (2, 2)]
    assert len(reduces) == 2  # between the three cells
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 32, 32))
    assert counter.get_total_flops() == 2 * search_space.cost(arch).macs  # the analytic cost counts it exactly
    assert sum(p.numel() for p in model.parameters()) == search_space.cost(arch).params


def test_depthwise_concatenation_widths_and_dead_branches():
    # one level-2 graph of 4 nodes: 0->1 identity, 0->2 conv1x1, 1->2 identity; node 3 <- 2 (identity);
    # edge 1->3 is none; an edge into nothing: none. Node 2 = concat(C, C) = 2C, 1x1 projection 2C -> C.
    search_space = create_space("flat", preset="smoke", nodes=[4], stages=1, channels=4)
    values = {n: "none" for n in search_space.space.names()}
    values.update({edge_name(2, 0, 0, 1): "identity", edge_name(2, 0, 0, 2): "conv1x1",
                   edge_name(2, 0, 1, 2): "identity", edge_name(2, 0, 2, 3): "maxpool3x3"})
    model = search_space.build(search_space.space.validate(values))
    cell = model.cells[0]
    assert cell.project[0].weight.shape == (4, 8, 1, 1)
    assert model.classifier.in_features == 4
    # a dead branch: node 1 has no input, so its edge to node 3 is not built
    values.update({edge_name(2, 0, 0, 1): "none", edge_name(2, 0, 1, 3): "sepconv3x3"})
    model = search_space.build(search_space.space.validate(values))
    assert len(model.cells[0].ops) == 2  # 0->2 conv1x1, 2->3 maxpool
    assert model.cells[0].project[0].weight.shape == (4, 4, 1, 1)


def test_bad_options_are_named():
    with pytest.raises(UsageError, match="preset"):
        create_space("hierarchical", preset="huge")
    with pytest.raises(ConfigError, match="motifs"):
        create_space("hierarchical", motifs=[6, 6, 2])
    with pytest.raises(ConfigError, match="nodes"):
        create_space("hierarchical", nodes=[4])


# -- engine ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hierarchy", [HIERARCHICAL, FLAT], ids=["hierarchical", "flat"])
def test_mutation_changes_exactly_one_edge_to_a_different_op(hierarchy):
    rng = np.random.default_rng(0)
    arch = hierarchy.trivial()
    levels_hit = set()
    for _ in range(300):
        child = mutate(arch, hierarchy, rng)
        changed = _diff(arch, child)
        assert len(changed) == 1
        name = changed[0]
        level = int(name[1:name.index("m")])
        levels_hit.add(level)
        assert child[name] != arch[name] and child[name] in hierarchy.ops(level)
        arch = child
    assert levels_hit == set(range(2, hierarchy.levels + 1))


def test_initialisation_is_reproducible_from_the_seed():
    a = random_genotype(HIERARCHICAL, np.random.default_rng(7))
    b = random_genotype(HIERARCHICAL, np.random.default_rng(7))
    c = random_genotype(HIERARCHICAL, np.random.default_rng(8))
    assert a == b and a != c
    assert len(_diff(a, HIERARCHICAL.trivial())) > 20  # 1000 mutations move far from the identity chains


def test_tournament_picks_the_best_of_its_sample():
    assert tournament_size(1000) == 50 and tournament_size(200) == 10 and tournament_size(10) == 1
    fitness = np.random.default_rng(1).random(200)
    for seed in range(20):
        replay = np.random.default_rng(seed)
        sample = replay.choice(200, size=10, replace=False)
        winner = tournament_select(fitness, np.random.default_rng(seed))
        assert winner == sample[np.argmax(fitness[sample])]
        assert fitness[winner] == fitness[sample].max()
    # a tournament over the whole population returns the global best
    assert tournament_select(fitness, np.random.default_rng(0), fraction=1.0) == int(np.argmax(fitness))


# -- report ---------------------------------------------------------------------------------------------------
def test_report_draws_motifs_and_best_so_far(tmp_path):
    from archsearch.report.methods.evolution import best_so_far, motif_edges, plot_fitness_curves, plot_motifs

    assert best_so_far([0.2, None, 0.1, 0.5, float("nan"), 0.4]) == [0.2, 0.2, 0.2, 0.5, 0.5, 0.5]
    trivial = HIERARCHICAL.trivial()
    edges = motif_edges(trivial)
    assert len(edges) == 7 and edges[(2, 0)] == [(0, 1, "identity"), (1, 2, "identity"), (2, 3, "identity")]
    motifs = plot_motifs(random_genotype(HIERARCHICAL, np.random.default_rng(0)), tmp_path / "m.png")
    curves = plot_fitness_curves({"h_evo": [[0.1, 0.3], [0.2, 0.25]], "flat": [0.1, 0.2]}, tmp_path / "c.png")
    for path in (motifs, curves):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- method (controller loop; training replaced by a toy fitness so the loop itself is tested exactly) -------------
def _toy_fitness(arch: dict) -> float:
    """A known optimum: every level-2 edge a separable conv."""
    level2 = [v for k, v in arch.items() if k.startswith("l2")]
    return sum(v == "sepconv3x3" for v in level2) / len(level2)


def _toy_eval(task):
    from archsearch.train.task import EvalResult

    if task.arch.get("l2m0_0_1") == "maxpool3x3" and task.arch.get("l2m0_0_2") == "maxpool3x3":
        return EvalResult([], None, None, 0, 0, 0.0, diverged=True, error="toy divergence")
    value = _toy_fitness(task.arch)
    return EvalResult([{"val_accuracy": value}], value, None, 0, 0, 0.0)


class _CountingExecutor(LocalExecutor):
    """The in-process local executor, counting what was submitted."""

    def __init__(self):
        super().__init__(1)
        self.submitted = 0

    def submit(self, fn, *args):
        self.submitted += 1
        return super().submit(fn, *args)


def _context(space_name="hierarchical", seed=0, crash_after=None, ledger=None):
    return MemoryContext(create_space(space_name, preset="smoke"), seed=seed, crash_after=crash_after,
                         ledger=ledger, executor=_CountingExecutor(),
                         space_spec={"name": space_name, "options": {"preset": "smoke"}})


@pytest.fixture()
def toy_training(monkeypatch):
    import archsearch.methods.evolution as evolution_method

    monkeypatch.setattr(evolution_method, "run_eval_task", _toy_eval)


def _evolution(ctx, **changes):
    from archsearch.methods.evolution import HierarchicalEvolution, HierarchicalEvolutionConfig

    values = dict(population=10, evaluations=60, init_mutations=100, in_flight=2)
    values.update(changes)
    return HierarchicalEvolution(HierarchicalEvolutionConfig(**values), ctx)


@pytest.mark.integration
def test_evolution_beats_random_on_a_toy_fitness_and_never_trains_a_genotype_twice(toy_training):
    runs = {strategy: [_evolution(_context(seed=s), strategy=strategy, evaluations=400, tournament_fraction=0.1)
                       .run().best.objectives["accuracy"] for s in range(2)] for strategy in ("evolution", "random")}
    assert min(runs["evolution"]) > max(runs["random"])
    ctx = _context(seed=0)
    method = _evolution(ctx, population=4, evaluations=80, tournament_fraction=0.5)
    result = method.run()
    keys = [Arch_key(r.arch) for r in ctx.ledger.trials()]
    assert len(ctx.ledger) == 80 == ctx.executor.submitted == result.extra["evaluations"]
    assert len(set(keys)) == 80  # dedup: no genotype trained twice
    origins = [p["origin"] for p in method.proposals]
    assert origins[:4] == ["init"] * 4 and set(origins[4:]) == {"mutation"}
    # each mutated child differs from its parent in exactly one edge
    for p in method.proposals[4:]:
        parent = method.proposals[p["parent"]]
        assert parent["status"] == "complete"
        assert len(_diff(parent["arch"], p["arch"])) == 1


def Arch_key(values: dict) -> str:
    return json.dumps(values, sort_keys=True)


@pytest.mark.parametrize("evaluations, crash_after", [(60, 25), (400, 60)])  # 400: a checkpoint per 1-4 evaluations
def test_resume_after_a_crash_equals_an_uninterrupted_run(toy_training, evaluations, crash_after):
    full_ctx = _context(seed=3)
    full = _evolution(full_ctx, evaluations=evaluations).run()
    crashed_ctx = _context(seed=3, crash_after=crash_after)
    with pytest.raises(SimulatedCrash):
        _evolution(crashed_ctx, evaluations=evaluations).run()
    resumed_ctx = _context(seed=3, ledger=crashed_ctx.ledger)
    method = _evolution(resumed_ctx, evaluations=evaluations)
    method.load_state_dict(crashed_ctx.latest())
    result = method.run()
    assert result.best == full.best
    assert [r.arch for r in resumed_ctx.ledger.trials()] == [r.arch for r in full_ctx.ledger.trials()]
    assert [r.state for r in resumed_ctx.ledger.trials()] == [r.state for r in full_ctx.ledger.trials()]
    assert len(resumed_ctx.ledger) == evaluations  # in-flight ones were re-submitted into their RUNNING trials
    assert len(full_ctx.checkpoints) < evaluations or evaluations < 100  # sparse checkpoints once the state is big


def test_report_compares_sibling_runs_by_space_and_strategy(tmp_path):
    import yaml

    from archsearch.report.methods.evolution import compare_runs

    def fake_run(name, method, space, strategy, data="digits"):
        run_dir = tmp_path / name
        (run_dir / "metrics").mkdir(parents=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(
            {"method": method, "space": {"name": space}, "data": data, "preset": "smoke",
             "method_config": {"strategy": strategy}}))
        rows = [{"step": i + 1, "fitness": 0.1 * i} for i in range(4)]
        (run_dir / "metrics" / "evolution.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return run_dir

    alone = fake_run("a", "evolution", "hierarchical", "evolution")
    assert compare_runs(alone, tmp_path / "none.png") is None  # nothing to compare with
    fake_run("b", "random", "hierarchical", "random")
    fake_run("c", "evolution", "flat", "evolution")
    fake_run("d", "evolution", "flat", "evolution", data="fashion-mnist")  # other data: not comparable
    path = compare_runs(alone, tmp_path / "cmp.png")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
