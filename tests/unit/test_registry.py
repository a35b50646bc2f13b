"""One registry for spaces and methods: each method's `MethodSpec` is read once from its classes and checked there;
method configs are frozen, with a typed `recipe` where the method trains with one; a run's options are merged in
`experiment.options`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from archsearch._registry import Registry
from archsearch.errors import ConfigError, UsageError
from archsearch.experiment.options import merge_recipe_fields, merge_run_options, run_space_options
from archsearch.methods import METHODS, MethodSpec, make_config, method_names, method_spec, register_method
from archsearch.spaces import SPACES
from archsearch.train.recipe import Recipe


def test_spaces_and_methods_are_one_kind_of_registry():
    assert isinstance(SPACES, Registry) and isinstance(METHODS, Registry)
    assert {"darts", "evolution", "fairdarts", "greedynas", "nars", "proxyless", "random", "spos"} <= set(
        method_names())
    assert all(isinstance(METHODS.get(name), MethodSpec) for name in method_names())
    with pytest.raises(UsageError, match="unknown method 'dart'; did you mean 'darts'"):
        method_spec("dart")


def test_a_spec_holds_what_its_config_and_class_declare():
    from archsearch.methods.darts import Darts, DartsConfig
    from archsearch.methods.evolution import HierarchicalEvolution, RandomSearchConfig

    darts = method_spec("darts")
    assert (darts.method_cls, darts.config_cls, darts.budget_field, darts.default_space) == (
        Darts, DartsConfig, "epochs", "darts")
    assert dict(darts.cli_flags) == {"--order": "order"} and darts.check_space is Darts.check_space
    assert dict(darts.presets["smoke"]) == DartsConfig.PRESETS["smoke"]
    random = method_spec("random")  # inherited declarations, its own presets, flags and default space
    assert (random.method_cls, random.config_cls, random.budget_field) == (
        HierarchicalEvolution, RandomSearchConfig, "evaluations")
    assert dict(random.cli_flags) == {} and random.default_space == "mobilenet"
    assert method_spec("evolution").default_space == "hierarchical"
    assert method_spec("greedynas").default_space == "mobilenet"  # a config that names none: the default
    # the paper's name, what the search ranks by and the cost its front trades against come from the spec
    assert (darts.display_name, darts.accuracy, darts.front_cost) == ("DARTS", "supernet", None)
    assert (random.display_name, random.accuracy) == ("random search", "trained")  # its own name, inherited kind
    assert method_spec("spos").display_name == "SPOS" and method_spec("proxyless").front_cost == "latency_ms"
    assert random.accuracy_of(make_config("random", "smoke"))["label"] == "acc. after 1 ep."


def test_a_declaration_naming_no_config_field_fails_when_the_method_registers():
    @dataclass(frozen=True)
    class BadConfig:
        epochs: int = 1  # test value
        BUDGET_FIELD: ClassVar[str] = "epoch"

    class Bad:
        def __init__(self, config: Any, ctx: Any) -> None:
            self.config = config

    with pytest.raises(ValueError, match=r"BUDGET_FIELD names no field \['epoch'\]"):
        register_method("test-bad-budget", BadConfig)(Bad)

    @dataclass(frozen=True)
    class BadPreset:
        epochs: int = 1  # test value
        PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {"epoch": 1}}

    with pytest.raises(ValueError, match=r"preset 'smoke' sets no field \['epoch'\]"):
        register_method("test-bad-preset", BadPreset)(Bad)

    @dataclass(frozen=True)
    class BadAccuracy:
        epochs: int = 1  # test value
        ACCURACY: ClassVar[str] = "guessed"

    with pytest.raises(ValueError, match=r"ACCURACY 'guessed' is not one of"):
        register_method("test-bad-accuracy", BadAccuracy)(Bad)
    assert not {"test-bad-budget", "test-bad-preset", "test-bad-accuracy"} & set(method_names())


@pytest.mark.parametrize("name", ["darts", "fairdarts", "evolution", "random", "greedynas", "spos", "proxyless",
                                  "nars"])
def test_method_configs_are_frozen(name):
    config = make_config(name, "smoke")
    field = method_spec(name).budget_field
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, field, 1)
    assert getattr(dataclasses.replace(config, **{field: 1}), field) == 1  # a changed copy instead


def test_a_frozen_config_normalises_its_own_fields_in_post_init():
    from archsearch.methods.darts import DartsConfig, FairDartsConfig

    order = DartsConfig(order=1.0).order
    assert order == 1 and type(order) is int
    assert FairDartsConfig(zero_one="L1").zero_one == "l1"
    assert make_config("proxyless", "smoke", latency_target_ms="5ms").latency_target_ms == 5.0
    assert make_config("nars", "smoke", flops_family=["2M", "1M"]).flops_family == [1e6, 2e6]


def test_run_method_help_shows_the_spec(capsys):
    from archsearch.cli import main

    assert main(["run", "darts", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--budget sets epochs." in out and "method flags: --order VALUE (sets order)" in out
    assert "preset paper: defaults" in out and "preset smoke: epochs=2, steps_per_epoch=2, batch_size=8" in out


def test_the_search_recipe_is_a_typed_recipe_read_from_a_mapping():
    from archsearch.methods.evolution import RandomSearchConfig
    from archsearch.methods.nars import NARSConfig

    random = make_config("random", "smoke")
    assert random.recipe == Recipe.from_dict(RandomSearchConfig.PRESETS["smoke"]["recipe"])
    assert make_config("random", "smoke", recipe={"lr": 0.2}).recipe == Recipe(lr=0.2)  # --set replaces it whole
    assert make_config("random", "smoke", recipe="{lr: 0.2}").recipe == Recipe(lr=0.2)  # YAML text too
    with pytest.raises(UsageError, match="unknown recipe field 'lrr'; did you mean 'lr'"):
        make_config("random", "smoke", recipe={"lrr": 0.2})
    with pytest.raises(ConfigError, match="random option recipe must be a mapping, got 5"):
        make_config("random", "smoke", recipe=5)
    greedy = make_config("greedynas", "smoke")
    assert greedy.recipe.batch_size == greedy.batch_size == 32  # what the supernet trains with
    assert greedy.recipe.lr == 0.05 and make_config("spos", "quick").recipe.batch_size == 128
    assert make_config("nars", "smoke").recipe == Recipe.from_dict(NARSConfig.PRESETS["smoke"]["recipe"])
    assert NARSConfig().recipe == Recipe(schedule="cosine", ema_decay=0.999, batch_size=128)  # the paper preset's


def test_run_options_merge_file_then_flags_then_method_fields(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("method: random\nseed: 3\npreset: quick\nspace_options: {preset: smoke}\n"
                      "method_options: {evaluations: 4, epochs: 2}\n", encoding="utf-8")
    options = merge_run_options(config, {"preset": "smoke", "seed": None}, space_options=["se=true"],
                                overrides=["evaluations=5"], final_epochs=0,
                                method_flags=lambda method: {"epochs": 3, "population": 2})
    assert options["method"] == "random" and options["seed"] == 3 and options["preset"] == "smoke"
    assert options["space_options"] == {"preset": "smoke", "se": True}
    assert options["method_options"] == {"evaluations": 5, "epochs": 3, "population": 2, "final_epochs": 0}
    assert options["constraints"] == []
    with pytest.raises(ConfigError, match="unknown key 'evaluation' in the options of method 'random'"):
        merge_run_options(None, {"method": "random"}, overrides=["evaluation=5"])
    with pytest.raises(UsageError, match="name a method"):
        merge_run_options(None, {})


def test_recipe_fields_of_a_retraining_merge_arch_file_then_recipe_file_then_set(tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"lr": 0.2, "batch_size": 16}', encoding="utf-8")
    fields = merge_recipe_fields({"lr": 0.1, "ema": True}, recipe, ["batch_size=8"])
    assert fields == {"lr": 0.2, "ema": True, "batch_size": 8}
    with pytest.raises(ConfigError, match="unknown key 'lrr' in the recipe"):
        merge_recipe_fields(None, None, ["lrr=1"])


def test_the_space_options_of_a_run_on_some_data_are_what_a_latency_table_is_built_for():
    from archsearch.spaces import create_space

    options = run_space_options("mobilenet", {"se": True}, "smoke", "digits")
    assert options["se"] is True and options["preset"] == "smoke" and options["input_size"] == 8  # digits: 8 x 8
    assert tuple(create_space("mobilenet", **options).input_shape) == (1, 8, 8)


def test_every_weight_sharing_config_has_a_typed_weight_recipe():
    from archsearch.methods.darts import DartsConfig, FairDartsConfig
    from archsearch.methods.proxyless import ProxylessConfig
    from archsearch.train import Recipe

    darts = DartsConfig().weight_recipe(augment=False)  # DARTS sec. 3.1.1
    assert isinstance(darts, Recipe) and (darts.optimizer, darts.lr, darts.lr_min, darts.grad_clip) == \
        ("sgd", 0.025, 0.001, 5.0)
    assert FairDartsConfig().weight_recipe(augment=True).lr == 0.005 and FairDartsConfig().weight_recipe(True).augment
    proxyless = ProxylessConfig()
    assert proxyless.weight_recipe("warmup").lr == proxyless.warmup_lr and proxyless.weight_recipe("search").lr == \
        proxyless.lr and proxyless.weight_recipe("search").optimizer == "nesterov"


@pytest.mark.parametrize("method", ["spos", "greedynas", "random", "evolution", "darts", "fairdarts"])
def test_a_methods_name_is_its_specs_even_where_two_share_a_class(method):
    from archsearch.methods import make_config, method_spec, spec_of
    from archsearch.methods._base import Method

    config = make_config(method, "smoke")
    assert spec_of(config) is method_spec(method)
    assert "name" not in vars(method_spec(method).method_cls)  # no class-level name to disagree with the spec
    assert "name" not in Method.__annotations__
