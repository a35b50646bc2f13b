"""`MixedOp`: one choice point of a weight-sharing supernet, and the path policies methods set on it.

The op never knows the method. A method picks a policy per `MixedOp`:

* `SinglePath`   runs only the chosen candidate (SPOS, GreedyNAS, ProxylessNAS weight steps): no wasted compute.
* `Weighted`     sums every candidate weighted by softmax (DARTS) or sigmoid (Fair DARTS) of its alphas.
* `BinaryGate`   ProxylessNAS: a sampled one-hot gate g; the output is the active path's, and dL/dg_j = <dL/dy, o_j>
                 is turned into alpha gradients by the BinaryConnect-style rule of the paper (section 3.2.1):
                 dL/dalpha_i = sum_j dL/dg_j * p_j * (delta_ij - p_i), over all paths ("full") or two ("two").
                 By default the other candidates' outputs o_j are recomputed in the backward pass (`GateGradient`),
                 so an architecture step holds one path's activations, as a plain training step does.

Architecture parameters (alphas) belong to the method, not to the supernet: ``supernet.parameters()`` are the
weights only, so weight and architecture optimisers never mix.
"""

from __future__ import annotations

from typing import Callable, Iterator, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.errors import ConfigError, unknown_name
from archsearch.space.choices import Categorical
from archsearch.space.space import Arch, Space


class SinglePath:
    """Run one candidate, by name. `active` is set per step (`set_path`)."""

    def __init__(self, active: str | None = None) -> None:
        self.active = active

    def forward(self, op: "MixedOp", *inputs: torch.Tensor) -> torch.Tensor:
        if self.active is None:
            raise RuntimeError(f"MixedOp {op.name!r}: no active path; call set_path(supernet, arch) first")
        return op.ops[self.active](*inputs)


class Weighted:
    """All candidates, weighted by ``softmax(alpha)`` (DARTS) or ``sigmoid(alpha)`` (Fair DARTS, eq. 1)."""

    def __init__(self, alpha: torch.Tensor, mode: str = "softmax") -> None:
        if mode not in ("softmax", "sigmoid"):
            raise unknown_name("weighting", mode, ("softmax", "sigmoid"))
        self.alpha = alpha
        self.mode = mode

    def weights(self) -> torch.Tensor:
        return F.softmax(self.alpha, dim=-1) if self.mode == "softmax" else torch.sigmoid(self.alpha)

    def forward(self, op: "MixedOp", *inputs: torch.Tensor) -> torch.Tensor:
        w = self.weights()
        out = None
        for i, candidate in enumerate(op.ops.values()):
            term = w[i] * candidate(*inputs)
            out = term if out is None else out + term
        return out


class GateGradient(torch.autograd.Function):
    """The binary gate's output at one path's memory (released ProxylessNAS code, ``ArchGradientFunction`` of its
    default ``full_v2`` mode).

    Forward: y = the active path's output (its graph built as usual, so the input's and the active weights'
    gradients flow through that path only); saved: that output and the MixedOp's inputs, which the active path keeps
    anyway. Backward: each other sampled candidate's output o_j is recomputed without graph, one at a time, and
    dL/dg_j = <dL/dy, o_j>, exactly the gradient of ``sum_j g_j o_j`` with g one-hot, which `BinaryGate`'s "keep"
    form differentiates with every o_j held until the backward pass."""

    @staticmethod
    def forward(ctx, gate: torch.Tensor, active_out: torch.Tensor, policy: "BinaryGate", op: "MixedOp",
                *inputs: torch.Tensor) -> torch.Tensor:
        ctx.op = op
        ctx.sampled, ctx.active = list(policy.sampled), policy.active
        ctx.save_for_backward(active_out, *inputs)
        return active_out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        active_out, *inputs = ctx.saved_tensors
        candidates = list(ctx.op.ops.values())
        grad_gate = torch.zeros(len(ctx.sampled), device=grad_out.device, dtype=grad_out.dtype)
        with torch.no_grad():
            for slot, index in enumerate(ctx.sampled):
                o = active_out if index == ctx.active else candidates[index](*inputs)
                grad_gate[slot] = (grad_out * o).sum()
                del o
        return (grad_gate, grad_out, None, None) + (None,) * len(inputs)


