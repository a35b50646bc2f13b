"""ProxylessNAS' architecture objective (`archsearch.methods._proxyless_objective`, re-exported by the method's
module): the expected cost E[LAT] / E[FLOPs] as a function of the alphas, the three loss forms, REINFORCE's pieces."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from archsearch.cost.constraints import Cost
from archsearch.cost.latency import LatencyTable, device_fingerprint, op_key, predict_latency
from archsearch.errors import UsageError
from archsearch.methods.proxyless import (ExpectedCost, hardware_loss, reinforce_alpha_grads, reinforce_reward,
                                          update_baseline)
from archsearch.space.choices import Categorical, Numeric
from archsearch.space.space import Space


# -- expected latency and the loss forms ---------------------------------------------------------------------------
def _table() -> LatencyTable:
    entries = {"fixed:stem": 0.5, "fixed:head": 0.25,
               op_key("b0", "k3e3"): 1.0, op_key("b0", "k5e6"): 3.0, op_key("b0", "skip"): 0.0,
               op_key("b1", "k3e3"): 2.0, op_key("b1", "k7e6"): 6.0}
    return LatencyTable(device_fingerprint("cpu", 1), entries)


def test_expected_latency_equals_the_hand_computed_sum_and_is_differentiable():
    choices = {"b0": ["k3e3", "k5e6", "skip"], "b1": ["k3e3", "k7e6"]}
    alphas = {"b0": torch.tensor([0.0, math.log(2.0), math.log(0.5)], requires_grad=True),  # p = 2/7, 4/7, 1/7
              "b1": torch.tensor([0.0, 0.0], requires_grad=True)}  # p = 1/2, 1/2
    expected = ExpectedCost.from_latency_table(_table(), choices)(alphas)
    hand = 0.75 + (2 / 7 * 1.0 + 4 / 7 * 3.0 + 1 / 7 * 0.0) + (0.5 * 2.0 + 0.5 * 6.0)
    assert float(expected.detach()) == pytest.approx(hand, rel=1e-6)
    expected.backward()
    p = torch.tensor([2 / 7, 4 / 7, 1 / 7])
    lat = torch.tensor([1.0, 3.0, 0.0])
    torch.testing.assert_close(alphas["b0"].grad, p * (lat - (p * lat).sum()))  # d(p.lat)/dalpha


def test_expected_latency_goes_through_the_tables_calibration():
    """offset + scale * sum is linear: E[calibrated latency] = offset + scale * E[table sum], and an arch's expected
    cost (its one-hot expectation) is its calibrated prediction."""
    choices = {"b0": ["k3e3", "k5e6", "skip"], "b1": ["k3e3", "k7e6"]}
    table = _table()
    table.meta["calibration"] = {"scale": 0.8, "offset_ms": 0.3}
    alphas = {"b0": torch.tensor([0.0, math.log(2.0), math.log(0.5)]), "b1": torch.tensor([0.0, 0.0])}
    raw = float(ExpectedCost.from_latency_table(_table(), choices)(alphas))
    assert float(ExpectedCost.from_latency_table(table, choices)(alphas)) == pytest.approx(0.3 + 0.8 * raw, rel=1e-6)
    arch = {"b0": "k5e6", "b1": "k3e3"}
    assert ExpectedCost.from_latency_table(table, choices).of_arch(choices, arch) == pytest.approx(
        predict_latency(table, arch)) == pytest.approx(0.3 + 0.8 * (0.75 + 3.0 + 2.0))


def test_two_path_expected_latency_is_over_the_sampled_pair_renormalised():
    choices = {"b0": ["k3e3", "k5e6", "skip"], "b1": ["k3e3", "k7e6"]}
    alphas = {"b0": torch.tensor([0.0, math.log(2.0), math.log(0.5)], requires_grad=True),
              "b1": torch.tensor([0.0, 0.0], requires_grad=True)}
    expected = ExpectedCost.from_latency_table(_table(), choices)(alphas, {"b0": [2, 0], "b1": [0, 1]})
    hand = 0.75 + (1 / 3 * 0.0 + 2 / 3 * 1.0) + (0.5 * 2.0 + 0.5 * 6.0)  # b0's pair (skip, k3e3): p 1/3, 2/3
    assert float(expected.detach()) == pytest.approx(hand, rel=1e-6)
    expected.backward()
    assert float(alphas["b0"].grad[1]) == 0.0  # the unsampled k5e6 gets no gradient from the cost term
    assert alphas["b0"].grad.sum().abs() < 1e-6 and float(alphas["b0"].grad[0]) > 0  # k3e3 costlier than skip


def test_predicted_arch_latency_is_the_sum_of_its_entries():
    table = _table()
    assert predict_latency(table, {"b0": "k5e6", "b1": "k3e3"}) == pytest.approx(0.75 + 3.0 + 2.0)
    assert predict_latency(table, {"b0": "skip", "b1": "k7e6", "lr": 0.1}) == pytest.approx(6.75)
    assert ExpectedCost.from_latency_table(table, {"b0": ["k3e3", "k5e6", "skip"], "b1": ["k3e3", "k7e6"]}) \
        .of_arch({"b0": ["k3e3", "k5e6", "skip"], "b1": ["k3e3", "k7e6"]}, {"b0": "skip", "b1": "k7e6"}) == 6.75


def test_three_loss_forms():
    ce, e = torch.tensor(2.0), torch.tensor(6.0)
    assert float(hardware_loss(ce, e, 8.0, "add")) == pytest.approx(2.0 + 0.1 / 8.0 * 6.0)
    assert float(hardware_loss(ce, e, 8.0, "add", additive_lambda=0.5)) == pytest.approx(5.0)
    assert float(hardware_loss(ce, e, 8.0, "mul_log")) == pytest.approx(0.2 * 2.0 * (math.log(6) / math.log(8)) ** 0.3)
    assert float(hardware_loss(ce, e, 8.0, "mul_log", log_reference=80.0)) == pytest.approx(
        0.2 * 2.0 * (math.log(60.0) / math.log(80.0)) ** 0.3)  # E/T = 0.75 mapped to 60 / 80
    assert float(hardware_loss(ce, e, 8.0, "linear")) == pytest.approx(2.0 + 0.1 * (6.0 - 8.0) / 8.0)
    assert float(hardware_loss(ce, None, None, "mul_log")) == 2.0
    with pytest.raises(UsageError, match="loss form"):
        hardware_loss(ce, e, 8.0, "cubic")


# -- REINFORCE -------------------------------------------------------------------------------------------------------
def test_reinforce_moves_probability_towards_the_rewarded_op():
    alphas = {"b0": nn.Parameter(torch.zeros(2))}
    samples, rewards = [{"b0": 0}, {"b0": 1}], [1.0, 0.0]
    grads = reinforce_alpha_grads(alphas, samples, rewards, baseline=0.5)
    torch.testing.assert_close(grads["b0"], torch.tensor([-0.25, 0.25]))  # mean of -(R - b)(onehot - p)
    alphas["b0"].grad = grads["b0"]
    torch.optim.SGD(alphas.values(), lr=1.0).step()
    torch.testing.assert_close(alphas["b0"].detach(), torch.tensor([0.25, -0.25]))
    assert update_baseline(None, 0.4, 0.99) == 0.4
    assert update_baseline(0.4, 0.9, 0.99) == pytest.approx(0.99 * 0.4 + 0.01 * 0.9)
    assert reinforce_reward(0.8, 10.0, 5.0, 0.1) == pytest.approx(0.8 * 0.5 ** 0.1)
    assert reinforce_reward(0.8, None, None, 0.1) == 0.8


class _SumSpace:
    """A space whose MACs are a sum over its choices, one of them int-valued (its MixedOp keys are "1", "3", "5")
    and one not searched by any MixedOp."""

    name, input_shape, num_classes = "sum", (1, 4, 4), 2
    space = Space({"kernel": Categorical([1, 3, 5]), "act": Categorical(["relu", "tanh"]),
                   "width": Numeric(1, 4, step=1)}, name="sum")

    def cost(self, arch):
        assert isinstance(arch["kernel"], int)  # the choice's own value, not its MixedOp key
        return Cost(macs=100 * arch["kernel"] ** 2 + 7 * (arch["act"] == "tanh") + 10 * arch["width"], params=0)

    def build(self, arch):
        raise NotImplementedError


def test_expected_macs_of_an_arch_is_its_cost_when_the_cost_is_a_sum_over_blocks():
    search_space = _SumSpace()
    choices = {"kernel": ["1", "3", "5"], "act": ["relu", "tanh"]}
    expected = ExpectedCost.from_space_macs(search_space, choices)
    for kernel in (1, 3, 5):
        for act in ("relu", "tanh"):
            cost = search_space.cost({"kernel": kernel, "act": act, "width": 1})  # width: its first value
            assert expected.of_arch(choices, {"kernel": str(kernel), "act": act}) == pytest.approx(cost.macs)
    alphas = {"kernel": torch.zeros(3), "act": torch.zeros(2)}  # uniform p: the mean over each block
    assert float(expected(alphas)) == pytest.approx(100 * (1 + 9 + 25) / 3 + 7 / 2 + 10, rel=1e-6)
