"""DARTS / Fair DARTS: the cell space, the weighted mixed op, zero-one loss, discretisation, second-order gradient,
exact resume."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from archsearch.errors import ConfigError, UsageError
from archsearch.experiment.testing import MemoryContext, SimulatedCrash
from archsearch.spaces import create_space
from archsearch.spaces.darts import (FAIR_OPS, NODES, OP_NAMES, arch_from_edges, cell_edges, discretise,
                                     live_nodes)
from archsearch.supernet import MixedOp, Weighted, make_alphas, set_policy
from support import rows_splits

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


# -- zero-one loss ------------------------------------------------------------------------------------------------
def test_zero_one_loss_values_and_gradients():
    from archsearch.methods.darts import zero_one_loss

    a = torch.tensor([0.0, 2.0, -1.0], requires_grad=True)
    b = torch.tensor([[3.0]], requires_grad=True)
    s = torch.sigmoid(torch.tensor([0.0, 2.0, -1.0, 3.0]))
    l2 = zero_one_loss([a, b], "l2")
    assert l2.item() == pytest.approx(-float(((s - 0.5) ** 2).mean()), rel=1e-6)
    l2.backward()
    # d/dalpha -mean((s - 0.5)^2) = -2 (s - 0.5) s (1 - s) / N: zero at alpha = 0, pushes others away from 0.5
    expected = (-2 * (s - 0.5) * s * (1 - s) / 4).tolist()
    assert a.grad.tolist() + b.grad.flatten().tolist() == pytest.approx(expected, abs=1e-7)
    a.grad = b.grad = None
    l1 = zero_one_loss([a, b], "l1")
    assert l1.item() == pytest.approx(-float((s - 0.5).abs().mean()), rel=1e-6)
    l1.backward()
    expected = (-torch.sign(s - 0.5) * s * (1 - s) / 4).tolist()
    assert a.grad.tolist() + b.grad.flatten().tolist() == pytest.approx(expected, abs=1e-7)
    assert zero_one_loss([torch.tensor([50.0, -50.0])]).item() == pytest.approx(-0.25)
    with pytest.raises(UsageError):
        zero_one_loss([a], "l3")


# -- second-order architecture gradient ---------------------------------------------------------------------------
def test_second_order_gradient_matches_the_exact_unrolled_gradient():
    """On a tiny model the finite-difference approximation of DARTS eq. 8 equals the exact gradient of
    alpha -> L_val(w - xi (grad_w L_train(w, alpha) + wd w + momentum buf), alpha) (double backprop)."""
    from archsearch.methods.darts import second_order_alpha_grads

    g = torch.Generator().manual_seed(0)
    x_train, x_val = torch.randn(6, 3, generator=g), torch.randn(5, 3, generator=g)
    y_train, y_val = torch.randn(6, generator=g), torch.randn(5, generator=g)
    w = nn.Parameter(torch.randn(3, generator=g))
    alpha = torch.randn(2, generator=g, requires_grad=True)
    buf = torch.randn(3, generator=g)
    xi, wd, momentum = 0.1, 0.01, 0.9

    def loss(weights, x, y):
        mix = torch.softmax(alpha, 0)
        hidden = x * weights
        pred = mix[0] * hidden.sum(1) + mix[1] * torch.tanh(hidden).sum(1)
        return ((pred - y) ** 2).mean()

    grads, _ = second_order_alpha_grads([alpha], [w], lambda: loss(w, x_train, y_train), lambda: loss(w, x_val, y_val),
                                        xi=xi, weight_decays=[wd], momentum_buffers=[buf], momentum=momentum)
    w0 = w.detach().clone()
    assert torch.equal(w.detach(), w0)  # weights restored
    weights = w0.clone().requires_grad_(True)
    inner = torch.autograd.grad(loss(weights, x_train, y_train), weights, create_graph=True)[0]
    unrolled = w0 - xi * (inner + wd * w0 + momentum * buf)
    exact = torch.autograd.grad(loss(unrolled, x_val, y_val), alpha)[0]
    first_order = torch.autograd.grad(loss(w0, x_val, y_val), alpha)[0]
    torch.testing.assert_close(grads[0], exact, rtol=1e-3, atol=1e-5)
    assert not torch.allclose(first_order, exact, rtol=1e-2)  # the second-order term matters here


# -- the methods: logging and exact resume --------------------------------------------------------------------------
def _method(name, **changes):
    from archsearch.methods.darts import Darts, DartsConfig, FairDarts, FairDartsConfig

    values = {"epochs": 2, "steps_per_epoch": 2, "batch_size": 8, **changes}
    return (Darts, DartsConfig(**values)) if name == "darts" else (FairDarts, FairDartsConfig(**values))


@pytest.mark.parametrize("name,changes", [("darts", {"order": 2}), ("fairdarts", {"zero_one": "l1"})])
@pytest.mark.integration
def test_resume_equals_an_uninterrupted_run(name, changes):
    space = create_space("darts", preset="smoke", input_shape=(1, 8, 8), stem_stride=1)
    splits = rows_splits()
    cls, config = _method(name, **changes)
    ctx = MemoryContext(space, splits=splits)
    straight = cls(config, ctx)
    result = straight.run()

    crashed_ctx = MemoryContext(space, splits=splits, crash_after=1)
    with pytest.raises(SimulatedCrash):
        cls(config, crashed_ctx).run()
    resumed = cls(config, MemoryContext(space, splits=splits))
    resumed.load_state_dict(crashed_ctx.latest())
    resumed_result = resumed.run()

    assert resumed_result.best.arch == result.best.arch
    assert resumed_result.best.objectives == result.best.objectives
    for key, alpha in straight.search.alphas.items():
        assert torch.equal(resumed.search.alphas[key], alpha)
    resumed_weights = resumed.search.supernet.state_dict()
    for key, value in straight.search.supernet.state_dict().items():
        assert torch.equal(resumed_weights[key], value)
    # per-epoch op weights (epoch 0 = initial) and search records were logged
    alphas_rows = [{k: v for k, v in row.items() if k != "step"} for row in ctx.metrics["alphas"]]
    assert [row["step"] for row in ctx.metrics["alphas"]] == [0, 1, 2]
    ops = FAIR_OPS if name == "fairdarts" else OP_NAMES
    assert len(alphas_rows[0]) == 28 * len(ops)
    if name == "fairdarts":  # zero init: every sigmoid starts at 0.5
        assert set(alphas_rows[0].values()) == {0.5}
    assert [row["step"] for row in ctx.metrics["search"]] == [1, 2]
    assert result.extra["genotype"]["normal"] == [list(e) for e in cell_edges(result.best.arch, "normal")]


def test_weight_step_moves_weights_but_not_alpha_gradients():
    """The weight step freezes the alphas (no wasted backward into them) and leaves them trainable afterwards."""
    space = create_space("darts", preset="smoke", input_shape=(1, 8, 8), stem_stride=1)
    cls, config = _method("darts", order=1)
    search = cls(config, MemoryContext(space, splits=rows_splits())).search
    search._setup()
    (x, y), (x_val, y_val) = next(iter(search._batches)), next(iter(search._arch_batches))
    search.arch_step(x, y, x_val, y_val)
    arch_grads = {k: a.grad.clone() for k, a in search.alphas.items()}
    before = [p.detach().clone() for p in search.supernet.parameters()]
    search.weight_step(x, y)
    assert any(not torch.equal(b, p) for b, p in zip(before, search.supernet.parameters()))
    for key, alpha in search.alphas.items():
        assert alpha.requires_grad
        assert torch.equal(alpha.grad, arch_grads[key])


def test_fairdarts_and_darts_configs_validate():
    from archsearch.methods.darts import DartsConfig, FairDartsConfig

    with pytest.raises(ConfigError, match="order"):
        DartsConfig(order=3)
    with pytest.raises(UsageError, match="zero-one"):
        FairDartsConfig(zero_one="l3")
    assert FairDartsConfig(zero_one="L1").zero_one == "l1"
    assert FairDartsConfig.CLI_FLAGS == {"--zero-one": "zero_one", "--w01": "w01"}
    assert DartsConfig.CLI_FLAGS == {"--order": "order"}


# -- report ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["darts", "fairdarts"])
@pytest.mark.integration
def test_report_plots_from_logged_metrics(tmp_path, method):
    import importlib
    import json

    ops = list(FAIR_OPS if method == "fairdarts" else OP_NAMES)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    rng = np.random.default_rng(0)
    with open(metrics / "alphas.jsonl", "w") as f:
        for epoch in range(3):
            row = {f"{kind}_{s}_{n}/{op}": float(rng.random()) for kind in ("normal", "reduce") for n in NODES
                   for s in range(n) for op in ops}
            f.write(json.dumps({"step": epoch, **row}) + "\n")
        f.write('{"step": 3, "normal_0_2/none": 0.')  # a torn last line of an interrupted run is skipped
    with open(metrics / "search.jsonl", "w") as f:
        for epoch in (1, 2):
            f.write(json.dumps({"step": epoch, "normal_skips": epoch, "reduce_skips": 0, "train_loss": 1.0}) + "\n")
    paths = importlib.import_module(f"archsearch.report.methods.{method}").plots(tmp_path, tmp_path / "report")
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{method}_{n}.png" for n in ("alphas_normal", "alphas_reduce", "final_weights",
                                                          "cell_normal", "cell_reduce", "skips"))
    assert all(p.stat().st_size > 1000 for p in paths)


def test_trainer_adds_the_auxiliary_head_loss():
    from archsearch.train import Recipe, Trainer

    space = create_space("darts", preset="smoke", auxiliary=True, input_shape=(1, 16, 16))
    arch = arch_from_edges(space.space, DARTS_V2)
    x, y = torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 2, 3])
    with_head = space.build(arch)
    plain = create_space("darts", preset="smoke", auxiliary=False, input_shape=(1, 16, 16)).build(arch)
    plain.load_state_dict({k: v for k, v in with_head.state_dict().items() if not k.startswith("auxiliary")})
    losses = []
    for net in (with_head, plain):
        trainer = Trainer(net, Recipe(augment=False, channels_last=False), steps_per_epoch=1, epochs=1)
        losses.append(trainer.step(x, y))
    aux = F.cross_entropy(with_head.auxiliary_logits, y).item()
    assert losses[0] == pytest.approx(losses[1] + 0.4 * aux, rel=1e-4)
    assert space.auxiliary_weight == 0.4


@pytest.mark.parametrize("threshold, degenerate", [(0.85, True), (0.49, False)])
def test_fairdarts_names_a_degenerate_derivation_and_what_to_do(threshold, degenerate):
    """No sigmoid reaches the threshold after a short search (here none at all: the sigmoids stay at their initial
    0.5: one step at a vanishing architecture lr), so every edge is dropped and the cells hold no op: the run says
    so, in its output and in the result."""
    space = create_space("darts", preset="smoke", input_shape=(1, 8, 8), stem_stride=1)
    cls, config = _method("fairdarts", epochs=1, steps_per_epoch=1, arch_lr=1e-12, threshold=threshold)
    ctx = MemoryContext(space, splits=rows_splits())
    result = cls(config, ctx).run()
    warnings = result.extra.get("warnings", [])
    if not degenerate:
        assert result.extra["genotype"]["normal"] and not warnings
        return
    assert result.extra["genotype"] == {"normal": [], "reduce": []}
    (warning,) = warnings
    assert "degenerate genotype" in warning and "threshold 0.85" in warning and "normal and reduce cells" in warning
    assert "the strongest is 0.500 after 1 epoch(s)" in warning and "--budget" in warning
    assert re.search(r"--set threshold=0\.(49|50)\)", warning)
    assert f"warning: {warning}" in ctx.messages
