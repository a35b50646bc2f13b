"""User-defined spaces: choice modules inside an ordinary `nn.Module` (NNI's LayerChoice / InputChoice idea).

A user writes a model with `LayerChoice` (pick one of several modules) and `InputChoice` (pick k of n incoming
tensors) where they want a decision. Both *are* `MixedOp`s, keyed by their label, so the model itself is the
weight-sharing supernet: every path policy (single path, softmax / sigmoid weights, binary gates) and every method
mechanism (GreedyNAS / SPOS paths, ProxylessNAS gates, DARTS alphas) applies unchanged.

Until a method (or `set_path(model, arch)`) picks a path, each choice runs its first candidate, so the model can be
called as written, e.g. to check its output shape.

`space_from_module(model)` collects the choices into a `Space`; `freeze(model, arch)`
returns a standalone deep copy with each choice replaced by its chosen module (weights kept). `ModuleSpace` wraps a
user model, or the function that builds it, as a `SearchSpace` + `WeightSharingSpace`, so it can be handed to any
method.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn as nn

from archsearch.cost.constraints import Cost
from archsearch.errors import UsageError, unknown_name
from archsearch.space.choices import Categorical
from archsearch.space.space import Arch, Space
from archsearch.supernet.mixed_op import MixedOp, SinglePath, set_path

REDUCTIONS = ("sum", "mean", "concat")


def _check_label(kind: str, label: object) -> str:
    if not isinstance(label, str) or not label:
        raise UsageError(f"{kind} needs a non-empty string label (the choice's name in the space), got {label!r}")
    return label


class LayerChoice(MixedOp):
    """Choose one of `candidates` (a dict name -> module, or a list: names "0", "1", ...). The label is the
    choice's name in the space; the candidate names are its values."""

    def __init__(self, candidates: Mapping[str, nn.Module] | Sequence[nn.Module], label: str) -> None:
        label = _check_label("LayerChoice", label)
        named = dict(candidates.items()) if isinstance(candidates, Mapping) else \
            {str(i): m for i, m in enumerate(candidates)}
        if not named:
            raise UsageError(f"LayerChoice {label!r} has no candidates")
        for key, module in named.items():
            if not isinstance(module, nn.Module):
                raise UsageError(f"LayerChoice {label!r}: candidate {key!r} is a {type(module).__name__}, "
                                 "not an nn.Module")
        if len({str(k) for k in named}) != len(named):
            raise UsageError(f"LayerChoice {label!r}: candidate names must be distinct as strings, got {list(named)}")
        super().__init__(label, {str(k): v for k, v in named.items()})
        self.policy = SinglePath(self.choices[0])  # a fresh model runs as written: first candidate

    @property
    def label(self) -> str:
        return self.name


class _Select(nn.Module):
    """The chosen inputs of an `InputChoice`, reduced (sum, mean or channel concat). Called with a list of
    tensors or with the tensors as arguments."""

    def __init__(self, indices: tuple[int, ...], reduction: str) -> None:
        super().__init__()
        self.indices = indices
        self.reduction = reduction

    def forward(self, *inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        tensors = inputs[0] if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) else inputs
        chosen = [tensors[i] for i in self.indices]
        if self.reduction == "concat":
            return torch.cat(chosen, dim=1)
        out = chosen[0]
        for t in chosen[1:]:
            out = out + t
        return out / len(chosen) if self.reduction == "mean" else out

    def extra_repr(self) -> str:
        return f"indices={self.indices}, reduction={self.reduction!r}"


