"""The DARTS cell search space (Liu et al. 2019, sec. 2.1; Fair DARTS, Chu et al. 2020, uses the same cells).

A network is a stem followed by `layers` cells; the cells at 1/3 and 2/3 of the depth are *reduction* cells
(stride 2, twice the channels), the others *normal* cells; all normal cells share one genotype, all reduction cells
another. A cell has two inputs (the outputs of the two previous cells, preprocessed to C channels) and 4
intermediate nodes; node i (2..5) may read from every earlier node, so the search network has 2+3+4+5 = 14 edges;
the cell's output concatenates its intermediate nodes.

Genotype as an `Arch`: per cell kind and intermediate node, the pair of inputs (``normal_n3_inputs = "0,2"``) and
one op per input (``normal_n3_op0`` on the smaller input, ``normal_n3_op1`` on the other). The op value ``"none"``
marks a dropped edge: Fair DARTS keeps an edge's op only if its sigmoid weight reaches the threshold, so its cells
may have fewer than 8 edges; a node left without inputs is dropped from the cell (and from the concatenation),
as in Fair DARTS's released evaluation cell.

`build(arch)` is the evaluation network (DARTS sec. 3.3: stacked cells, drop-path on every non-identity edge,
optional auxiliary head after the 2/3 cell); `supernet(none_op=...)` the search network whose 14 edges per cell are
weighted `MixedOp`s (named ``normal_0_2`` = from node 0 into node 2; ops of the same kind and edge share a name, so
`make_alphas` gives one alpha vector per edge, shared by all cells of that kind, as in DARTS).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Mapping, NamedTuple, Sequence

import torch
import torch.nn as nn

from archsearch.cost.constraints import Cost
from archsearch.errors import ConfigError, unknown_name
from archsearch.ops.darts_ops import (OP_NAMES, FactorizedReduce, ReLUConvBN, bn_params, conv_cost,
                                      factorized_reduce_cost, make_op, op_cost, relu_conv_bn_cost)
from archsearch.ops.drop_path import DropPath
from archsearch.space.choices import Categorical
from archsearch.space.space import Arch, Space
from archsearch.spaces import register_space
from archsearch.supernet.mixed_op import MixedOp

CELL_KINDS: tuple[str, ...] = ("normal", "reduce")
STEPS = 4  # DARTS sec. 3.1: 4 intermediate nodes per cell
FAIR_OPS: tuple[str, ...] = tuple(op for op in OP_NAMES if op != "none")  # Fair DARTS sec. 4: no `none` op
NODES: tuple[int, ...] = tuple(range(2, 2 + STEPS))  # intermediate node indices (0, 1 are the cell inputs)
Edge = tuple[int, int, str]  # (source node, target node, op)


@dataclass(frozen=True)
class DartsLayout:
    """How cells are stacked into a network (the macro-architecture, fixed during a search)."""

    input_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int
    channels: int  # C: channels of the first cells (doubled at each reduction)
    layers: int  # number of cells; reductions at layers // 3 and 2 * layers // 3
    stem_multiplier: int = 3  # DARTS code: the stem outputs 3C channels
    stem_stride: int = 1  # 1 on CIFAR (DARTS); small CPU presets downsample in the stem (docs/architecture.md)

    def reduction_cells(self) -> tuple[int, ...]:
        return (self.layers // 3, 2 * self.layers // 3)


@dataclass(frozen=True)
class _Preset:
    input_shape: tuple[int, int, int]
    num_classes: int
    channels: int
    layers: int
    search_channels: int
    search_layers: int
    stem_stride: int
    auxiliary: bool
    auxiliary_weight: float
    drop_path: float


PRESETS: dict[str, _Preset] = {
    # DARTS sec. 3.3 / A.2 (CIFAR-10): search net 8 cells, C=16; evaluation net 20 cells, C=36, auxiliary tower
    # weight 0.4, drop-path 0.2
    "paper": _Preset((3, 32, 32), 10, channels=36, layers=20, search_channels=16, search_layers=8, stem_stride=1,
                     auxiliary=True, auxiliary_weight=0.4, drop_path=0.2),
    # CPU minutes on Fashion-MNIST 28x28: stride-2 stem (cells at 14, 7, 4), 5 search cells of C=8 (interpretation)
    "quick": _Preset((1, 28, 28), 10, channels=16, layers=8, search_channels=8, search_layers=5, stem_stride=2,
                     auxiliary=False, auxiliary_weight=0.4, drop_path=0.0),
    # seconds, for tests
    "smoke": _Preset((1, 28, 28), 10, channels=4, layers=3, search_channels=4, search_layers=3, stem_stride=2,
                     auxiliary=False, auxiliary_weight=0.4, drop_path=0.0),
}


# -- genotype <-> Arch --------------------------------------------------------------------------------------------
def _pair(a: int, b: int) -> str:
    return f"{min(a, b)},{max(a, b)}"


def genotype_space() -> Space:
    """Per cell kind and node: which two earlier nodes feed it, and the op on each (``none`` = no edge)."""
    choices: list[tuple[str, Categorical]] = []
    for kind in CELL_KINDS:
        for node in NODES:
            pairs = [_pair(a, b) for b in range(node) for a in range(b)]
            choices.append((f"{kind}_n{node}_inputs", Categorical(pairs)))
            choices.append((f"{kind}_n{node}_op0", Categorical(OP_NAMES)))
            choices.append((f"{kind}_n{node}_op1", Categorical(OP_NAMES)))
    return Space(choices, name="darts")


def cell_edges(arch: Mapping[str, object], kind: str) -> list[Edge]:
    """The kept edges (source, node, op) of one cell kind, `none` edges left out."""
    edges: list[Edge] = []
    for node in NODES:
        sources = [int(s) for s in str(arch[f"{kind}_n{node}_inputs"]).split(",")]
        for slot, source in enumerate(sources):
            op = str(arch[f"{kind}_n{node}_op{slot}"])
            if op != "none":
                edges.append((source, node, op))
    return edges


def arch_from_edges(space: Space, edges: Mapping[str, Sequence[Edge]]) -> Arch:
    """The `Arch` of a discretised cell: per kind, at most two incoming edges per node (missing ones -> none)."""
    values: dict[str, object] = {}
    for kind in CELL_KINDS:
        by_node: dict[int, list[tuple[int, str]]] = {node: [] for node in NODES}
        for source, node, op in edges[kind]:
            if node not in by_node or not 0 <= source < node:
                raise ConfigError(f"{kind} cell: edge {source}->{node} is not an edge of the DARTS cell")
            by_node[node].append((source, op))
        for node, incoming in by_node.items():
            if len(incoming) > 2 or len({s for s, _ in incoming}) != len(incoming):
                raise ConfigError(f"{kind} cell: node {node} needs at most two distinct inputs, got {incoming}")
            incoming = sorted(incoming)
            sources = [s for s, _ in incoming]
            for candidate in range(node):  # pad a pair with unused sources carrying `none`
                if len(sources) == 2:
                    break
                if candidate not in sources:
                    sources.append(candidate)
                    incoming.append((candidate, "none"))
            incoming.sort()
            values[f"{kind}_n{node}_inputs"] = _pair(incoming[0][0], incoming[1][0])
            values[f"{kind}_n{node}_op0"] = incoming[0][1]
            values[f"{kind}_n{node}_op1"] = incoming[1][1]
    return space.validate(values)


def live_nodes(edges: Iterable[Edge]) -> list[int]:
    """Intermediate nodes that receive at least one edge from a live node (0 and 1 are always live)."""
    live = {0, 1}
    for node in NODES:
        if any(n == node and s in live for s, n, _ in edges):
            live.add(node)
    return [n for n in NODES if n in live]


def discretise(weights: Mapping[str, torch.Tensor], ops: Sequence[str], *, kind: str,
               threshold: float | None = None) -> list[Edge]:
    """Derive one cell from its edge weights (`weights[f"{kind}_{src}_{node}"]`, one entry per op of `ops`).

    DARTS (sec. 2.4, `threshold=None`): per node keep the 2 incoming edges whose strongest non-`none` op is
    strongest, each with that op. Fair DARTS (released ``threshold_sparse`` parser): the same 2 edges, but an
    edge's best op is kept only if its weight (a sigmoid) is >= `threshold`; otherwise the edge is dropped.
    """
    candidates = [i for i, op in enumerate(ops) if op != "none"]
    edges: list[Edge] = []
    for node in NODES:
        strength: dict[int, tuple[float, int]] = {}
        for source in range(node):
            w = weights[f"{kind}_{source}_{node}"].detach().float().cpu()
            best = max(candidates, key=lambda i: float(w[i]))
            strength[source] = (float(w[best]), best)
        top = sorted(strength, key=lambda s: (-strength[s][0], s))[:2]
        for source in sorted(top):
            value, best = strength[source]
            if threshold is None or value >= threshold:
                edges.append((source, node, ops[best]))
    return edges


# -- networks -----------------------------------------------------------------------------------------------------
class _Stem(nn.Sequential):
    def __init__(self, layout: DartsLayout) -> None:
        out = layout.stem_multiplier * layout.channels
        super().__init__(nn.Conv2d(layout.input_shape[0], out, 3, stride=layout.stem_stride, padding=1, bias=False),
                         nn.BatchNorm2d(out))


def _preprocess(c_prev_prev: int, c_prev: int, c: int, reduction_prev: bool, affine: bool) -> tuple[nn.Module,
                                                                                                       nn.Module]:
    first = (FactorizedReduce(c_prev_prev, c, affine) if reduction_prev
             else ReLUConvBN(c_prev_prev, c, 1, 1, 0, affine))
    return first, ReLUConvBN(c_prev, c, 1, 1, 0, affine)


class EvalCell(nn.Module):
    """A discretised cell: each live node sums its kept edges; drop-path on every non-identity edge."""

    def __init__(self, edges: Sequence[Edge], c_prev_prev: int, c_prev: int, c: int, reduction: bool,
                 reduction_prev: bool, drop_path: float) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = _preprocess(c_prev_prev, c_prev, c, reduction_prev, True)
        self.nodes = live_nodes(edges)
        live = {0, 1, *self.nodes}
        self.edges = [(s, n, op) for s, n, op in edges if s in live and n in live]
        self.ops = nn.ModuleList()
        self.drops = nn.ModuleList()
        for source, _, op in self.edges:
            stride = 2 if reduction and source < 2 else 1
            self.ops.append(make_op(op, c, stride, affine=True))
            self.drops.append(nn.Identity() if op == "skip_connect" and stride == 1 else DropPath(drop_path))
        # interpretation: a cell whose every edge was dropped passes its second input on (skip at the cell stride)
        self.passthrough = (make_op("skip_connect", c, 2 if reduction else 1, affine=True) if not self.nodes
                            else None)
        self.multiplier = max(1, len(self.nodes))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = {0: self.preprocess0(s0), 1: self.preprocess1(s1)}
        if self.passthrough is not None:
            return self.passthrough(states[1])
        for node in self.nodes:
            total = None
            for (source, target, _), op, drop in zip(self.edges, self.ops, self.drops):
                if target == node:
                    out = drop(op(states[source]))
                    total = out if total is None else total + out
            states[node] = total
        return torch.cat([states[n] for n in self.nodes], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary tower (Szegedy et al. 2015) on the 2/3 cell's output; CIFAR version (8x8 input ->
    avg-pool 5/3 -> 2x2 -> conv 2x2). On smaller maps the pool is skipped and the last conv covers the map."""

    def __init__(self, channels: int, size: int, num_classes: int) -> None:
        super().__init__()
        pooled = (size - 5) // 3 + 1 if size >= 5 else size
        pool = nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False) if size >= 5 else nn.Identity()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False), pool,
            nn.Conv2d(channels, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, pooled, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class _Slot(NamedTuple):
    """One cell of the stack: its index, whether it (and the cell before it) reduces, and its channels."""

    index: int
    reduction: bool
    reduction_prev: bool
    c_prev_prev: int
    c_prev: int
    c: int


def _cell_stack(layout: DartsLayout, multipliers: Mapping[str, int]) -> Iterator[_Slot]:
    """DARTS's cell stack (code model.py): each cell reads the two previous outputs; a reduction cell doubles C; a
    cell outputs `multipliers[kind]` x C channels (the nodes it concatenates)."""
    c = layout.channels
    c_prev_prev = c_prev = layout.stem_multiplier * c
    reduction_prev = False
    for i in range(layout.layers):
        reduction = i in layout.reduction_cells()
        if reduction:
            c *= 2
        yield _Slot(i, reduction, reduction_prev, c_prev_prev, c_prev, c)
        reduction_prev = reduction
        c_prev_prev, c_prev = c_prev, multipliers["reduce" if reduction else "normal"] * c


def _concatenated(edges: Mapping[str, Sequence[Edge]]) -> dict[str, int]:
    """The output multiplier of each kind of evaluation cell: its live nodes (at least one: a cell whose every edge
    was dropped passes its second input on)."""
    return {kind: max(1, len(live_nodes(cell))) for kind, cell in edges.items()}


class DartsNetwork(nn.Module):
    """The evaluation network of a genotype. In training with an auxiliary head, the head's logits of the last
    forward are kept in `auxiliary_logits` (DARTS adds 0.4 x their cross-entropy to the loss)."""

    def __init__(self, layout: DartsLayout, edges: Mapping[str, Sequence[Edge]], *, auxiliary: bool = False,
                 auxiliary_weight: float = 0.4, drop_path: float = 0.0) -> None:
        super().__init__()
        self.layout = layout
        self.stem = _Stem(layout)
        self.auxiliary_weight = auxiliary_weight
        self.auxiliary_logits: torch.Tensor | None = None
        self.auxiliary_head: AuxiliaryHead | None = None
        self._auxiliary_after = 2 * layout.layers // 3
        multipliers = _concatenated(edges)
        size = _stem_size(layout)
        self.cells = nn.ModuleList()
        for slot in _cell_stack(layout, multipliers):
            kind = "reduce" if slot.reduction else "normal"
            size = (size + 1) // 2 if slot.reduction else size
            self.cells.append(EvalCell(edges[kind], slot.c_prev_prev, slot.c_prev, slot.c, slot.reduction,
                                       slot.reduction_prev, drop_path))
            if auxiliary and slot.index == self._auxiliary_after:
                self.auxiliary_head = AuxiliaryHead(multipliers[kind] * slot.c, size, layout.num_classes)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(multipliers[kind] * slot.c, layout.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        self.auxiliary_logits = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if self.auxiliary_head is not None and self.training and i == self._auxiliary_after:
                self.auxiliary_logits = self.auxiliary_head(s1)
        return self.classifier(torch.flatten(self.pool(s1), 1))


class SearchCell(nn.Module):
    """A cell of the search network: all 14 edges, each a `MixedOp` over `ops` (weighted by the method's policy)."""

    def __init__(self, kind: str, ops: Sequence[str], c_prev_prev: int, c_prev: int, c: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = _preprocess(c_prev_prev, c_prev, c, reduction_prev, False)
        self.edges = nn.ModuleDict()
        for node in NODES:
            for source in range(node):
                stride = 2 if reduction and source < 2 else 1
                name = f"{kind}_{source}_{node}"
                self.edges[name] = MixedOp(name, {op: make_op(op, c, stride, affine=False, search=True)
                                                  for op in ops})

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        edges = iter(self.edges.values())
        for node in NODES:
            states.append(sum(next(edges)(states[source]) for source in range(node)))
        return torch.cat(states[2:], dim=1)


class DartsSupernet(nn.Module):
    """The DARTS search network (8 cells, C=16 on CIFAR). Alphas are not parameters of it (see `make_alphas`)."""

    def __init__(self, layout: DartsLayout, ops: Sequence[str]) -> None:
        super().__init__()
        self.layout = layout
        self.op_names = tuple(ops)
        self.stem = _Stem(layout)
        self.cells = nn.ModuleList()
        for slot in _cell_stack(layout, {"normal": STEPS, "reduce": STEPS}):
            self.cells.append(SearchCell("reduce" if slot.reduction else "normal", ops, slot.c_prev_prev,
                                         slot.c_prev, slot.c, slot.reduction, slot.reduction_prev))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(STEPS * slot.c, layout.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(torch.flatten(self.pool(s1), 1))

    @staticmethod
    def edge_names(kind: str) -> list[str]:
        return [f"{kind}_{source}_{node}" for node in NODES for source in range(node)]


def _stem_size(layout: DartsLayout) -> int:
    return (layout.input_shape[1] + 2 - 3) // layout.stem_stride + 1


# -- the space ----------------------------------------------------------------------------------------------------
class DartsSpace:
    """The `darts` search space: genotype `Arch`s, their evaluation networks, the search supernet, analytic cost."""

    name = "darts"

    def __init__(self, layout: DartsLayout, search_layout: DartsLayout, *, auxiliary: bool,
                 auxiliary_weight: float, drop_path: float, preset: str) -> None:
        self.layout = layout
        self.search_layout = search_layout
        self.auxiliary = auxiliary
        self.auxiliary_weight = auxiliary_weight
        self.drop_path = drop_path
        self.preset = preset
        self.space = genotype_space()
        self.input_shape = layout.input_shape
        self.num_classes = layout.num_classes

    def __repr__(self) -> str:
        return (f"DartsSpace(preset={self.preset!r}, eval C={self.layout.channels} x {self.layout.layers} cells, "
                f"search C={self.search_layout.channels} x {self.search_layout.layers} cells, "
                f"input {self.input_shape})")

    def edges(self, arch: Arch) -> dict[str, list[Edge]]:
        arch = self.space.validate(arch)
        return {kind: cell_edges(arch, kind) for kind in CELL_KINDS}

    def build(self, arch: Arch) -> DartsNetwork:
        return DartsNetwork(self.layout, self.edges(arch), auxiliary=self.auxiliary,
                            auxiliary_weight=self.auxiliary_weight, drop_path=self.drop_path)

    def supernet(self, *, none_op: bool = True) -> DartsSupernet:
        """The search network; DARTS's op set includes `none` (none_op=True), Fair DARTS's does not."""
        return DartsSupernet(self.search_layout, OP_NAMES if none_op else FAIR_OPS)

    def cost(self, arch: Arch) -> Cost:
        """MACs per image and parameters of `build(arch)` at inference (the auxiliary head, used only in training,
        is left out, as DARTS reports model sizes), equal to flop_counter / 2 and ``numel`` on the built net."""
        layout = self.layout
        edges = self.edges(arch)
        c = layout.channels
        c_stem = layout.stem_multiplier * c
        macs, weights, _, _ = conv_cost(layout.input_shape[0], c_stem, 3, layout.input_shape[1],
                                        layout.input_shape[2], stride=layout.stem_stride, padding=1)
        params = weights + bn_params(c_stem, True)
        size_prev_prev = size_prev = (_stem_size(layout), (layout.input_shape[2] + 2 - 3) // layout.stem_stride + 1)
        multipliers = _concatenated(edges)
        for slot in _cell_stack(layout, multipliers):
            c, reduction = slot.c, slot.reduction
            h, w = size_prev
            pre = (factorized_reduce_cost(slot.c_prev_prev, c, *size_prev_prev, True) if slot.reduction_prev
                   else relu_conv_bn_cost(slot.c_prev_prev, c, *size_prev_prev, True))
            pre1 = relu_conv_bn_cost(slot.c_prev, c, h, w, True)
            macs, params = macs + pre[0] + pre1[0], params + pre[1] + pre1[1]
            kind = "reduce" if reduction else "normal"
            cell = edges[kind]
            nodes = live_nodes(cell)
            live = {0, 1, *nodes}
            size_out = ((h + 1) // 2, (w + 1) // 2) if reduction else (h, w)
            for source, node, op in cell:
                if source in live and node in live:
                    stride = 2 if reduction and source < 2 else 1
                    op_macs, op_params = op_cost(op, c, *(size_prev if source < 2 else size_out), stride,
                                                 affine=True)
                    macs, params = macs + op_macs, params + op_params
            if not nodes:
                op_macs, op_params = op_cost("skip_connect", c, h, w, 2 if reduction else 1, affine=True)
                macs, params = macs + op_macs, params + op_params
            size_prev_prev, size_prev = size_prev, size_out
        c_out = multipliers[kind] * slot.c
        macs += c_out * layout.num_classes
        params += c_out * layout.num_classes + layout.num_classes
        return Cost(macs=float(macs), params=float(params))


@register_space("darts")
def darts_space(preset: str = "quick", *, num_classes: int | None = None,
                input_shape: Sequence[int] | None = None, input_size: int | None = None,
                in_channels: int | None = None, channels: int | None = None, layers: int | None = None,
                search_channels: int | None = None, search_layers: int | None = None,
                stem_stride: int | None = None, auxiliary: bool | None = None,
                drop_path: float | None = None) -> DartsSpace:
    """``create_space("darts", preset="quick"|"smoke"|"paper", ...)``; any size can be overridden."""
    if preset not in PRESETS:
        raise unknown_name("darts preset", preset, PRESETS)
    p = PRESETS[preset]
    shape = tuple(int(v) for v in input_shape) if input_shape is not None else p.input_shape
    if len(shape) != 3:
        raise ConfigError(f"darts input_shape must be (C, H, W), got {input_shape}")
    if input_size is not None:
        shape = (shape[0], int(input_size), int(input_size))
    if in_channels is not None:
        shape = (int(in_channels), shape[1], shape[2])
    p = replace(p, input_shape=shape,
                num_classes=p.num_classes if num_classes is None else int(num_classes),
                channels=p.channels if channels is None else int(channels),
                layers=p.layers if layers is None else int(layers),
                search_channels=p.search_channels if search_channels is None else int(search_channels),
                search_layers=p.search_layers if search_layers is None else int(search_layers),
                stem_stride=p.stem_stride if stem_stride is None else int(stem_stride),
                auxiliary=p.auxiliary if auxiliary is None else bool(auxiliary),
                drop_path=p.drop_path if drop_path is None else float(drop_path))
    for label, value in (("channels", p.channels), ("search_channels", p.search_channels)):
        if value < 2 or value % 2:
            raise ConfigError(f"darts {label}={value} is invalid: must be an even number >= 2 "
                              "(FactorizedReduce splits the channels in two)")
    for label, value in (("layers", p.layers), ("search_layers", p.search_layers)):
        if value < 3:
            raise ConfigError(f"darts {label}={value} is invalid: must be >= 3 (two reduction cells need it)")
    if p.stem_stride not in (1, 2):
        raise ConfigError(f"darts stem_stride={p.stem_stride} is invalid (allowed: 1, 2)")
    if not 0.0 <= p.drop_path < 1.0:
        raise ConfigError(f"darts drop_path={p.drop_path} is invalid: must be in [0, 1)")
    if p.num_classes < 2 or min(shape) < 1:
        raise ConfigError(f"darts: num_classes={p.num_classes} / input_shape={shape} invalid")
    layout = DartsLayout(shape, p.num_classes, p.channels, p.layers, stem_stride=p.stem_stride)
    search_layout = DartsLayout(shape, p.num_classes, p.search_channels, p.search_layers, stem_stride=p.stem_stride)
    return DartsSpace(layout, search_layout, auxiliary=p.auxiliary, auxiliary_weight=p.auxiliary_weight,
                      drop_path=p.drop_path, preset=preset)


__all__ = ["CELL_KINDS", "DartsLayout", "DartsNetwork", "DartsSpace", "DartsSupernet", "Edge", "EvalCell",
           "FAIR_OPS", "NODES", "OP_NAMES", "SearchCell", "arch_from_edges", "cell_edges", "darts_space",
           "discretise", "genotype_space", "live_nodes"]
