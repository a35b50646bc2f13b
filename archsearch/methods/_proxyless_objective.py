"""ProxylessNAS' architecture objective apart from its loop (Cai et al., ICLR 2019; released code
mit-han-lab/proxylessnas): the hardware-aware loss in its three forms, the expected cost E[LAT] or E[FLOPs] as a
differentiable function of the alphas, and REINFORCE's reward, baseline and policy gradient (sec. 3.3.2)."""

from __future__ import annotations

import math
from typing import Mapping

import torch
import torch.nn.functional as F

from archsearch.cost.latency import FIXED_PREFIX, LatencyTable, op_key
from archsearch.errors import unknown_name
from archsearch.space.choices import Categorical
from archsearch.spaces import SearchSpace
from archsearch.supernet import arch_of_path

LOSS_FORMS = ("mul_log", "add", "linear")


def hardware_loss(ce: torch.Tensor, expected: torch.Tensor | None, target: float | None, form: str, *,
                  alpha: float = 0.2, beta: float = 0.3, linear_lambda: float = 0.1,
                  additive_lambda: float | None = None, log_reference: float | None = None) -> torch.Tensor:
    """The three ways to add the expected cost E to the cross-entropy (T = target):

    * ``"add"``     paper sec. 3.3.1:        CE + lambda2 * E          (lambda2 default 0.1 / T, see the config)
    * ``"mul_log"`` released code mul#log:   alpha * CE * (log E / log T)^beta
    * ``"linear"``  released code add#linear: CE + lambda * (E - T) / T

    `log_reference` R rescales the log form's unit so that T becomes R: (log(E R / T) / log R)^beta.
    """
    if expected is None or target is None:
        return ce
    if form == "add":
        lam = additive_lambda if additive_lambda is not None else 0.1 / target
        return ce + lam * expected
    if form == "mul_log":
        if log_reference is not None:
            expected, target = expected * (log_reference / target), log_reference
        ratio = torch.log(expected) / math.log(target)
        return alpha * ce * ratio.clamp_min(1e-6) ** beta  # clamp: E below 1 unit would make log E negative
    if form == "linear":
        return ce + linear_lambda * (expected - target) / target
    raise unknown_name("loss form", form, LOSS_FORMS)


class ExpectedCost:
    """E[cost] = fixed + sum over blocks of p_block . cost_block, differentiable in the alphas.

    `per_choice[block]` lists each candidate's cost in the MixedOp's candidate order."""

    def __init__(self, fixed: float, per_choice: Mapping[str, list[float]]) -> None:
        self.fixed = float(fixed)
        self.per_choice = {k: torch.tensor(v, dtype=torch.float64) for k, v in per_choice.items()}

    def __call__(self, alphas: Mapping[str, torch.Tensor],
                 sampled: Mapping[str, list[int]] | None = None) -> torch.Tensor:
        """The expectation under p = softmax(alpha); with `sampled` (two-path mode), each listed block's p is the
        softmax over its sampled candidates only, zero elsewhere (released code ``MixedEdge.binarize``'s
        ``current_prob_over_ops``), so the cost term has no gradient on unsampled paths."""
        device = next(iter(alphas.values())).device
        total = torch.tensor(self.fixed, dtype=torch.float64, device=device)
        for name, costs in self.per_choice.items():
            costs = costs.to(device)
            alpha = alphas[name]
            if sampled is not None and name in sampled:
                index = torch.tensor(sampled[name], device=device)
                alpha, costs = alpha[index], costs[index]
            p = F.softmax(alpha, dim=-1).to(torch.float64)
            total = total + (p * costs).sum()
        return total.float()  # on the alphas' device, so it combines with the loss on GPU too

    def of_arch(self, choices: Mapping[str, list[str]], arch: Mapping[str, object]) -> float:
        return self.fixed + sum(float(self.per_choice[n][choices[n].index(str(arch[n]))]) for n in self.per_choice)

    @classmethod
    def from_latency_table(cls, table: LatencyTable, choices: Mapping[str, list[str]]) -> "ExpectedCost":
        """The table's entries through its calibration (offset + scale * sum is linear, so the expectation of the
        calibrated latency is the calibrated expectation)."""
        scale, offset = table.scale_offset
        fixed = sum(v for k, v in table.entries.items() if k.startswith(FIXED_PREFIX))
        return cls(offset + scale * fixed, {name: [scale * table[op_key(name, v)] for v in values]
                                            for name, values in choices.items()})

    @classmethod
    def from_space_macs(cls, search_space: SearchSpace, choices: Mapping[str, list[str]]) -> "ExpectedCost":
        """Per-block MACs by differences of the space's analytic cost around one base arch (exact when the cost
        is a sum over blocks, as in layer-wise spaces)."""
        first = {name: choice.values[0] if isinstance(choice, Categorical) else choice.low
                 for name, choice in search_space.space.choices.items()}  # a base value for every choice
        base = arch_of_path(search_space.space, {**first, **{name: values[0] for name, values in choices.items()}})
        base_macs = float(search_space.cost(base).macs)
        per_choice = {name: [float(search_space.cost(arch_of_path(search_space.space, {**base, name: value})).macs)
                             - base_macs for value in values] for name, values in choices.items()}
        return cls(base_macs, per_choice)


def reinforce_alpha_grads(alphas: Mapping[str, torch.Tensor], samples: list[Mapping[str, int]],
                          rewards: list[float], baseline: float) -> dict[str, torch.Tensor]:
    """Gradient (to *descend*) of -E[(R - b) log pi(net)]: mean over sampled nets of -(R - b) (onehot - p).

    `samples[k][block]` is the index of the candidate net k took in that block (paper sec. 3.3.2, code
    rl_update_step)."""
    grads = {}
    for name, alpha in alphas.items():
        p = F.softmax(alpha.detach(), dim=-1)
        g = torch.zeros_like(p)
        for sample, reward in zip(samples, rewards):
            onehot = torch.zeros_like(p)
            onehot[sample[name]] = 1.0
            g -= (reward - baseline) * (onehot - p)
        grads[name] = g / len(samples)
    return grads


def reinforce_reward(accuracy: float, cost: float | None, target: float | None, tradeoff: float) -> float:
    """Paper sec. 3.3.2 / code calculate_reward: ACC * (T / cost)^tradeoff, or ACC without a target."""
    if target is None or cost is None:
        return accuracy
    return accuracy * (target / cost) ** tradeoff


def update_baseline(baseline: float | None, mean_reward: float, decay: float) -> float:
    """Moving-average baseline b <- decay * b + (1 - decay) * mean reward (starts at the first mean reward).

    (The released code writes ``b += decay * (mean - b)``, i.e. the weights swapped; we follow the paper's
    "moving average" with decay 0.99; docs/methods/proxyless.md.)"""
    if baseline is None:
        return mean_reward
    return decay * baseline + (1.0 - decay) * mean_reward



__all__ = ["LOSS_FORMS", "ExpectedCost", "hardware_loss", "reinforce_alpha_grads", "reinforce_reward",
           "update_baseline"]
