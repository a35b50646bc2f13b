"""The `mobilenet` space (analytic cost = flop counter, skip only with a residual, SE variant, weight inheritance,
latency-table ops) and user-defined spaces from choice modules (from_module / freeze round trips, clear errors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from archsearch.cost.latency import FIXED_PREFIX, op_key, space_ops
from archsearch.errors import UsageError
from archsearch.spaces import WeightSharingSpace, create_space
from archsearch.spaces.mobilenet import SKIP
from archsearch.supernet import BinaryGate, Weighted, make_alphas, mixed_ops, set_path

torch.set_num_threads(1)


def _measured(net: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    net.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.randn(1, *shape))
    return counter.get_total_flops() // 2, sum(p.numel() for p in net.parameters())


# -- mobilenet: cost -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset,se,n", [("smoke", False, 8), ("smoke", True, 4), ("quick", False, 4),
                                         ("quick", True, 4)])
def test_analytic_cost_equals_flop_counter_and_parameter_count(preset, se, n):
    space = create_space("mobilenet", preset=preset, se=se)
    rng = np.random.default_rng(0)
    for _ in range(n):
        arch = space.space.sample(rng)
        cost = space.cost(arch)
        assert (cost.macs, cost.params) == _measured(space.build(arch), space.input_shape), arch


def test_paper_preset_layout_and_cost_of_one_arch():
    space = create_space("mobilenet", preset="paper")
    assert space.input_shape == (3, 224, 224) and space.num_classes == 1000
    assert len(space.blocks) == 21 and sum(SKIP in b.values for b in space.blocks) == 15
    assert [b.c_out for b in space.blocks[::4]] == [24, 40, 80, 96, 192, 320]
    assert space.blocks[0].input_shape == (16, 112, 112) and space.blocks[-1].input_shape == (192, 7, 7)
    arch = space.space.sample(np.random.default_rng(1))
    cost = space.cost(arch)
    assert (cost.macs, cost.params) == _measured(space.build(arch), space.input_shape)


def test_cost_accepts_plain_mappings_and_names_a_bad_value():
    space = create_space("mobilenet", preset="smoke")
    arch = space.space.sample(np.random.default_rng(0))
    assert space.cost(dict(arch)) == space.cost(arch)
    with pytest.raises(UsageError, match="b00"):
        space.cost(dict(arch, b00="k9e9"))
    with pytest.raises(UsageError, match="missing"):
        space.cost({k: v for k, v in arch.items() if k != "b01"})


# -- mobilenet: choices --------------------------------------------------------------------------------------------
def test_skip_only_where_the_block_has_a_residual_and_se_gives_13_choices():
    for se, count in ((False, 7), (True, 13)):
        space = create_space("mobilenet", preset="quick", se=se)
        for block in space.blocks:
            assert (SKIP in block.values) == (block.stride == 1 and block.c_in == block.c_out)
            assert len(block.values) == (count if SKIP in block.values else count - 1)
        names = [b.name for b in space.blocks]
        assert names == [f"b{i:02d}" for i in range(len(names))] == space.space.names()
    assert "k7e6se" in create_space("mobilenet", preset="smoke", se=True).space.choices["b01"].values


def test_skip_builds_an_identity_and_mbconv_keeps_its_residual():
    space = create_space("mobilenet", preset="smoke")
    residual = next(b for b in space.blocks if b.residual)
    assert isinstance(space.make_candidate(residual.name, SKIP), nn.Identity)
    block = space.make_candidate(residual.name, "k3e3")
    assert block.residual
    x = torch.randn(2, *residual.input_shape)
    for module in block.modules():  # zero the branch: a residual block then passes x through
        if isinstance(module, nn.BatchNorm2d):
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)
    torch.testing.assert_close(block.eval()(x), x)


def test_overrides_and_bad_options():
    space = create_space("mobilenet", preset="smoke", widths=[8, 8, 16], depths=[1, 2, 1], strides=[1, 2, 2],
                         input_size=32, in_channels=3, num_classes=5, last_width=24)
    assert space.input_shape == (3, 32, 32) and space.num_classes == 5 and len(space.blocks) == 4
    assert space.build(space.space.sample(np.random.default_rng(0)))(torch.randn(2, 3, 32, 32)).shape == (2, 5)
    with pytest.raises(UsageError, match="preset"):
        create_space("mobilenet", preset="huge")
    with pytest.raises(UsageError, match="one entry per stage"):
        create_space("mobilenet", preset="smoke", widths=[8, 16, 24])
    with pytest.raises(UsageError, match="strides"):
        create_space("mobilenet", preset="smoke", strides=[3, 1])
    with pytest.raises(UsageError, match="option"):
        create_space("mobilenet", preset="smoke", width=[8])
    with pytest.raises(UsageError, match="candidate"):
        space.make_candidate("b00", "k4e3")


# -- mobilenet: supernet and inheritance ---------------------------------------------------------------------------
def _trained_supernet(space, steps: int = 3) -> nn.Module:
    """A supernet whose weights and BN statistics moved away from their initial values on a few paths."""
    torch.manual_seed(0)
    supernet = space.supernet()
    assert isinstance(space, WeightSharingSpace)
    rng = np.random.default_rng(0)
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.1)
    for _ in range(steps):
        set_path(supernet, space.space.sample(rng))
        loss = supernet(torch.randn(8, *space.input_shape)).logsumexp(1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return supernet


def test_supernet_has_a_mixed_op_per_block_with_the_space_names():
    space = create_space("mobilenet", preset="smoke", se=True)
    supernet = space.supernet()
    ops = list(mixed_ops(supernet))
    assert [op.name for op in ops] == space.space.names()
    assert [tuple(op.choices) for op in ops] == [b.values for b in space.blocks]
    assert all(isinstance(op.ops[SKIP], nn.Identity) for op in ops if SKIP in op.ops)


def test_inherited_child_equals_the_supernet_path_and_the_built_structure():
    space = create_space("mobilenet", preset="smoke")
    supernet = _trained_supernet(space).eval()
    rng = np.random.default_rng(3)
    x = torch.randn(4, *space.input_shape)
    for _ in range(3):
        arch = space.space.sample(rng)
        set_path(supernet, arch)
        child = space.inherit(supernet, arch)
        assert not any(True for _ in mixed_ops(child))
        assert str(child) == str(space.build(arch))  # the same modules as a fresh build
        assert sum(p.numel() for p in child.parameters()) == space.cost(arch).params
        with torch.no_grad():
            torch.testing.assert_close(child(x), supernet(x), rtol=0, atol=0)
    shared = {p.data_ptr() for p in child.parameters()} & {p.data_ptr() for p in supernet.parameters()}
    assert not shared  # a copy: training the child leaves the supernet alone
    with pytest.raises(UsageError, match="supernet"):
        space.inherit(space.build(arch), arch)


@pytest.mark.parametrize("policy", ["softmax", "sigmoid", "binary"])
def test_every_path_policy_runs_on_the_supernet(policy):
    space = create_space("mobilenet", preset="smoke")
    supernet = space.supernet()
    alphas = make_alphas(supernet)
    assert set(alphas) == set(space.space.names())
    generator = torch.Generator().manual_seed(0)
    for op in mixed_ops(supernet):
        if policy == "binary":
            op.policy = BinaryGate(alphas[op.name])
            op.policy.sample(generator, "two")
            op.policy.arch_grad = True
        else:
            op.policy = Weighted(alphas[op.name], policy)
    supernet(torch.randn(2, *space.input_shape)).sum().backward()
    if policy == "binary":
        for op in mixed_ops(supernet):
            op.policy.accumulate_alpha_grad()
    assert all(a.grad is not None and torch.isfinite(a.grad).all() for a in alphas.values())


# -- mobilenet: latency-table ops ----------------------------------------------------------------------------------
def test_space_ops_cover_every_candidate_and_the_fixed_parts():
    space = create_space("mobilenet", preset="quick", se=True)
    ops = space_ops(space)
    keys = [key for key, _, _ in ops]
    assert len(keys) == len(set(keys)) == 2 + sum(len(b.values) for b in space.blocks)
    assert keys[:2] == [FIXED_PREFIX + "stem", FIXED_PREFIX + "head"]
    assert op_key("b01", SKIP) in keys and op_key("b00", SKIP) not in keys
    shapes = {key: shape for key, _, shape in ops}
    # chaining the fixed parts and one candidate per block at their recorded shapes gives the network's output
    arch = space.space.sample(np.random.default_rng(0))
    x = torch.randn(1, *space.input_shape)
    make = {key: factory for key, factory, _ in ops}
    with torch.no_grad():
        h = make[FIXED_PREFIX + "stem"]().eval()(x)
        for block in space.blocks:
            assert tuple(h.shape[1:]) == shapes[op_key(block.name, arch[block.name])]
            h = make[op_key(block.name, arch[block.name])]().eval()(h)
        assert tuple(h.shape[1:]) == shapes[FIXED_PREFIX + "head"]
        assert make[FIXED_PREFIX + "head"]().eval()(h).shape == (1, space.num_classes)


# -- user-defined spaces -------------------------------------------------------------------------------------------
from archsearch import InputChoice, LayerChoice, ModuleSpace, freeze, space_from_module  # noqa: E402
from archsearch.supernet import MixedOp, SinglePath  # noqa: E402


def _conv_bn(k: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 4, k, padding=k // 2, bias=False), nn.BatchNorm2d(4))


class _UserNet(nn.Module):
    """An ordinary model with a layer choice, a nested choice, a list choice and an input choice."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.conv = LayerChoice({"c3": _conv_bn(3), "c5": _conv_bn(5),
                                 "pair": nn.Sequential(_conv_bn(3), LayerChoice([nn.ReLU(), nn.Tanh()], "inner"))},
                                label="conv")
        self.act = LayerChoice([nn.ReLU(), nn.Hardswish()], label="act")
        self.merge = InputChoice(2, 1, label="merge")
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.stem(x)
        b = self.act(self.conv(a))
        h = self.merge([a, b])
        return self.head(h.mean((2, 3)))