class InputChoice(MixedOp):
    """Choose `n_chosen` of `n_candidates` input tensors (DARTS-style node inputs), reduced by `reduction`.

    Values are the chosen indices as strings: ``"2"`` for one input, ``"0,2"`` for two. Call it with a list of
    tensors: ``self.pick([a, b, c])``."""

    def __init__(self, n_candidates: int, n_chosen: int = 1, label: str = "", *, reduction: str = "sum") -> None:
        label = _check_label("InputChoice", label)
        if not isinstance(n_candidates, int) or n_candidates < 1:
            raise UsageError(f"InputChoice {label!r}: n_candidates must be a positive int, got {n_candidates!r}")
        if not isinstance(n_chosen, int) or not 1 <= n_chosen <= n_candidates:
            raise UsageError(f"InputChoice {label!r}: n_chosen must be in 1..{n_candidates}, got {n_chosen!r}")
        if reduction not in REDUCTIONS:
            raise unknown_name(f"reduction of InputChoice {label!r}:", reduction, REDUCTIONS)
        combos = itertools.combinations(range(n_candidates), n_chosen)
        super().__init__(label, {",".join(map(str, c)): _Select(c, reduction) for c in combos})
        self.policy = SinglePath(self.choices[0])  # a fresh model runs as written: the first inputs
        self.n_candidates = n_candidates
        self.n_chosen = n_chosen

    @property
    def label(self) -> str:
        return self.name

    def forward(self, *inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        tensors = inputs[0] if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) else inputs
        if len(tensors) != self.n_candidates:
            raise UsageError(f"InputChoice {self.name!r} expects {self.n_candidates} inputs, got {len(tensors)}")
        return super().forward(*tensors)


# -- from a model to a space, and back to a standalone child ---------------------------------------------------------
def choice_modules(model: nn.Module) -> list[MixedOp]:
    """Every choice (any `MixedOp`, `LayerChoice` and `InputChoice` included) of `model`, in module order; a label
    used by two different modules is an error (each label is one decision)."""
    seen: dict[str, str] = {}
    found = []
    for path, module in model.named_modules():
        if not isinstance(module, MixedOp):
            continue
        if module.name in seen:
            raise UsageError(f"choice label {module.name!r} is used twice (at {seen[module.name] or '<root>'!r} and "
                             f"{path or '<root>'!r}); give every LayerChoice / InputChoice its own label")
        seen[module.name] = path
        found.append(module)
    return found


def space_from_module(model: nn.Module, *, name: str = "user") -> Space:
    """The `Space` of `model`'s choices: one categorical choice per label, valued by candidate names.

    Choices nested inside a candidate are listed too (an arch names them even when their parent is not chosen)."""
    if not isinstance(model, nn.Module):
        raise UsageError(f"space_from_module needs an nn.Module, got {type(model).__name__}")
    ops = choice_modules(model)
    if not ops:
        raise UsageError(f"model {type(model).__name__} has no LayerChoice / InputChoice, so it defines no space")
    return Space([(op.name, Categorical(op.choices)) for op in ops], name=name)


def _normalise(space: Space, arch: Mapping[str, object]) -> Arch:
    """Validate `arch`; ints are accepted for string-named candidates ("0", "1", ... of a list LayerChoice)."""
    if not isinstance(arch, Mapping):
        raise UsageError(f"an arch must be a mapping of choice label -> value, got {type(arch).__name__}")
    values = {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in arch.items()}
    return space.validate(values)


def _replace_choices(module: nn.Module, arch: Arch) -> None:
    for child_name, child in list(module.named_children()):
        if isinstance(child, MixedOp):
            chosen = child.ops[str(arch[child.name])]
            setattr(module, child_name, chosen)
            child = chosen
        _replace_choices(child, arch)


def freeze(model: nn.Module, arch: Mapping[str, object]) -> nn.Module:
    """A standalone deep copy of `model` with each choice replaced by its chosen candidate (weights kept)."""
    arch = _normalise(space_from_module(model), arch)
    child = copy.deepcopy(model)
    while isinstance(child, MixedOp):  # the model itself is a choice
        child = child.ops[str(arch[child.name])]
    _replace_choices(child, arch)
    return child


