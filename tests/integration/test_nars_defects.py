"""NARS's result: only nets within every constraint (latency too), weights kept per architecture-recipe pair, the
searched recipe going with an exported arch of a plain space, and a shortfall below stage 2 explained.

Most tests assemble the result from a state set by hand (no training), so each defect is hit deterministically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archsearch.cost.constraints import Cost, parse_constraints, satisfied
from archsearch.experiment.testing import MemoryContext, MemoryLedger
from archsearch.spaces import create_space


def _smoke(**changes):
    from archsearch.methods.nars import NARSConfig

    return NARSConfig(**{**NARSConfig.PRESETS["smoke"], **changes})


def _method(tmp_path, constraints, space=None, spec=None, **changes):
    """A NARS method on fbnet smoke (or `space`) whose predictor scores every point 0.3 (no training)."""
    from archsearch.methods.nars import NARS

    space = space if space is not None else create_space("fbnet", preset="smoke")
    ctx = MemoryContext(space, run_dir=tmp_path, constraints=parse_constraints(constraints),
                        ledger=MemoryLedger(("accuracy", "macs")),
                        space_spec=spec or {"name": "fbnet", "options": {"preset": "smoke"}},
                        data_spec={"data": "digits", "split": {"val_size": 300, "small_val_size": 0}})
    method = NARS(_smoke(pool_size=64, **changes), ctx)
    method.predictor.predict = lambda x: np.full(len(x), 0.3)
    return method, ctx


def _row(index, label):
    return {"index": index, "iteration": 0, "curve": [label], "predicted": 0.3, "macs": 0, "params": 0,
            "diverged": False, "key": f"stage2/0/{index}", "label": label}


def _stage2_with_a_winner_that_breaks_the_bound(method, bound):
    """Stage 2 as if it had trained two pool points: one over `bound` params with the best label, one within."""
    params = [method.space.cost(p).params for p in method.space.pool]
    over = next(i for i, p in enumerate(params) if p > bound)
    within = next(i for i, p in enumerate(params) if p <= bound)
    method.optimisation.evaluated = [_row(over, 0.99), _row(within, 0.2)]
    return over, within


def test_the_result_holds_only_nets_within_every_constraint(tmp_path):
    """Stage 2 trains candidates that break a bound (they teach the predictor); none of them may stand in the
    result's best or Pareto front, however good its label."""
    constraints = parse_constraints(["params<=7K"])
    method, _ = _method(tmp_path, ["params<=7K"])
    method.evolution.search(0, history=[])
    over, within = _stage2_with_a_winner_that_breaks_the_bound(method, 7_000)
    result = method._result()
    for candidate in (result.best, *result.pareto_front):
        cost = Cost(int(candidate.objectives["macs"]), int(candidate.objectives["params"]))
        assert satisfied(constraints, cost), candidate.objectives
    arch_over = method.space.full(method.space.pool[over])
    assert all(c.arch != arch_over for c in result.pareto_front)
    assert any(c.arch == method.space.full(method.space.pool[within]) for c in result.pareto_front)


def test_a_best_well_below_the_best_stage2_label_is_explained(tmp_path):
    method, ctx = _method(tmp_path, ["params<=7K"])
    method.evolution.search(0, history=[])
    _stage2_with_a_winner_that_breaks_the_bound(method, 7_000)
    result = method._result()
    gap = result.extra["gap"]
    assert gap["best_stage2_label"] == 0.99 and gap["best_stage2_meets_constraints"] is False
    assert gap["chosen_accuracy"] == pytest.approx(0.3) and gap["chosen_predicted"] == pytest.approx(0.3)
    (warning,) = result.extra["warnings"]
    assert "below the best stage-2 label (99.0%)" in warning and "breaks params<=7K" in warning
    assert "estimated 30.0% for the chosen pair" in warning and "--set final_epochs" in warning
    assert any(warning in m for m in ctx.messages)  # the run's output says it too
    # no shortfall, no warning
    method.optimisation.evaluated = [_row(method.optimisation.evaluated[1]["index"], 0.31)]
    assert "gap" not in method._result().extra


