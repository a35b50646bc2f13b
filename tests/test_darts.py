"""DARTS / Fair DARTS: the cell space, the weighted mixed op, zero-one loss, discretisation, second-order gradient,
exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from archsearch.errors import ConfigError, UsageError
from archsearch.spaces import create_space
from archsearch.spaces.darts import (FAIR_OPS, NODES, OP_NAMES, arch_from_edges, cell_edges, discretise,
                                     live_nodes)
from archsearch.supernet import MixedOp, Weighted, make_alphas, set_policy

# The authors' DARTS_V2 cell (quark0/darts genotypes.py): 2 skips in the normal cell, 3 in the reduction cell.
DARTS_V2 = {
    "normal": [(0, 2, "sep_conv_3x3"), (1, 2, "sep_conv_3x3"), (0, 3, "sep_conv_3x3"), (1, 3, "sep_conv_3x3"),
               (0, 4, "skip_connect"), (1, 4, "sep_conv_3x3"), (0, 5, "skip_connect"), (2, 5, "dil_conv_3x3")],
    "reduce": [(0, 2, "max_pool_3x3"), (1, 2, "max_pool_3x3"), (1, 3, "max_pool_3x3"), (2, 3, "skip_connect"),
               (0, 4, "max_pool_3x3"), (2, 4, "skip_connect"), (1, 5, "max_pool_3x3"), (2, 5, "skip_connect")],
}


def _measured(net: nn.Module, shape) -> tuple[float, int]:
    net.eval()
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, *shape))
    params = sum(p.numel() for name, p in net.named_parameters() if not name.startswith("auxiliary"))
    return counter.get_total_flops() / 2, params


# -- space --------------------------------------------------------------------------------------------------------
def test_genotype_round_trip_and_darts_v2_size():
    space = create_space("darts", preset="paper")
    arch = arch_from_edges(space.space, DARTS_V2)
    assert space.edges(arch) == DARTS_V2
    assert space.space.from_json(arch.to_json()) == arch
    # DARTS table 1: DARTS (second order) 3.3M params on CIFAR-10 (20 cells, C=36, auxiliary head not counted)
    assert 3.2e6 < space.cost(arch).params < 3.4e6
    assert len(space.space) == 2 * 4 * 3


@pytest.mark.parametrize("preset", ["smoke", "quick"])
def test_analytic_cost_equals_flop_counter(preset):
    space = create_space("darts", preset=preset)
    rng = np.random.default_rng(1)
    archs = [space.space.sample(rng) for _ in range(3)]
    # a Fair DARTS-style cell with dropped edges and a dead node (node 4 fed only by dropped edges)
    sparse = {"normal": [(0, 2, "sep_conv_3x3"), (2, 3, "skip_connect"), (3, 5, "dil_conv_5x5")],
              "reduce": [(1, 2, "max_pool_3x3"), (0, 3, "skip_connect")]}
    archs.append(arch_from_edges(space.space, sparse))
    archs.append(arch_from_edges(space.space, {"normal": [], "reduce": []}))  # every edge dropped
    for arch in archs:
        macs, params = _measured(space.build(arch), space.input_shape)
        cost = space.cost(arch)
        assert (cost.macs, cost.params) == (macs, params)


def test_dead_nodes_are_dropped_from_the_cell():
    edges = [(0, 2, "sep_conv_3x3"), (1, 4, "skip_connect")]
    assert live_nodes(edges) == [2, 4]
    space = create_space("darts", preset="smoke")
    arch = arch_from_edges(space.space, {"normal": edges, "reduce": edges})
    net = space.build(arch)
    assert net.cells[0].multiplier == 2
    assert net(torch.randn(2, *space.input_shape)).shape == (2, 10)


def test_build_runs_with_auxiliary_head_and_drop_path():
    space = create_space("darts", preset="smoke", auxiliary=True, drop_path=0.3, input_shape=(3, 32, 32))
    net = space.build(arch_from_edges(space.space, DARTS_V2)).train()
    out = net(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10) and net.auxiliary_logits.shape == (4, 10)
    net.eval()
    net(torch.randn(1, 3, 32, 32))
    assert net.auxiliary_logits is None


def test_space_rejects_bad_options():
    with pytest.raises(UsageError, match="preset"):
        create_space("darts", preset="huge")
    with pytest.raises(ConfigError, match="channels"):
        create_space("darts", preset="smoke", channels=5)


def test_supernet_op_sets_and_shared_alphas():
    space = create_space("darts", preset="smoke")
    darts_net, fair_net = space.supernet(none_op=True), space.supernet(none_op=False)
    first = next(op for op in darts_net.modules() if isinstance(op, MixedOp))
    assert first.choices == list(OP_NAMES)
    assert next(op for op in fair_net.modules() if isinstance(op, MixedOp)).choices == list(FAIR_OPS)
    alphas = make_alphas(darts_net)
    assert len(alphas) == 28  # 14 edges x {normal, reduce}, shared by all cells of a kind
    set_policy(darts_net, lambda op: Weighted(alphas[op.name], "softmax"))
    assert darts_net(torch.randn(2, *space.input_shape)).shape == (2, 10)


# -- weighted mixed op --------------------------------------------------------------------------------------------
def test_sigmoid_mixed_op_equals_weighted_sum_by_hand():
    op = MixedOp("e", {"times_two": _Scale(2.0), "negate": _Scale(-1.0), "zero": _Scale(0.0)})
    alpha = torch.tensor([0.0, 1.0, -2.0], requires_grad=True)
    op.policy = Weighted(alpha, "sigmoid")
    x = torch.tensor([3.0])
    s = [0.5, 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(2.0))]
    expected = s[0] * 6.0 + s[1] * -3.0 + s[2] * 0.0
    out = op(x)
    assert out.item() == pytest.approx(expected, rel=1e-6)
    out.sum().backward()
    # d out / d alpha_i = sigmoid'(alpha_i) * op_i(x) = s (1 - s) op_i(x): ops do not compete (Fair DARTS eq. 3)
    assert alpha.grad.tolist() == pytest.approx([s[0] * (1 - s[0]) * 6.0, s[1] * (1 - s[1]) * -3.0, 0.0])


class _Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return self.factor * x


# -- discretisation -----------------------------------------------------------------------------------------------
def _weights(kind: str, ops, values: dict[tuple[int, int], dict[str, float]], default: float) -> dict:
    out = {}
    for node in NODES:
        for source in range(node):
            row = torch.full((len(ops),), default)
            for op, v in values.get((source, node), {}).items():
                row[ops.index(op)] = v
            out[f"{kind}_{source}_{node}"] = row
    return out


def test_darts_discretisation_ignores_none_and_keeps_top2_edges():
    ops = list(OP_NAMES)
    values = {
        (0, 2): {"none": 0.9, "sep_conv_3x3": 0.05}, (1, 2): {"skip_connect": 0.3},
        (0, 3): {"max_pool_3x3": 0.2}, (1, 3): {"dil_conv_5x5": 0.4}, (2, 3): {"sep_conv_5x5": 0.5},
        (3, 4): {"avg_pool_3x3": 0.6}, (0, 4): {"skip_connect": 0.7},
        (4, 5): {"dil_conv_3x3": 0.8}, (1, 5): {"sep_conv_3x3": 0.35}, (0, 5): {"none": 0.99},
    }
    edges = discretise(_weights("normal", ops, values, 0.01), ops, kind="normal")
    assert edges == [(0, 2, "sep_conv_3x3"), (1, 2, "skip_connect"), (1, 3, "dil_conv_5x5"),
                     (2, 3, "sep_conv_5x5"), (0, 4, "skip_connect"), (3, 4, "avg_pool_3x3"),
                     (1, 5, "sep_conv_3x3"), (4, 5, "dil_conv_3x3")]


def test_fair_discretisation_drops_edges_under_threshold():
    ops = list(FAIR_OPS)
    values = {
        (0, 2): {"sep_conv_3x3": 0.99}, (1, 2): {"skip_connect": 0.84},  # 0.84 < 0.85: dropped
        (0, 3): {"max_pool_3x3": 0.95}, (2, 3): {"sep_conv_5x5": 0.97}, (1, 3): {"dil_conv_3x3": 0.9},
        (3, 4): {"dil_conv_5x5": 0.85},  # exactly at the threshold: kept
        (2, 5): {"avg_pool_3x3": 0.5}, (4, 5): {"sep_conv_3x3": 0.6},
    }
    edges = discretise(_weights("reduce", ops, values, 0.02), ops, kind="reduce", threshold=0.85)
    # node 3 keeps its two strongest edges (2 and 0; 1 is third), node 4 one edge, node 5 none
    assert edges == [(0, 2, "sep_conv_3x3"), (0, 3, "max_pool_3x3"), (2, 3, "sep_conv_5x5"),
                     (3, 4, "dil_conv_5x5")]
    space = create_space("darts", preset="smoke")
    arch = arch_from_edges(space.space, {"normal": edges, "reduce": edges})
    assert cell_edges(arch, "reduce") == edges
    assert space.build(arch)(torch.randn(2, *space.input_shape)).shape == (2, 10)