def test_user_model_becomes_a_space_and_freezes_to_the_chosen_modules():
    torch.manual_seed(0)
    model = _UserNet()
    space = space_from_module(model)
    assert space.names() == ["conv", "inner", "act", "merge"]
    assert space.choices["conv"].values == ("c3", "c5", "pair")
    assert space.choices["act"].values == ("0", "1") and space.choices["merge"].values == ("0", "1")
    for m in model.modules():  # BN statistics that are not the defaults, so eval outputs really use them
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
    model.eval()
    x = torch.randn(2, 1, 6, 6)
    rng = np.random.default_rng(0)
    for arch in [space.sample(rng) for _ in range(6)] + [{"conv": "pair", "inner": 1, "act": 0, "merge": 1}]:
        child = freeze(model, arch)
        assert not any(isinstance(m, MixedOp) for m in child.modules())
        set_path(model, {k: str(v) for k, v in arch.items()})
        with torch.no_grad():
            torch.testing.assert_close(child(x), model(x), rtol=0, atol=0)
    assert isinstance(child.conv[1], nn.Tanh) and isinstance(child.act, nn.ReLU)  # nested choice resolved
    child.conv[0][0].weight.data.zero_()
    assert model.conv.ops["pair"][0][0].weight.abs().sum() > 0  # a copy: the model keeps its weights