def _latency_space():
    """mobilenet smoke with a made-up latency table: each op's milliseconds grow with its kernel and expansion."""
    from archsearch.cost.latency import LatencyTable, device_fingerprint, space_ops, with_latency

    space = create_space("mobilenet", preset="smoke", input_size=8)
    entries = {}
    for key, _, _ in space_ops(space):
        op = key.split(":")[1]
        entries[key] = 0.0 if op == "skip" else (1.0 if key.startswith("fixed") else int(op[1]) * int(op[3]) / 10)
    return with_latency(space, LatencyTable(device_fingerprint("cpu", 1), entries))


def test_stage3_and_the_result_meet_a_latency_bound(tmp_path):
    """`latency<=` is checked in stage 3 like MACs and params (the run's space carries the latency table), and
    every net of the result carries its latency and meets the bound."""
    space = _latency_space()
    method, _ = _method(tmp_path, ["latency<=9ms"], space=space,
                        spec={"name": "mobilenet", "options": {"preset": "smoke", "input_size": 8}})
    latencies = [space.cost(method.space.full(p)).latency_ms for p in method.space.pool]
    assert min(latencies) <= 9 < max(latencies)  # the bound binds on the pool
    method.predictor.predict = lambda x: x.sum(axis=1)  # prefers big ops: pushes against the bound
    method.evolution.search(0, history=[])
    (found,) = method.evolution.found
    assert found["latency_ms"] <= 9
    over = next(i for i, v in enumerate(latencies) if v > 9)
    method.optimisation.evaluated = [_row(over, 0.99)]
    result = method._result()
    assert all(c.objectives["latency_ms"] <= 9 for c in (result.best, *result.pareto_front))


def test_weights_are_kept_per_architecture_and_recipe(tmp_path):
    """Two searches (two FLOPs targets) that find one architecture with two recipes found two networks: both sets of
    weights stay in ``extra.weights``, and `archsearch export` finds each by its recipe."""
    from archsearch.export import _weights_for
    from archsearch.methods import weights_key

    method, _ = _method(tmp_path, [])
    pool = method.space.pool
    arch = method.space.split(pool[0])[0]
    recipes = [method.space.split(pool[1])[1], method.space.split(pool[2])[1]]
    assert recipes[0] != recipes[1]
    points = [method.space.joint.validate({**arch.to_dict(), **r.to_dict()}) for r in recipes]
    method.evolution.found = [{"constraint": f"flops<={t}", "arch": p.to_json(), "predicted": 0.3, "macs": 1,
                               "params": 1} for t, p in zip(("1M", "2M"), points)]
    method.final_training.finals = [{"found_index": i, "key": f"final/{i}", "val_accuracy": 0.5 + i / 10,
                                     "test_accuracy": 0.5, "weights": f"weights/final_{i}.pt"} for i in range(2)]
    result = method._result()
    per_arch = result.weights.per_arch
    assert sorted(per_arch.values()) == ["weights/final_0.pt", "weights/final_1.pt"]
    for i, point in enumerate(points):
        (tmp_path / f"weights/final_{i}.pt").parent.mkdir(exist_ok=True)
        (tmp_path / f"weights/final_{i}.pt").write_bytes(b"")
        recipe = method.space.recipe_of(point).to_dict()
        key = method.space.full(point).key
        assert per_arch[weights_key(key, recipe)] == f"weights/final_{i}.pt"
        assert _weights_for(tmp_path, {"weights": per_arch}, key, 2, None, json.loads(json.dumps(recipe))) == \
            tmp_path / f"weights/final_{i}.pt"