class BinaryGate:
    """ProxylessNAS path-level binarisation.

    Call `sample(generator, mode)` before each forward. In a weight step (`arch_grad=False`) only the active path
    runs. In an architecture step autograd also yields dL/dg_j = <dL/dy, o_j> for every sampled candidate j; then
    `accumulate_alpha_grad()` applies the paper's rule. `recompute` (default) forms the o_j in the backward pass
    (`GateGradient`): one path's activations in memory. ``recompute=False`` evaluates the inactive sampled
    candidates in the forward pass, without graph, and keeps their outputs for the backward pass (released code's
    "full" / "two" modes): the same gradients, one more activation per sampled candidate held.
    In two-path mode call `rescale_after_step(old_alpha)` after the optimiser step: it keeps the two paths' combined
    probability, hence every unsampled path's probability, unchanged.
    """

    def __init__(self, alpha: torch.Tensor, *, recompute: bool = True) -> None:
        self.alpha = alpha
        self.recompute = recompute
        self.arch_grad = False
        self.sampled: list[int] = []  # candidate indices whose gates take part in the gradient
        self.active: int | None = None  # index of the one path that runs
        self.gate: torch.Tensor | None = None

    def probs(self) -> torch.Tensor:
        return F.softmax(self.alpha.detach(), dim=-1)

    def sample(self, generator: torch.Generator | None = None, mode: str = "full") -> None:
        """Draw the active path. "full": one path by p over all. "two": two distinct paths by p, then one of them by
        p renormalised over the two (released code's ``MixedEdge.binarize``)."""
        p = self.probs().cpu()
        if mode == "full":
            self.active = int(torch.multinomial(p, 1, generator=generator))
            self.sampled = list(range(p.numel()))
        elif mode == "two":
            pair = torch.multinomial(p, 2, replacement=False, generator=generator).tolist()
            pair_p = p[pair] / p[pair].sum()
            self.active = pair[int(torch.multinomial(pair_p, 1, generator=generator))]
            self.sampled = pair
        else:
            raise unknown_name("gradient mode", mode, ("full", "two"))

    def set_active(self, index: int) -> None:
        """Fix the active path (no gradient set): used for evaluation of the most likely path."""
        self.active, self.sampled = index, [index]

    def forward(self, op: "MixedOp", *inputs: torch.Tensor) -> torch.Tensor:
        if self.active is None:
            raise RuntimeError(f"MixedOp {op.name!r}: no gate sampled; call BinaryGate.sample() first")
        candidates = list(op.ops.values())
        active_out = candidates[self.active](*inputs)
        if not self.arch_grad:
            self.gate = None
            return active_out
        gate = torch.zeros(len(self.sampled), device=active_out.device, dtype=active_out.dtype, requires_grad=True)
        self.gate = gate
        if self.recompute:
            return GateGradient.apply(gate, active_out, self, op, *inputs)
        one_hot = torch.zeros(len(self.sampled), device=active_out.device, dtype=active_out.dtype)
        one_hot[self.sampled.index(self.active)] = 1.0
        g = gate + one_hot  # value: the binary gate; gradient: flows into `gate` (a leaf)
        out = None
        for slot, index in enumerate(self.sampled):
            if index == self.active:
                o = active_out
            else:
                with torch.no_grad():
                    o = candidates[index](*inputs)
            term = g[slot] * o
            out = term if out is None else out + term
        return out

    def accumulate_alpha_grad(self) -> None:
        """alpha_i.grad += sum_j dL/dg_j * p_j * (delta_ij - p_i), over the sampled set (probabilities renormalised
        over it in two-path mode)."""
        if self.gate is None or self.gate.grad is None:
            return
        dg = self.gate.grad.detach().to(self.alpha.device, self.alpha.dtype)
        idx = torch.tensor(self.sampled, device=self.alpha.device)
        p = F.softmax(self.alpha.detach()[idx], dim=-1)
        grad_sub = p * dg - p * (p * dg).sum()  # sum_j dg_j p_j (delta_ij - p_i)
        if self.alpha.grad is None:
            self.alpha.grad = torch.zeros_like(self.alpha)
        self.alpha.grad.index_add_(0, idx, grad_sub)
        self.gate = None

    def rescale_after_step(self, old_alpha: torch.Tensor) -> None:
        """Two-path mode: add log(sum exp(old) / sum exp(new)) over the two sampled alphas to both of them."""
        if len(self.sampled) != 2:
            return
        idx = torch.tensor(self.sampled, device=self.alpha.device)
        with torch.no_grad():
            offset = torch.logsumexp(old_alpha[idx], 0) - torch.logsumexp(self.alpha[idx], 0)
            self.alpha[idx] += offset