def test_module_space_serves_methods_and_trains():
    torch.manual_seed(0)
    search_space = ModuleSpace(_UserNet(), (1, 6, 6), 3)
    assert isinstance(search_space, WeightSharingSpace)
    arch = search_space.space.validate({"conv": "c5", "inner": "0", "act": "1", "merge": "1"})
    net = search_space.build(arch)
    cost = search_space.cost(arch)
    assert (cost.macs, cost.params) == _measured(net, (1, 6, 6))
    assert search_space.cost(dict(arch)) is cost  # cached per arch
    supernet = search_space.supernet()
    alphas = make_alphas(supernet)
    for op in mixed_ops(supernet):  # DARTS-style weighting works on the choice modules unchanged
        op.policy = Weighted(alphas[op.name])
    supernet(torch.randn(2, 1, 6, 6)).sum().backward()
    assert all(alphas[name].grad is not None for name in ("conv", "act", "merge"))
    set_path(supernet, arch)
    assert all(isinstance(op.policy, SinglePath) for op in mixed_ops(supernet))
    child = search_space.inherit(supernet.eval(), arch).eval()
    x = torch.randn(2, 1, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(child(x), supernet(x))
    # the frozen child trains on its own: a few steps on a separable toy problem lower the loss
    y = torch.arange(12) % 3
    data = torch.randn(12, 1, 6, 6) * 0.3 + y.view(-1, 1, 1, 1).float()
    child.train()
    optimizer = torch.optim.Adam(child.parameters(), lr=0.05)
    losses = []
    for _ in range(15):
        loss = nn.functional.cross_entropy(child(data), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_input_choice_picks_and_reduces_k_of_n():
    pick = InputChoice(3, 2, label="in", reduction="mean")
    assert pick.choices == ["0,1", "0,2", "1,2"]
    a, b, c = (torch.full((1, 2), v) for v in (1.0, 2.0, 4.0))
    set_path(pick, {"in": "0,2"})
    torch.testing.assert_close(pick([a, b, c]), torch.full((1, 2), 2.5))
    frozen = freeze(nn.Sequential(pick), {"in": "1,2"})
    torch.testing.assert_close(frozen[0]([a, b, c]), torch.full((1, 2), 3.0))
    concat = InputChoice(2, 2, label="cat", reduction="concat")
    set_path(concat, {"cat": "0,1"})
    assert concat([a, b]).shape == (1, 4)


def test_user_space_errors_are_usage_errors_naming_the_problem():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = LayerChoice([nn.ReLU(), nn.Tanh()], label="act")
            self.b = LayerChoice([nn.ReLU(), nn.Tanh()], label="act")

    with pytest.raises(UsageError, match="'act' is used twice"):
        space_from_module(Twice())
    with pytest.raises(UsageError, match="no LayerChoice"):
        space_from_module(nn.Linear(2, 2))
    with pytest.raises(UsageError, match="label"):
        LayerChoice([nn.ReLU()], label="")
    with pytest.raises(UsageError, match="not an nn.Module"):
        LayerChoice({"relu": torch.relu}, label="x")
    with pytest.raises(UsageError, match="n_chosen"):
        InputChoice(2, 3, label="x")
    with pytest.raises(UsageError, match="reduction"):
        InputChoice(2, 1, label="x", reduction="max")
    model = _UserNet()
    full = {"conv": "c3", "inner": "0", "act": "0", "merge": "0"}
    with pytest.raises(UsageError, match=r"conv='c7' is not allowed \(allowed: 'c3', 'c5', 'pair'\)"):
        freeze(model, dict(full, conv="c7"))
    with pytest.raises(UsageError, match=r"missing choice\(s\) \['merge'\]"):
        freeze(model, {k: v for k, v in full.items() if k != "merge"})
    with pytest.raises(UsageError, match="unknown choice"):
        freeze(model, dict(full, depth=3))
    with pytest.raises(UsageError, match="expects 2 inputs"):
        set_path(model, full)
        model.merge([torch.zeros(1)])


def test_the_choice_modules_earlier_homes_still_work_with_a_deprecation_warning():
    """Code written against the earlier README (`archsearch.space.set_path`, `archsearch.space.modules`) keeps
    working for one release."""
    import importlib
    import sys

    import archsearch
    import archsearch.space

    with pytest.warns(DeprecationWarning, match="from archsearch import set_path"):
        assert archsearch.space.set_path is archsearch.set_path
    with pytest.warns(DeprecationWarning, match="from archsearch import freeze"):
        from archsearch.space import freeze
    assert freeze is archsearch.freeze
    sys.modules.pop("archsearch.space.modules", None)
    with pytest.warns(DeprecationWarning, match="archsearch.space.modules moved"):
        modules = importlib.import_module("archsearch.space.modules")
    assert modules.LayerChoice is archsearch.LayerChoice and modules.ModuleSpace is archsearch.ModuleSpace
    with pytest.raises(AttributeError):
        archsearch.space.no_such_name