@pytest.mark.integration
def test_an_exported_nars_arch_of_a_plain_space_trains_with_its_searched_recipe(tmp_path):
    """On a plain architecture space the recipe is not part of the point: `archsearch export` writes the searched
    recipe into arch.json (when no final training's recipe is there), so `archsearch train` uses it."""
    from archsearch.experiment.options import merge_recipe_fields
    from archsearch.experiment.run import run
    from archsearch.export import export_run, read_arch_document

    result = run("nars", space="fbnet", runs_dir=tmp_path, name="p", preset="smoke", data="digits", quiet=True,
                 final_epochs=0)
    exported = export_run(tmp_path / "p", top=3)
    assert len(exported) == 3
    searched = {json.dumps(c.arch.to_dict(), sort_keys=True): c.attrs["recipe"]
                for c in (result.best, *result.pareto_front)}
    assert exported[0].arch == dict(result.best.arch)
    for item in exported:
        doc = read_arch_document(item.files["arch"])
        assert doc["recipe"]["optimizer"] in ("rmsprop", "sgd") and doc["recipe"]["ema"] is True
        key = json.dumps(item.arch, sort_keys=True)
        if key in searched:
            assert doc["recipe"] == json.loads(json.dumps(searched[key]))
        assert merge_recipe_fields(doc.get("recipe"), None, []) == doc["recipe"]  # what `archsearch train` uses


def test_the_front_of_show_and_summary_leaves_out_trials_that_break_a_constraint():
    """`archsearch show` and summary.md draw their Pareto front from the ledger, where stage 2's candidates that
    break a bound also sit: they are left out (a trial without the metric cannot be judged and stays)."""
    from archsearch.experiment.ledger import TrialRecord
    from archsearch.report.common import pareto_front

    def trial(n, accuracy, macs, params, **attrs):
        return TrialRecord(n, "complete", {"x": n}, {"accuracy": accuracy, "macs": macs},
                           {"params": params, **attrs})

    trials = [trial(0, 0.9, 10, 9_000), trial(1, 0.5, 20, 5_000), trial(2, 0.4, 5, 4_000, latency_ms=3.0)]
    assert [t.number for t in pareto_front(trials)] == [2, 0]
    assert [t.number for t in pareto_front(trials, "macs", ["params<=8K"])] == [2, 1]
    assert [t.number for t in pareto_front(trials, "macs", ["params<=8K", "latency<=2ms"])] == [1]


@pytest.mark.integration
def test_a_stage2_that_only_diverged_is_an_error_and_each_candidate_a_failed_trial(tmp_path, monkeypatch):
    """Every stage-2 candidate trained at an lr of 1e9 (the real training, its lr forced up): each is a failed
    trial named as diverged, and the run stops with one line saying why, not a result of untrained guesses."""
    import dataclasses

    from archsearch.errors import ArchsearchError
    from archsearch.methods.nars import stage2

    real = stage2.train_until
    monkeypatch.setattr(stage2, "train_until", lambda task, stop=None: real(
        dataclasses.replace(task, recipe={**task.recipe, "lr": 1e9}), stop))
    method, ctx = _method(tmp_path, [], iterations=1)
    with pytest.raises(ArchsearchError, match=r"nars: none of its 3 stage-2 candidates trained \(the first: "
                                              r"training diverged.*lower the recipe's lr range"):
        method.run()
    failed = ctx.ledger.trials(phase="stage2", state="failed")
    assert len(failed) == 3 and all("diverged" in t.attrs["fail_reason"] for t in failed)


def test_a_searched_recipe_field_set_in_recipe_is_refused(tmp_path):
    """`--set "recipe={lr: 1e9}"` would be overridden by every candidate's searched lr, silently: refused."""
    from archsearch.errors import ConfigError
    from archsearch.experiment.settings import resolve_settings

    with pytest.raises(ConfigError, match=r"nars searches the recipe field\(s\) lr: .*lr=1000000000.0 would be "
                                          "ignored"):
        resolve_settings("nars", preset="smoke", data="digits", recipe={"lr": 1e9})
    resolve_settings("nars", preset="smoke", data="digits", recipe={"schedule": "step", "batch_size": 16})