def recompute_allowed(model: nn.Module, *inputs: torch.Tensor) -> bool:
    """Whether `model`'s binary gates can recompute in the backward pass: False when the model modifies a MixedOp's
    output in place (``out += x``, ``relu_``), which autograd forbids on `GateGradient`'s pass-through output (it
    would silently change the saved output otherwise). One forward on `inputs` in eval mode (BN statistics
    untouched), every gate on its first candidate; the gates' arch-gradient state is restored."""
    gates = [op.policy for op in mixed_ops(model) if isinstance(op.policy, BinaryGate)]
    saved = [(g.active, g.sampled, g.arch_grad, g.recompute) for g in gates]
    was_training = model.training
    model.eval()
    try:
        for g in gates:
            g.active, g.sampled, g.arch_grad, g.recompute = 0, [0], True, True
        with torch.enable_grad():
            model(*inputs)
        return True
    except RuntimeError as err:
        if "is a view and is being modified inplace" in str(err):
            return False
        raise
    finally:
        model.train(was_training)
        for g, (active, sampled, arch_grad, recompute) in zip(gates, saved):
            g.active, g.sampled, g.arch_grad, g.recompute, g.gate = active, sampled, arch_grad, recompute, None


PathPolicy = SinglePath | Weighted | BinaryGate


def _channels_last_grad(grad: torch.Tensor) -> torch.Tensor | None:
    """A channels_last output's gradient, in channels_last. A global-pooling head sends back an NCHW gradient; an
    identity candidate would pass it on to every earlier layer, where each elementwise backward mixing it with
    channels_last activations ran ~10x slower (measured: ReLU backward 12 ms instead of 1.3 ms per 64x16x28x28
    activation in a DARTS step, a fifth of the step)."""
    if grad.is_contiguous(memory_format=torch.channels_last):
        return None
    return grad.contiguous(memory_format=torch.channels_last)


class MixedOp(nn.Module):
    """A named choice among candidate modules. `name` is the choice's name in the space; candidates are keyed by
    the choice's values. Forward is delegated to the policy a method sets (default: single path)."""

    def __init__(self, name: str, candidates: Mapping[str, nn.Module]) -> None:
        super().__init__()
        if not candidates:
            raise ConfigError(f"MixedOp {name!r} needs at least one candidate")
        self.name = name
        self.ops = nn.ModuleDict({str(k): v for k, v in candidates.items()})
        self.policy: PathPolicy = SinglePath()

    @property
    def choices(self) -> list[str]:
        return list(self.ops.keys())

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.policy.forward(self, *inputs)
        if (isinstance(out, torch.Tensor) and out.requires_grad and out.dim() == 4 and not out.is_contiguous()
                and out.is_contiguous(memory_format=torch.channels_last)):
            out.register_hook(_channels_last_grad)
        return out

    def extra_repr(self) -> str:
        return f"name={self.name!r}, policy={type(self.policy).__name__}"


def mixed_ops(model: nn.Module) -> Iterator[MixedOp]:
    for module in model.modules():
        if isinstance(module, MixedOp):
            yield module


def set_policy(model: nn.Module, make: Callable[[MixedOp], PathPolicy]) -> None:
    """Give every MixedOp of `model` the policy ``make(op)`` returns."""
    for op in mixed_ops(model):
        op.policy = make(op)


def set_path(model: nn.Module, arch: Mapping[str, object]) -> None:
    """Activate one path: every MixedOp runs the candidate ``arch[op.name]`` (single-path policy)."""
    for op in mixed_ops(model):
        if op.name not in arch:
            raise unknown_name("path: no value for MixedOp", op.name, arch.keys())
        value = str(arch[op.name])
        if value not in op.ops:
            raise unknown_name(f"candidate for {op.name!r}:", value, op.ops.keys())
        if not isinstance(op.policy, SinglePath):
            op.policy = SinglePath()
        op.policy.active = value


def arch_of_path(space: Space, path: Mapping[str, object]) -> Arch:
    """The `Arch` of `space` that a path of candidate names picks: a `MixedOp` keys its candidates by str(value),
    so each name goes back to its choice's own value (kernel size 3, not "3")."""
    values = {}
    for name, picked in path.items():
        choice = space.choices.get(name)
        own = choice.values if isinstance(choice, Categorical) else ()
        values[name] = next((value for value in own if str(value) == str(picked)), picked)
    return space.validate(values)


def make_alphas(model: nn.Module, init: float = 0.0) -> dict[str, nn.Parameter]:
    """One alpha vector per distinct MixedOp name (ops sharing a name share alphas, as DARTS cells do)."""
    alphas: dict[str, nn.Parameter] = {}
    for op in mixed_ops(model):
        if op.name not in alphas:
            alphas[op.name] = nn.Parameter(torch.full((len(op.ops),), float(init)))
        elif alphas[op.name].numel() != len(op.ops):
            raise ConfigError(f"MixedOps named {op.name!r} have different numbers of candidates")
    return alphas


__all__ = ["BinaryGate", "GateGradient", "MixedOp", "PathPolicy", "SinglePath", "Weighted", "arch_of_path",
           "make_alphas", "mixed_ops", "recompute_allowed", "set_path", "set_policy"]
