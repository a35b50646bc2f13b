"""FBNetV3's spaces (Dai et al., CVPR 2021, Table 3): the architecture space's networks and analytic cost, the
recipe space, and their product the joint space NARS searches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archsearch.errors import ConfigError, UsageError
from archsearch.space.space import Arch
from archsearch.spaces import create_space
from archsearch.spaces.fbnet import joint_space, recipe_from_arch, recipe_space, split_joint
from archsearch.train import Recipe

@pytest.mark.parametrize("preset", ["smoke", "quick"])
def test_fbnet_cost_equals_flop_counter_and_param_count(preset):
    space = create_space("fbnet", preset=preset)
    rng = np.random.default_rng(0)
    for _ in range(3):
        arch = space.space.sample(rng)
        model = space.build(arch).eval()
        with FlopCounterMode(display=False) as counter:
            out = model(torch.zeros(1, *space.input_shape))
        cost = space.cost(arch)
        assert out.shape == (1, space.num_classes)
        assert cost.macs == counter.get_total_flops() // 2
        assert cost.params == sum(p.numel() for p in model.parameters())


def test_fbnet_paper_preset_follows_the_table():
    space = create_space("fbnet", preset="paper")
    assert space.input_shape == (3, 224, 224) and space.num_classes == 1000
    assert space.space.choices["resolution"].grid == [224, 232, 240, 248, 256, 264, 272]
    assert space.space.choices["s6.channels"].grid == [180, 188, 196, 204, 212, 220]
    assert space.space.choices["s1.expansion"].grid == [1]
    # the stem and the first stage carry the same superscript: one shared choice
    assert "channels.a" in space.space.choices and "s1.channels" not in space.space.choices
    model = space.build(space.default_arch())
    assert model.stem[0].out_channels == model.blocks[0].project[0].out_channels


def test_marker_shares_values_between_stem_and_stage():
    space = create_space("fbnet", preset="quick")
    arch = space.default_arch().replace(**{"channels.a": 16})
    model = space.build(arch)
    assert model.stem[0].out_channels == 16 and model.blocks[0].project[0].out_channels == 16


def test_se_and_activation_choices_reach_the_network():
    space = create_space("fbnet", preset="smoke")
    arch = space.default_arch().replace(**{"s2.se": True, "s2.act": "hswish", "s3.se": False, "s3.act": "relu"})
    model = space.build(arch)
    names = [type(m).__name__ for m in model.blocks[1].modules()]
    assert "SqueezeExcite" in names and "Hardswish" in names
    names = [type(m).__name__ for m in model.blocks[-1].modules()]
    assert "SqueezeExcite" not in names and "ReLU" in names and "Hardswish" not in names


def test_fbnet_blocks_are_mbconv_with_rounded_widths_stochastic_depth_and_the_saved_weight_names():
    """FBNet builds on ops/mbconv's MBConv with MobileNetV3's options: the inner width rounded to a multiple of 8
    (ProxylessNAS' default keeps c_in * e), the searched activation, stochastic depth on residual blocks only; the
    state-dict names are the ones weights saved by earlier runs carry."""
    from archsearch.ops.drop_path import DropPath
    from archsearch.ops.mbconv import MBConv, expanded_width

    assert (expanded_width(12, 3), expanded_width(12, 3, 8), expanded_width(12, 1, 8)) == (36, 40, 12)
    plain = MBConv(8, 8, kernel=3, expansion=3)  # the mobilenet space's block is unchanged
    assert plain.depthwise[0].out_channels == 24 and plain.drop_path is None
    assert [type(m).__name__ for m in plain.depthwise] == ["Conv2d", "BatchNorm2d", "ReLU6"]
    space = create_space("fbnet", preset="smoke")
    arch = space.default_arch().replace(**{"s2.se": True, "s2.act": "hswish", "s2.repeats": 2})
    model = space.build(arch)
    assert all(isinstance(b, MBConv) for b in model.blocks)
    first, second = model.blocks[1], model.blocks[2]  # stage 2: stride 2 (no residual), then a residual block
    assert first.depthwise[0].out_channels == expanded_width(first.expand[0].in_channels, arch["s2.first_expansion"],
                                                             8)
    assert first.drop_path is None and isinstance(second.drop_path, DropPath)
    assert [type(m).__name__ for m in second.depthwise] == ["Conv2d", "BatchNorm2d", "Hardswish"]
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    expected = ({f"{p}.0.weight" for p in ("expand", "depthwise", "project")}
                | {f"{p}.1.{b}" for p in ("expand", "depthwise", "project") for b in bn}
                | {f"se.{c}.{w}" for c in ("reduce", "expand") for w in ("weight", "bias")})
    assert {k.removeprefix("blocks.2.") for k in model.state_dict() if k.startswith("blocks.2.")} == expected


def test_recipe_from_arch_multiplies_sgd_lr_by_four_and_sets_every_field():
    arch = recipe_space("quick").validate({"optimizer": "sgd", "lr": 0.005, "weight_decay": 2e-5, "ema": True,
                                           "dropout": 0.1, "drop_path": 0.05, "mixup_alpha": 0.2})
    recipe = recipe_from_arch(arch, Recipe(batch_size=64))
    assert recipe.optimizer == "sgd" and recipe.lr == pytest.approx(0.02)
    assert (recipe.weight_decay, recipe.ema, recipe.dropout, recipe.drop_path, recipe.mixup_alpha) == \
        pytest.approx((2e-5, True, 0.1, 0.05, 0.2))
    assert recipe.batch_size == 64
    rms = recipe_from_arch(arch.replace(optimizer="rmsprop"))
    assert rms.optimizer == "rmsprop" and rms.lr == pytest.approx(0.005)


def test_joint_space_is_the_product_and_splits_back():
    fbnet = create_space("fbnet", preset="smoke")
    recipes = create_space("recipe", preset="smoke")
    joint = joint_space(fbnet.space, recipes)
    arch = joint.sample(np.random.default_rng(3))
    arch_part, recipe_part = split_joint(arch, fbnet.space, recipes)
    assert set(arch_part) == set(fbnet.space.choices) and set(recipe_part) == set(recipes.choices)
    assert joint.encoding_width == fbnet.space.encoding_width + recipes.encoding_width
    with pytest.raises(ConfigError):
        joint_space(recipes, recipes)


def test_fbnet_recipe_space_builds_and_costs_the_architecture_part_and_gives_the_recipe():
    joint = create_space("fbnet-recipe", preset="smoke")
    fbnet = create_space("fbnet", preset="smoke")
    rng = np.random.default_rng(2)
    for _ in range(3):
        point = joint.space.sample(rng)
        arch, recipe = joint.split(point)
        assert joint.cost(point) == fbnet.cost(arch)
        assert sum(p.numel() for p in joint.build(point).parameters()) == fbnet.cost(arch).params
        assert joint.recipe_of(point) == recipe_from_arch(recipe)
    assert joint.join(*joint.split(joint.default_arch())) == joint.default_arch()


def test_fast_encoding_and_mutation_equal_the_reference_ones():
    """`Space.encode_many` (code tables) and `Space.mutate` (one pass over the arch) equal the plain definitions:
    per-choice codes concatenated, and the n picked choices redrawn in the space's order."""
    space = create_space("fbnet-recipe", preset="quick").space
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(20)]
    reference = np.array([[v for name, c in space.choices.items() for v in c.encode(a[name])] for a in archs],
                         dtype=np.float32)
    assert np.array_equal(space.encode_many(archs), reference)

    def reference_mutate(arch, rng, n):
        mutable = [name for name, c in space.choices.items() if c.cardinality > 1]
        names = {mutable[i] for i in rng.choice(len(mutable), size=n, replace=False).tolist()}
        return Arch((name, space.choices[name].sample_other(v, rng) if name in names else v)
                    for name, v in arch.items())

    a, b = np.random.default_rng(7), np.random.default_rng(7)
    assert [space.mutate(x, a, n) for x in archs for n in (1, 4)] == [reference_mutate(x, b, n) for x in archs
                                                                       for n in (1, 4)]


