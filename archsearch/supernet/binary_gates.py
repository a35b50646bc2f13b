"""ProxylessNAS' architecture parameters over a whole supernet: one alpha vector per `MixedOp`, each op run through a
`BinaryGate` on it. What an architecture step does to every op at once lives here (sample the gates, turn dL/dg into
alpha gradients, rescale after a two-path step), so the method reads as its algorithm box."""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.errors import ConfigError
from archsearch.supernet.mixed_op import BinaryGate, MixedOp, mixed_ops


class BinaryGates:
    """The alphas of `supernet`'s ops, drawn as ``N(0, init_std)`` from `generator` (released code
    ``--arch_init_type normal``), and a `BinaryGate` set on every op (`recompute`: see `BinaryGate`)."""

    def __init__(self, supernet: nn.Module, *, init_std: float, generator: torch.Generator, device: torch.device,
                 recompute: bool) -> None:
        self.ops: list[MixedOp] = list(mixed_ops(supernet))
        names = [op.name for op in self.ops]
        if len(set(names)) != len(names):
            raise ConfigError("binary gates: every MixedOp needs its own name (one alpha vector per block)")
        self.choices = {op.name: op.choices for op in self.ops}
        self.alphas: dict[str, nn.Parameter] = {
            op.name: nn.Parameter((torch.randn(len(op.ops), generator=generator) * init_std).to(device))
            for op in self.ops}
        self.policies: dict[str, BinaryGate] = {}
        for op in self.ops:
            op.policy = self.policies[op.name] = BinaryGate(self.alphas[op.name], recompute=recompute)

    def sample(self, generator: torch.Generator, mode: str, *, arch_grad: bool) -> None:
        """Draw every op's gate ("full" or "two", see `BinaryGate.sample`; an op of one candidate draws "full");
        `arch_grad`: the next forward also yields dL/dg for the alphas."""
        for op in self.ops:
            self.policies[op.name].sample(generator, mode if len(op.ops) > 1 else "full")
            self.policies[op.name].arch_grad = arch_grad

    def active(self) -> dict[str, int]:
        """The index of the candidate each op runs."""
        return {name: int(policy.active) for name, policy in self.policies.items()}  # type: ignore[arg-type]

    def sampled(self) -> dict[str, list[int]]:
        """The candidates each op's gate drew (all of them, or the pair in two-path mode)."""
        return {name: policy.sampled for name, policy in self.policies.items()}

    def gates(self) -> list[torch.Tensor]:
        """The gate tensors of the last forward with `arch_grad`: the leaves dL/dg is computed for."""
        return [policy.gate for policy in self.policies.values() if policy.gate is not None]

    def step(self, optimizer: torch.optim.Optimizer, *, two_path: bool) -> None:
        """After the backward pass: alpha gradients from dL/dg (paper sec. 3.2.1), the optimiser's step and, in
        two-path mode, the rescale that keeps every unsampled path's probability; the gates then stop collecting."""
        for policy in self.policies.values():
            policy.accumulate_alpha_grad()
        old = {name: alpha.detach().clone() for name, alpha in self.alphas.items()}
        optimizer.step()
        for name, policy in self.policies.items():
            if two_path:
                policy.rescale_after_step(old[name])
            policy.arch_grad = False

    def keep_outputs(self) -> None:
        """Hold every sampled candidate's output from forward to backward instead of recomputing it (a model that
        modifies a choice's output in place cannot recompute, see `recompute_allowed`)."""
        for policy in self.policies.values():
            policy.recompute = False

    def set_path(self, path: Mapping[str, object]) -> None:
        """Run candidate ``path[op]`` (a candidate name) in every op, without gradients for the alphas."""
        for name, policy in self.policies.items():
            policy.set_active(self.choices[name].index(str(path[name])))

    def most_probable(self) -> dict[str, str]:
        """Each op's candidate of the largest alpha (released code ``convert_to_normal_net``)."""
        return {name: self.choices[name][int(alpha.detach().argmax())] for name, alpha in self.alphas.items()}

    def probabilities(self) -> dict[str, list[float]]:
        """p = softmax(alpha) per op."""
        return {name: F.softmax(alpha.detach(), -1).cpu().tolist() for name, alpha in self.alphas.items()}

    def mean_entropy(self) -> float:
        """The entropy of p, averaged over the ops: how undecided the search still is."""
        entropy = sum(float(-(p * p.clamp_min(1e-12).log()).sum())
                      for p in (F.softmax(a.detach(), -1) for a in self.alphas.values()))
        return entropy / max(1, len(self.alphas))


__all__ = ["BinaryGates"]
