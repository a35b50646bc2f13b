"""NARS over spaces other than FBNetV3's: a user's LayerChoice module and `mobilenet`, each joined with the recipe.

The predictor encodes the space's own choices plus the recipe fields that act on its networks; candidates train
through the same EvalTask path; results are points of the run's space with their searched recipe beside them."""

from __future__ import annotations


import numpy as np
import pytest

from archsearch.cost.constraints import Cost
from archsearch.errors import ConfigError
from archsearch.experiment.testing import MemoryContext, MemoryLedger
from archsearch import ModuleSpace
from archsearch.spaces import create_space
from archsearch.spaces.fbnet import RECIPE_FIELDS
from support import ROOT, ChoiceToy

EXAMPLE = f"{ROOT / 'examples' / 'user_space.py'}:make_space"
SMOKE = dict(preset="smoke", data="digits", quiet=True)


def _nars(space: ModuleSpace, **changes):
    from archsearch.methods.nars import NARS, NARSConfig

    ctx = MemoryContext(space, ledger=MemoryLedger(("accuracy", "macs")), preset="smoke")
    return NARS(NARSConfig(**{**NARSConfig.PRESETS["smoke"], **changes}), ctx)


@pytest.mark.parametrize("dropout", [None, 0.1])
def test_the_predictor_encodes_the_user_choices_and_the_recipe_fields_that_act_on_the_network(dropout):
    space = ModuleSpace(ChoiceToy(dropout=dropout), input_shape=(1, 8, 8), num_classes=10, name="toy")
    method = _nars(space)
    searched = set(method.space.recipes.choices)
    assert "drop_path" not in searched  # no DropPath module anywhere: the field would change nothing
    assert ("dropout" in searched) == (dropout is not None)
    assert searched | {"dropout", "drop_path"} == set(RECIPE_FIELDS)
    assert list(method.space.joint.choices)[:3] == ["a", "b", "merge"]
    joint = method.space.joint
    # one-hot: a's 4 ops, b's 2, merge's 3 input pairs, then the recipe
    assert method.predictor.input_width == joint.encoding_width == 4 + 2 + 3 + method.space.recipes.encoding_width
    point = method.space.pool[0]
    code = method.space.joint.encode(point)
    arch, recipe = method.space.split(point)
    np.testing.assert_array_equal(code[:9], space.space.encode(arch))  # the space's own one-hot encoding first
    cost = method.space.cost(point)  # the architecture part's: the recipe costs nothing
    assert isinstance(cost, Cost) and (cost.macs, cost.params) == (space.cost(arch).macs, space.cost(arch).params)
    assert method.space.full(point) == arch and method.space.recipe_of(point).lr == pytest.approx(
        float(recipe["lr"]) * (4 if recipe["optimizer"] == "sgd" else 1))  # FBNetV3 Table 3: SGD lr x4
    method.pretraining.run()  # FLOPs / params proxies of the user space's archs
    assert method.pretraining.history["val_mse"][-1] < method.pretraining.history["val_mse"][0]


def test_a_choice_named_like_a_recipe_field_is_refused_in_one_line(tmp_path):
    from archsearch.experiment.settings import resolve_settings
    from archsearch.methods.nars import NARS, NARSConfig

    space = ModuleSpace(ChoiceToy(labels=("lr", "block", "merge")), input_shape=(1, 8, 8), num_classes=10,
                        name="toy")
    with pytest.raises(ConfigError, match=r"^nars searches space 'toy' together with the training recipe, .*\['lr'\]"):
        NARS.check_space(space, "nars", NARSConfig())
    with pytest.raises(ConfigError, match="named like recipe fields"):
        resolve_settings("nars", space=space, data="digits", preset="smoke", name="clash")
    with pytest.raises(ConfigError, match="needs an architecture space with build"):
        NARS.check_space(create_space("recipe"), "nars", NARSConfig())


@pytest.mark.integration
def test_nars_on_the_example_user_space_trains_through_tasks_and_exports_the_best(tmp_path):
    from archsearch.experiment.run import run
    from archsearch.export import export_run

    result = run("nars", space=EXAMPLE, runs_dir=tmp_path, name="u", **SMOKE)
    labels = {f"layer{i}" for i in range(1, 6)}
    assert set(result.best.arch) == labels  # a point of the user's space ...
    recipe = result.best.attrs["recipe"]
    assert recipe["ema"] is True and recipe["optimizer"] in ("rmsprop", "sgd")  # ... with its searched recipe
    assert all(set(f["arch"]) == labels and f["recipe"] for f in result.extra["per_constraint"])
    (exported,) = export_run(tmp_path / "u")
    assert exported.weights == "trained" and exported.arch == dict(result.best.arch)


@pytest.mark.integration
def test_nars_on_mobilenet_gives_points_of_mobilenet(tmp_path):
    from archsearch.experiment.run import run

    result = run("nars", space="mobilenet", runs_dir=tmp_path, name="m", final_epochs=0, **SMOKE)
    space = create_space("mobilenet", preset="smoke", input_size=8)
    arch = space.space.validate(dict(result.best.arch))  # what `archsearch compare` retrains
    assert result.best.objectives["macs"] == space.cost(arch).macs
    assert "recipe field(s) drop_path not searched" in (tmp_path / "m" / "log.txt").read_text()
