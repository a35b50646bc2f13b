"""Every method config composes one `FinalTraining`; users set it with the flat keys they always had."""

from __future__ import annotations

import pytest

from archsearch.errors import ConfigError
from archsearch.methods import FinalTraining, check_budget, make_config, method_names, method_spec
from archsearch.methods.final_training import SMOKE_EPOCHS, smoke_final


@pytest.mark.parametrize("method", method_names())
def test_every_builtin_method_composes_a_final_training_with_the_flat_keys_as_options(method):
    spec = method_spec(method)
    assert isinstance(spec.final_default, FinalTraining)
    assert {"final_epochs", "final_recipe"} <= set(spec.options) and not any(
        f.startswith("final_") for f in spec.fields)
    config = make_config(method, "smoke", final_epochs=2, final_recipe={"lr": 0.2})
    assert config.final.epochs == 2 and config.final.recipe == {"lr": 0.2}
    assert config.final.seeds == make_config(method, "smoke").final.seeds  # the part not named keeps the preset's


def test_the_presets_parts_sit_over_the_papers_and_the_options_over_those():
    paper, smoke = make_config("darts", "paper").final, make_config("darts", "smoke").final
    assert (paper.epochs, paper.seeds, paper.recipe["cutout"]) == (600, 10, 0.5)
    assert smoke == smoke_final(paper.recipe, cutout=0.0) and smoke.epochs == SMOKE_EPOCHS
    nested = make_config("darts", "smoke", final={"seeds": 3})
    assert (nested.final.epochs, nested.final.seeds, nested.final.recipe) == (smoke.epochs, 3, smoke.recipe)
    assert make_config("darts", "smoke", final_seeds="2").final.seeds == 2  # --set's text, read by the part's type


@pytest.mark.parametrize("options, message", [
    ({"final_epochs": -1}, "final_epochs must be a whole number >= 0"),
    ({"final_seeds": 0}, "final_seeds must be a whole number >= 1"),
    ({"final_epochs": 1.5}, "final_epochs must be a whole number"),
    ({"final_recipe": "fast"}, "final_recipe must be a mapping"),
    ({"final_recipe": {"lrr": 0.1}}, "lrr"),
    ({"final": {"epoch": 3}}, "has no part ['epoch']"),
])
def test_a_wrong_final_training_is_one_config_error_naming_the_key(options, message):
    with pytest.raises(ConfigError, match="greedynas") as err:
        make_config("greedynas", "smoke", **options)
    assert message in str(err.value)


def test_nars_trains_each_found_model_once_and_says_so():
    with pytest.raises(ConfigError, match="NARS trains each found model once"):
        make_config("nars", "smoke", final_seeds=2)


def test_an_absurd_final_training_is_refused_like_any_size():
    config = make_config("darts", "quick", final_epochs=600 * 1000 + 1)
    with pytest.raises(ConfigError, match="final_epochs=600001 is absurd"):
        check_budget("darts", config)
    warned: list[str] = []
    check_budget("darts", make_config("darts", "quick", final_epochs=6001), warn=warned.append)
    assert warned and "final_epochs=6001 is 10x the paper's 600" in warned[0]
