"""DARTS' and Fair DARTS' architecture side, apart from the bilevel loop: which choices get alphas and how they
start (and whether a weighted sum of a choice's candidates can be formed at all), the pieces of the alpha gradient
(DARTS eq. 7-8 second order, Fair DARTS' zero-one loss eq. 4 / 6), and the derivation: a generic space's choice
from its weights, and what a Fair DARTS cell that kept no op means."""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import torch
import torch.nn as nn

from archsearch.errors import ConfigError, unknown_name
from archsearch.spaces import WeightSharingSpace
from archsearch.spaces.darts import CELL_KINDS, DartsSpace, Edge
from archsearch.supernet import Weighted, make_alphas, mixed_ops, set_policy
from archsearch.train.task import seeded

ZERO_ONE_FORMS = ("l2", "l1")
ZERO_OPS = ("none", "zero")  # candidate names of a user's zero op: DARTS's derivation never picks one (sec. 2.4)


def choice_candidates(supernet: nn.Module, search_space: DartsSpace | WeightSharingSpace,
                      method: str) -> dict[str, list[str]]:
    """Each MixedOp name's candidates (one entry per name: ops sharing a name share alphas). On a generic space
    every choice of the space must be a MixedOp of the supernet, or the derived arch would miss it."""
    choices: dict[str, list[str]] = {}
    for op in mixed_ops(supernet):
        choices.setdefault(op.name, op.choices)
    if not choices:
        raise ConfigError(f"{method}: the supernet of space {search_space.name!r} has no MixedOp (LayerChoice / "
                          "InputChoice) to weigh")
    if not isinstance(search_space, DartsSpace):
        missing = [name for name in search_space.space.choices if name not in choices]
        if missing:
            raise ConfigError(f"{method}: choice(s) {missing} of space {search_space.name!r} are not MixedOps of its "
                              "supernet, so no weights can decide them")
    return choices


def weighted_alphas(supernet: nn.Module, weighting: str, *, init_std: float, generator: torch.Generator,
                    device: torch.device) -> dict[str, nn.Parameter]:
    """The alphas (one vector per MixedOp name, `make_alphas`), drawn as ``init_std * N(0, 1)`` (DARTS code: 1e-3;
    Fair DARTS code: zeros), each op then the `Weighted` sum of its candidates ("softmax" or "sigmoid" of them)."""
    alphas = make_alphas(supernet)
    if init_std > 0:
        with torch.no_grad():
            for alpha in alphas.values():
                alpha.copy_(torch.randn(alpha.shape, generator=generator) * init_std)
    alphas = {name: nn.Parameter(alpha.detach().to(device)) for name, alpha in alphas.items()}
    set_policy(supernet, lambda op: Weighted(alphas[op.name], weighting))
    return alphas


def check_weighted_sum(search_space: WeightSharingSpace, method: str) -> None:
    """A single-path method runs one candidate per choice, so candidates may differ in output shape (a stride-2
    pool beside an identity, before a global pool); a weighted sum of all of them cannot. One forward of the
    weighted supernet on zeros finds such a choice (the supernet is built under a fixed seed, the caller's random
    stream left alone; a user's space without an input shape yet is checked when the run gives it one)."""
    shape = search_space.input_shape
    if not shape:
        return
    with seeded(0):
        supernet = search_space.supernet()
    ops = list(mixed_ops(supernet))
    shapes: dict[str, dict[str, tuple[int, ...]]] = {}
    hooks = []
    for op in ops:
        op.policy = Weighted(torch.zeros(len(op.ops)))
        for value, candidate in op.ops.items():
            hooks.append(candidate.register_forward_hook(
                lambda module, args, out, name=op.name, value=value: shapes.setdefault(name, {}).__setitem__(
                    value, tuple(out.shape) if isinstance(out, torch.Tensor) else ())))
    try:
        with torch.no_grad():
            supernet.eval()(torch.zeros(2, *shape))
    except RuntimeError:
        for name, outputs in shapes.items():
            if len(set(outputs.values())) > 1:
                listed = ", ".join(f"{value} {list(out[1:])}" for value, out in outputs.items())
                raise ConfigError(f"{method} sums every candidate of a choice, so they must give outputs of one "
                                  f"shape; choice {name!r} gives {listed}") from None
        raise
    finally:
        for hook in hooks:
            hook.remove()


def degenerate_cells_warning(method: str, threshold: float, cells: Mapping[str, Sequence[Edge]],
                             weights: Mapping[str, torch.Tensor], ops: Sequence[str], epochs: int) -> str | None:
    """Fair DARTS keeps an edge only when its best op's sigmoid reaches the threshold; after a short search (few
    epochs for the zero-one loss to push the sigmoids to 0 or 1) none may, and a cell is derived with no op at
    all: a degenerate network, named here with what to do about it (None when every cell kept an op)."""
    empty = [kind for kind in CELL_KINDS if not cells[kind]]
    if not empty:
        return None
    strongest = max(float(w[i]) for w in weights.values() for i, op in enumerate(ops) if op != "none")
    which, plural = " and ".join(empty), len(empty) > 1
    lower = max(0.01, math.floor(strongest * 100) / 100)  # at or below the strongest: its edge is kept
    return (f"{method} derived a degenerate genotype: no op's sigmoid reached the threshold {threshold:g} on any "
            f"edge of the {which} cell{'s' if plural else ''} (the strongest is {strongest:.3f} after {epochs} "
            f"epoch(s)), so {'they hold' if plural else 'it holds'} no operation (every edge 'none'); raise the "
            "budget (--budget: more epochs for the zero-one loss to push the sigmoids to 0 or 1) or lower the "
            f"threshold (--set threshold={lower:.2f})")


