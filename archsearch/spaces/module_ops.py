"""The ops of a user's space, for a latency table: each choice's candidates and the parts every arch shares, at the
input each one sees in the network.

A user space is an ordinary model, so its blocks are not listed anywhere: they are found by running it. Forward
pre-hooks on every candidate of every `LayerChoice` / `InputChoice` and on every fixed part (the largest submodules
holding no choice: a stem, a head) record the shapes of their arguments, on a batch of 2 (the batch dimension is
dropped). The base arch (each choice's first candidate), every arch that changes one choice from it, and a few
random archs are traced: a table needs each choice and fixed part to see one input whatever the other choices
are, since an op is timed once, at that input. When that does not hold, or a choice sits inside another's
candidate (its cost would depend on the outer choice), or a choice runs other than once per forward pass, the
trace says so in one line.

Functional code in a ``forward`` (``x + y``, ``torch.cat``) is in no module, so no entry times it; the table's
whole-network calibration (``offset + scale * table sum``) absorbs it.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from archsearch.cost.timing import InputSpec, OpInputs
from archsearch.errors import UsageError
from archsearch.supernet.mixed_op import MixedOp, set_path

TRACE_BATCH = 2
RANDOM_ARCHS = 4  # random archs traced beyond the one-choice changes (choices that interact)
MAX_TRACED = 400  # forward passes at most (a huge space is checked on the one-choice changes it has room for)


@dataclass(frozen=True)
class Block:
    """A choice as a latency table sees it: its label, the input its candidates get, its candidate names."""

    name: str
    input_shape: InputSpec
    values: tuple[str, ...]


class ModuleOps:
    """The traced ops of `model` on inputs of `input_shape` (module docstring): `blocks`, `make_candidate`,
    `fixed_modules` and a `signature` of what the ops are, the protocol `archsearch.cost.latency.space_ops` reads."""

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...], label: str = "user") -> None:
        self.label = label
        self.model = copy.deepcopy(model).eval()
        self.choices: dict[str, MixedOp] = {}
        paths: dict[str, str] = {}
        for path, module in self.model.named_modules():
            if isinstance(module, MixedOp):
                self.choices.setdefault(module.name, module)
                paths.setdefault(module.name, path)
        self._refuse_nested(paths)
        self.fixed: dict[str, nn.Module] = {}
        self._collect_fixed(self.model, "")
        self.blocks, self._fixed_calls = self._trace(tuple(int(s) for s in input_shape))

    # -- the protocol of space_ops ---------------------------------------------------------------------------------
    def make_candidate(self, block: str, value: str) -> nn.Module:
        return copy.deepcopy(self.choices[block].ops[str(value)])

    def fixed_modules(self) -> list[tuple[str, Callable[[], nn.Module], InputSpec]]:
        out = []
        for path, specs in self._fixed_calls.items():
            for i, spec in enumerate(specs):
                name = path if i == 0 else f"{path}#{i + 1}"  # a part called twice costs twice
                out.append((name, lambda m=self.fixed[path]: copy.deepcopy(m), spec))
        return out

    @property
    def signature(self) -> str:
        """What the ops are (their modules' reprs): two spaces with the same labels and shapes but other layers get
        other tables."""
        text = repr([(b.name, [repr(self.choices[b.name].ops[v]) for v in b.values]) for b in self.blocks] +
                    [(path, repr(self.fixed[path])) for path in self._fixed_calls])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- tracing ---------------------------------------------------------------------------------------------------
    def _refuse_nested(self, paths: dict[str, str]) -> None:
        for inner, inner_path in paths.items():
            for outer, outer_path in paths.items():
                if inner != outer and inner_path.startswith(f"{outer_path}." if outer_path else ""):
                    raise UsageError(f"space {self.label}: choice {inner!r} sits inside a candidate of choice "
                                     f"{outer!r}, so its cost depends on the outer choice; a latency table needs "
                                     "choices that are not nested")

    def _collect_fixed(self, module: nn.Module, path: str) -> None:
        """The largest submodules without a choice inside (a choice's own candidates are the choice's)."""
        for name, child in module.named_children():
            child_path = f"{path}.{name}" if path else name
            if isinstance(child, MixedOp):
                continue
            if any(isinstance(m, MixedOp) for m in child.modules()):
                self._collect_fixed(child, child_path)
            else:
                self.fixed.setdefault(child_path, child)

    def _archs(self) -> list[dict[str, str]]:
        base = {name: op.choices[0] for name, op in self.choices.items()}
        archs = [base]
        for name, op in self.choices.items():
            archs += [dict(base, **{name: value}) for value in op.choices[1:]]
        rng = np.random.default_rng(0)
        archs = archs[:MAX_TRACED - RANDOM_ARCHS]
        archs += [{name: op.choices[int(rng.integers(len(op.choices)))] for name, op in self.choices.items()}
                  for _ in range(RANDOM_ARCHS)]
        return archs

    def _trace(self, input_shape: tuple[int, ...]) -> tuple[list[Block], dict[str, list[InputSpec]]]:
        calls: list[tuple[str, str, InputSpec]] = []  # (kind, name, input), kind "choice" or "fixed"

        def hook(kind: str, name: str) -> Callable:
            def record(module: nn.Module, args: tuple, kwargs: dict) -> None:
                if kwargs:
                    raise UsageError(f"space {self.label}: {kind} {name!r} is called with keyword arguments "
                                     f"({', '.join(kwargs)}); a latency table times ops called with tensors")
                calls.append((kind, name, self._spec(kind, name, args)))
            return record

        handles = [m.register_forward_pre_hook(hook("fixed part", p), with_kwargs=True) for p, m in self.fixed.items()]
        for name, op in self.choices.items():
            handles += [candidate.register_forward_pre_hook(hook("choice", name), with_kwargs=True)
                        for candidate in op.ops.values()]
        seen_choices: dict[str, InputSpec] | None = None
        seen_fixed: dict[str, list[InputSpec]] | None = None
        try:
            for arch in self._archs():
                calls.clear()
                set_path(self.model, arch)
                try:
                    with torch.no_grad():
                        self.model(torch.zeros(TRACE_BATCH, *input_shape))
                except UsageError:
                    raise
                except Exception as err:
                    raise UsageError(f"space {self.label}: a forward pass of arch {arch} fails: "
                                     f"{type(err).__name__}: {' '.join(str(err).split())[:200]}") from None
                choices, fixed = self._check_calls(calls, arch)
                if seen_choices is None:
                    seen_choices, seen_fixed = choices, fixed
                    continue
                self._same(seen_choices, choices, "choice", arch)
                self._same(seen_fixed, fixed, "fixed part", arch)
        finally:
            for handle in handles:
                handle.remove()
        blocks = [Block(name, seen_choices[name], tuple(op.choices)) for name, op in self.choices.items()]
        return blocks, dict(seen_fixed or {})

    def _check_calls(self, calls: list[tuple[str, str, InputSpec]],
                     arch: dict[str, str]) -> tuple[dict[str, InputSpec], dict[str, list[InputSpec]]]:
        choices: dict[str, list[InputSpec]] = {}
        fixed: dict[str, list[InputSpec]] = {}
        for kind, name, spec in calls:
            (choices if kind == "choice" else fixed).setdefault(name, []).append(spec)
        for name in self.choices:
            count = len(choices.get(name, []))
            if count != 1:
                raise UsageError(f"space {self.label}: choice {name!r} runs {count} times in a forward pass of arch "
                                 f"{arch}; a latency table needs every choice to run once per pass")
        return {name: specs[0] for name, specs in choices.items()}, fixed

    def _same(self, before: Any, now: Any, kind: str, arch: dict[str, str]) -> None:
        if before == now:
            return
        names = sorted(set(before) | set(now), key=str)
        name = next(n for n in names if before.get(n) != now.get(n))
        raise UsageError(f"space {self.label}: {kind} {name!r} sees input {_text(before.get(name))} with each "
                         f"choice's first candidate and {_text(now.get(name))} in arch {arch}; a latency table "
                         "times each op at one input shape, so a choice must not change the shapes other ops see")

    def _spec(self, kind: str, name: str, args: tuple) -> InputSpec:
        def shape(value: Any) -> tuple[int, ...]:
            if not isinstance(value, torch.Tensor) or value.dim() == 0 or value.shape[0] != TRACE_BATCH \
                    or not value.is_floating_point():
                raise UsageError(f"space {self.label}: {kind} {name!r} gets a {_what(value)} argument; a latency "
                                 "table times ops on float tensors with the batch first")
            return tuple(int(s) for s in value.shape[1:])

        if len(args) == 1 and isinstance(args[0], torch.Tensor):
            return shape(args[0])
        return OpInputs(tuple(tuple(shape(v) for v in a) if isinstance(a, (list, tuple)) else shape(a)
                              for a in args))


def _what(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return type(value).__name__


def _text(spec: Any) -> str:
    if spec is None:
        return "nothing (it does not run)"
    if isinstance(spec, OpInputs):
        return str(spec.to_json())
    if isinstance(spec, list):
        return " then ".join(_text(s) for s in spec) or "nothing (it does not run)"
    return str(tuple(spec))


__all__ = ["Block", "ModuleOps"]