class ModuleSpace:
    """A user model as a `SearchSpace` + `WeightSharingSpace`: `build` and `inherit` freeze, `cost` counts MACs
    (flop_counter FLOPs / 2) and params on the frozen child (cached per arch).

    `model` is the model, or a function of no arguments that builds it. With a function, `supernet()` and
    `build(arch)` call it again, so their weights come from torch's global RNG as for the built-in spaces (a run
    seeds it); with a model they copy its current weights. `input_shape` (without the batch) and `num_classes` may
    be left out when a run fills them from its data; `cost` needs `input_shape`."""

    def __init__(self, model: nn.Module | Callable[[], nn.Module], input_shape: Sequence[int] | None = None,
                 num_classes: int | None = None, name: str = "user") -> None:
        self.name = name
        self.factory: Callable[[], nn.Module] | None = None
        if not isinstance(model, nn.Module):
            if not callable(model):
                raise UsageError(f"ModuleSpace {name!r} needs an nn.Module or a function that builds one, "
                                 f"got {type(model).__name__}")
            self.factory = model
            model = self._fresh()
        if input_shape is not None and (isinstance(input_shape, (str, bytes)) or len(tuple(input_shape)) < 1):
            raise UsageError(f"ModuleSpace {name!r}: input_shape must be the input's shape without the batch, "
                             f"got {input_shape!r}")
        self.input_shape = tuple(int(s) for s in input_shape) if input_shape is not None else None
        self.num_classes = int(num_classes) if num_classes is not None else None
        self.space = space_from_module(model, name=name)
        self._model = model
        self._costs: dict[str, Cost] = {}
        self._module_ops: Any = None

    def __repr__(self) -> str:
        return f"ModuleSpace({self.name!r}, {type(self._model).__name__}, {len(self.space)} choices)"

    @property
    def model(self) -> nn.Module:
        """The template model (its choices define the space; costs are counted on it)."""
        return self._model

    def _fresh(self) -> nn.Module:
        model = self.factory()  # type: ignore[misc]
        if isinstance(model, ModuleSpace):  # a function may return a ModuleSpace: its model is the net
            model = model.model
        if not isinstance(model, nn.Module):
            raise UsageError(f"ModuleSpace {self.name!r}: the function returned a {type(model).__name__}, "
                             "not an nn.Module")
        return model

    def supernet(self) -> nn.Module:
        return self._fresh() if self.factory is not None else copy.deepcopy(self._model)

    def build(self, arch: Mapping[str, object]) -> nn.Module:
        return freeze(self._fresh() if self.factory is not None else self._model, arch)

    def inherit(self, supernet: nn.Module, arch: Mapping[str, object]) -> nn.Module:
        return freeze(supernet, arch)

    # -- the ops a latency table times (archsearch.spaces.module_ops traces them from the model) ----------------------
    def _ops(self) -> Any:
        if self._module_ops is None:
            from archsearch.spaces.module_ops import ModuleOps

            if self.input_shape is None:
                raise UsageError(f"ModuleSpace {self.name!r} has no input_shape, so the inputs its choices see are "
                                 "unknown and no latency table can be built; give input_shape=(C, H, W)")
            self._module_ops = ModuleOps(self._model, self.input_shape, label=self.name)
        return self._module_ops

    @property
    def blocks(self) -> list[Any]:
        """Each choice with the input it sees in the network and its candidate names (traced on first use)."""
        return self._ops().blocks

    def make_candidate(self, block: str, value: str) -> nn.Module:
        """A copy of candidate `value` of choice `block`, as the table times it."""
        return self._ops().make_candidate(block, value)

    def fixed_modules(self) -> list[tuple[str, Callable[[], nn.Module], Any]]:
        """The parts every arch runs (stem, head, ...), with the inputs they see."""
        return self._ops().fixed_modules()

    @property
    def latency_signature(self) -> str:
        """What the ops are, for the table's cache key (a table is reused only for the same layers)."""
        return self._ops().signature

    def cost(self, arch: Mapping[str, object]) -> Cost:
        arch = _normalise(self.space, arch)
        cached = self._costs.get(arch.key)
        if cached is None:
            from torch.utils.flop_counter import FlopCounterMode

            if self.input_shape is None:
                raise UsageError(f"ModuleSpace {self.name!r} has no input_shape, so its MACs cannot be counted; "
                                 "give input_shape=(C, H, W)")
            child = freeze(self._model, arch).eval()
            device = next(child.parameters(), torch.empty(0)).device
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                child(torch.zeros(1, *self.input_shape, device=device))
            cached = Cost(macs=int(counter.get_total_flops()) // 2, params=sum(p.numel() for p in child.parameters()))
            self._costs[arch.key] = cached
        return cached


__all__ = ["InputChoice", "LayerChoice", "ModuleSpace", "choice_modules", "freeze", "set_path", "space_from_module"]