def derive_choice(weights: torch.Tensor, candidates: Sequence[str], *,
                  threshold: float | None = None) -> tuple[str, list[str]]:
    """One choice of a generic space from its candidates' weights: (chosen candidate, kept candidates).

    DARTS (`threshold=None`, softmax weights): the argmax, never a candidate named ``none`` / ``zero`` when another
    exists (DARTS sec. 2.4 excludes the zero op); kept = [chosen]. Fair DARTS (sigmoid weights): the threshold
    decides which ops are kept (sec. 4: sigmoid >= 0.85), which on a cell edge may be several or none; a one-of-k
    `LayerChoice` must run exactly one op, so it takes the op of the highest sigmoid, and kept lists every op at or
    above the threshold (reported, not built). Ties go to the earlier candidate.
    """
    w = [float(v) for v in weights.detach().float().cpu()]
    if len(w) != len(candidates):
        raise ConfigError(f"{len(w)} weights for {len(candidates)} candidates")
    eligible = list(range(len(w)))
    if threshold is None:
        eligible = [i for i in eligible if str(candidates[i]).lower() not in ZERO_OPS] or eligible
    best = max(eligible, key=lambda i: (w[i], -i))
    kept = [best] if threshold is None else [i for i in range(len(w)) if w[i] >= threshold]
    return str(candidates[best]), [str(candidates[i]) for i in kept]


def zero_one_loss(alphas: Sequence[torch.Tensor], form: str = "l2") -> torch.Tensor:
    """Fair DARTS eq. 4 / 6: L01 = -mean((sigmoid(alpha) - 0.5)^2) ("l2") or -mean(|sigmoid(alpha) - 0.5|) ("l1"),
    over every architecture weight of both cells; minimising it pushes each sigmoid towards 0 or 1."""
    sig = torch.sigmoid(torch.cat([a.reshape(-1) for a in alphas]))
    if form == "l2":
        return -(sig - 0.5).pow(2).mean()
    if form == "l1":
        return -(sig - 0.5).abs().mean()
    raise unknown_name("zero-one loss form", form, ZERO_ONE_FORMS)


def second_order_alpha_grads(alphas: Sequence[torch.Tensor], weights: Sequence[torch.Tensor],
                             train_loss: Callable[[], torch.Tensor], val_loss: Callable[[], torch.Tensor], *,
                             xi: float, weight_decays: Sequence[float], momentum_buffers: Sequence[torch.Tensor | None],
                             momentum: float, eps: float = 0.01) -> tuple[list[torch.Tensor], torch.Tensor]:
    """DARTS eq. 7-8: the architecture gradient through one virtual weight step, Hessian-vector product by finite
    differences. Returns (alpha gradients, validation loss at w').

    The virtual step is the weight optimiser's own step (released code ``_compute_unrolled_model``):
    ``w' = w - xi (momentum * buffer + grad_w L_train + wd * w)``. Then with ``dw = grad_w' L_val(w', alpha)`` and
    ``r = eps / ||dw||``: ``grad = grad_alpha L_val(w', alpha) - xi (grad_alpha L_train(w + r dw) - grad_alpha
    L_train(w - r dw)) / (2 r)``. The weights are modified in place and restored before returning.
    """
    alphas, weights = list(alphas), list(weights)
    original = [w.detach().clone() for w in weights]
    try:
        grads_train = torch.autograd.grad(train_loss(), weights, allow_unused=True)
        with torch.no_grad():
            for w, w0, g, wd, buf in zip(weights, original, grads_train, weight_decays, momentum_buffers):
                step = wd * w0 if g is None else g + wd * w0
                if buf is not None:
                    step = step + momentum * buf
                w.copy_(w0 - xi * step)
        loss_val = val_loss()
        grads = torch.autograd.grad(loss_val, alphas + weights, allow_unused=True)
        d_alpha = [torch.zeros_like(a) if g is None else g for a, g in zip(alphas, grads[:len(alphas)])]
        d_w = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads[len(alphas):])]
        norm = torch.sqrt(sum((g.float() ** 2).sum() for g in d_w))
        r = eps / max(float(norm), 1e-12)
        finite: list[list[torch.Tensor]] = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, w0, g in zip(weights, original, d_w):
                    w.copy_(w0 + sign * r * g)
            g_alpha = torch.autograd.grad(train_loss(), alphas, allow_unused=True)
            finite.append([torch.zeros_like(a) if g is None else g for a, g in zip(alphas, g_alpha)])
        hessian_vector = [(gp - gn) / (2 * r) for gp, gn in zip(*finite)]
        return [da - xi * hv for da, hv in zip(d_alpha, hessian_vector)], loss_val.detach()
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, original):
                w.copy_(w0)


def virtual_step_inputs(optimizer: torch.optim.Optimizer) -> tuple[list[torch.Tensor], list[float],
                                                                      list[torch.Tensor | None]]:
    """The weights of a momentum-SGD `optimizer`, each with its weight decay and momentum buffer (None before its
    first step): what `second_order_alpha_grads`' virtual step reads (released code ``_compute_unrolled_model``)."""
    weights, decays, buffers = [], [], []
    for group in optimizer.param_groups:
        for p in group["params"]:
            weights.append(p)
            decays.append(group["weight_decay"])
            buffers.append(optimizer.state.get(p, {}).get("momentum_buffer"))
    return weights, decays, buffers


__all__ = ["ZERO_ONE_FORMS", "ZERO_OPS", "check_weighted_sum", "choice_candidates", "degenerate_cells_warning",
           "derive_choice",
           "second_order_alpha_grads", "virtual_step_inputs", "weighted_alphas", "zero_one_loss"]