def test_bad_preset_is_a_usage_error():
    with pytest.raises(UsageError, match="fbnet preset"):
        create_space("fbnet", preset="huge")


def test_searched_recipe_fields_reach_the_trainer_and_the_fbnet_model():
    from archsearch.ops.drop_path import DropPath
    from archsearch.train import Trainer

    space = create_space("fbnet", preset="smoke")
    arch = space.default_arch().replace(**{"s2.repeats": 2})
    recipe = recipe_from_arch({"optimizer": "rmsprop", "lr": 0.004, "weight_decay": 3e-5, "ema": True,
                               "dropout": 0.25, "drop_path": 0.2, "mixup_alpha": 0.3})
    trainer = Trainer(space.build(arch), recipe, device="cpu", steps_per_epoch=2, epochs=1)
    assert isinstance(trainer.optimizer, torch.optim.RMSprop)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.004)
    assert trainer.optimizer.param_groups[0]["weight_decay"] == pytest.approx(3e-5)
    assert trainer.ema is not None
    assert [m.p for m in trainer.model.modules() if isinstance(m, torch.nn.Dropout)] == [0.25]
    paths = [m.p for m in trainer.model.modules() if isinstance(m, DropPath)]
    assert len(paths) >= 2 and paths[0] == 0.0 and max(paths) > 0  # EfficientNet's linear-in-depth rates
    loss = trainer.step(torch.randn(4, *space.input_shape), torch.tensor([0, 1, 2, 3]))
    assert np.isfinite(loss)
