"""Hierarchical and flat genotypes of Liu et al. 2018 ("Hierarchical Representations for Efficient Architecture
Search", arXiv:1711.00436), registered as the spaces ``hierarchical`` and ``flat``.

A level-l motif is a DAG over ``nodes[l]`` feature maps (node 0 the input, the last node the output); its edges
are level-(l-1) motifs or ``none``, level 1 being the six primitives (sec. 2.3). A node merges its inputs by
depthwise concatenation (sec. 2.1). The genotype is stored as an `Arch` with one categorical choice per motif edge,
named ``l{level}m{motif}_{j}_{i}`` for the edge from node j to node i (j < i), so every generic tool (sampling,
encoding, the ledger, JSON) works on it unchanged; `archsearch.search.evolution` adds the paper's mutation.

Widths (sec. 2.3, "the number of channels is fixed to a constant C"; "wider convolutions ... by merging the outputs
of multiple convolutions through depthwise concatenation"): the convolutions (1x1, separable) output C, the
width-preserving primitives (depthwise conv, pools, identity) keep their input width, a node's width is the sum
of its inputs' widths, and every level-2 motif is followed by a 1x1 convolution back to its input width (sec. 4.1;
in the flat space the single graph is the level-2 motif, so it gets one too). C is the width of the cell's input.

Unreachable parts (interpretation; the paper does not say): only nodes on a path input -> output are built; a
level-2 motif without such a path acts as ``none`` where it is used, and a cell without one outputs zeros (the
candidate then learns nothing and loses every tournament).

The evaluation model (sec. 4.1, Fig. 2, the small model used during search): 3x3 conv stem with C0 channels,
then ``stages`` stages of ``cells_per_stage`` cells, stages separated by 3x3 separable convs of stride 2 that double
the channels, a 3x3 separable conv of stride 1 after the last cell (the last stage's width), global average
pooling, linear classifier. All cells share the genotype (not the weights).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn

from archsearch.cost.constraints import Cost
from archsearch.errors import ConfigError, unknown_name
from archsearch.search.hierarchy import (  # the genotype shape; its names stay importable from here
    FLAT, HIERARCHICAL, NONE, PRIMITIVES, Hierarchy, edge_name)
from archsearch.space.space import Arch
from archsearch.spaces import register_space

_WIDTH_PRESERVING = frozenset({"dwconv3x3", "maxpool3x3", "avgpool3x3", "identity"})


@dataclass(frozen=True)
class ModelPreset:
    """Sizes of the evaluation model. `paper` is the paper's small search model (CIFAR-10, 32x32)."""

    channels: int  # C0, width of the stem and of the first stage
    stem_stride: int  # 1 in the paper; 2 on CPU presets (downsample early: docs/architecture.md)
    stages: int  # cells at `stages` resolutions
    cells_per_stage: int


PRESETS: dict[str, ModelPreset] = {
    "paper": ModelPreset(channels=16, stem_stride=1, stages=3, cells_per_stage=1),  # sec. 4.1 / Fig. 2: C0 = 16
    "quick": ModelPreset(channels=8, stem_stride=2, stages=3, cells_per_stage=1),  # Fashion-MNIST, a few s/epoch
    "smoke": ModelPreset(channels=4, stem_stride=2, stages=2, cells_per_stage=1),  # tests
}




# -- plans: which edges are live and how wide each node is (shared by build and cost) ---------------------------
@dataclass(frozen=True)
class _Edge:
    j: int
    i: int
    op: str  # a primitive or "m<k>"
    in_width: int
    out_width: int


@dataclass(frozen=True)
class _Plan:
    edges: tuple[_Edge, ...]
    out_width: int  # width of the output node (before the level-2 1x1 conv)
    in_width: int


class _Planner:
    """Resolves a genotype into per-motif plans for given input widths (memoised per (level, motif, width))."""

    def __init__(self, hierarchy: Hierarchy, arch: Arch, cell_width: int) -> None:
        self.hierarchy = hierarchy
        self.arch = arch
        self.cell_width = cell_width  # C: output width of the convolution primitives
        self.plan = functools.lru_cache(maxsize=None)(self._plan)

    def motif_out_width(self, level: int, motif: int, in_width: int) -> int | None:
        """Output width of a motif used as an op (level-2 motifs: back to the input width), None if empty."""
        plan = self.plan(level, motif, in_width)
        if plan is None:
            return None
        return in_width if level == 2 else plan.out_width

    def _op_out_width(self, level: int, op: str, in_width: int) -> int | None:
        if level == 2:
            return in_width if op in _WIDTH_PRESERVING else self.cell_width
        return self.motif_out_width(level - 1, int(op[1:]), in_width)

    def _plan(self, level: int, motif: int, in_width: int) -> _Plan | None:
        n = self.hierarchy.num_nodes(level)
        ops = {}
        for j, i in self.hierarchy.edges(level):
            op = self.arch[edge_name(level, motif, j, i)]
            if op != NONE:
                ops[(j, i)] = op
        # forward pass over the nodes: widths of nodes reachable from the input
        widths: dict[int, int] = {0: in_width}
        candidates: list[tuple[int, int, str, int, int]] = []
        for i in range(1, n):
            total = 0
            for j in range(i):
                if j in widths and (j, i) in ops:
                    out = self._op_out_width(level, ops[(j, i)], widths[j])
                    if out is not None:
                        candidates.append((j, i, ops[(j, i)], widths[j], out))
                        total += out
            if total:
                widths[i] = total
        if n - 1 not in widths:
            return None
        # backward pass: keep only nodes from which the output is reachable
        useful = {n - 1}
        for j, i, *_ in reversed(candidates):
            if i in useful:
                useful.add(j)
        kept = [e for e in candidates if e[0] in useful and e[1] in useful]
        # node widths with only the kept edges (dropping dead branches never changes a useful node's inputs:
        # an edge into a useful node comes from a node that is then useful too)
        return _Plan(tuple(_Edge(*e) for e in kept), widths[n - 1], in_width)


# -- modules ------------------------------------------------------------------------------------------------------
def _conv_bn_relu(cin: int, cout: int, kernel: int, *, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=False))


def _sep_conv(cin: int, cout: int, *, stride: int = 1) -> nn.Sequential:
    """3x3 depthwise then 1x1 pointwise, one BN + ReLU after (sec. 2.3: convolutions followed by BN + ReLU)."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=False))


def _primitive(op: str, cin: int, width: int) -> nn.Module:
    if op == "conv1x1":
        return _conv_bn_relu(cin, width, 1)
    if op == "dwconv3x3":
        return _conv_bn_relu(cin, cin, 3, groups=cin)
    if op == "sepconv3x3":
        return _sep_conv(cin, width)
    if op == "maxpool3x3":
        return nn.MaxPool2d(3, 1, 1)
    if op == "avgpool3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    if op == "identity":
        return nn.Identity()
    raise ValueError(op)


class MotifGraph(nn.Module):
    """One motif instance: nodes computed in order, each the depthwise concatenation of its live in-edges."""

    def __init__(self, planner: _Planner, level: int, motif: int, in_width: int) -> None:
        super().__init__()
        plan = planner.plan(level, motif, in_width)
        assert plan is not None
        self.edge_list = [(e.j, e.i) for e in plan.edges]
        self.output_node = planner.hierarchy.num_nodes(level) - 1
        self.ops = nn.ModuleList()
        for e in plan.edges:
            if level == 2:
                self.ops.append(_primitive(e.op, e.in_width, planner.cell_width))
            else:
                self.ops.append(build_motif(planner, level - 1, int(e.op[1:]), e.in_width))
        # sec. 4.1: each level-2 motif is followed by a 1x1 convolution back to its input width
        self.project = _conv_bn_relu(plan.out_width, in_width, 1) if level == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs: dict[int, list[torch.Tensor]] = {}
        nodes = {0: x}
        for (j, i), op in zip(self.edge_list, self.ops):
            if j not in nodes:
                nodes[j] = _merge(inputs.pop(j))
            inputs.setdefault(i, []).append(op(nodes[j]))
        out = _merge(inputs[self.output_node])
        return self.project(out) if self.project is not None else out


def _merge(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Sec. 2.1: depthwise concatenation."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors, dim=1)


class _Zeros(nn.Module):
    """A cell whose output is unreachable from its input (interpretation): zeros of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def build_motif(planner: _Planner, level: int, motif: int, in_width: int) -> nn.Module:
    if planner.plan(level, motif, in_width) is None:
        return _Zeros()
    return MotifGraph(planner, level, motif, in_width)


class HierarchicalNet(nn.Module):
    """Sec. 4.1 / Fig. 2: stem, cells, stride-2 separable convs doubling the channels, a stride-1 separable conv
    after the last cell, pooling, classifier.

    With more than one cell per stage (not in the paper's small model; interpretation) a 1x1 conv brings a cell's
    output back to the stage width before the next cell when the two differ.
    """

    def __init__(self, hierarchy: Hierarchy, arch: Arch, preset: ModelPreset, in_channels: int,
                 num_classes: int) -> None:
        super().__init__()
        self.stem = _conv_bn_relu(in_channels, preset.channels, 3, stride=preset.stem_stride)
        layers: list[nn.Module] = []
        for kind, cin, cout, planner in _layout(hierarchy, arch, preset):
            if kind == "cell":
                layers.append(build_motif(planner, hierarchy.levels, 0, cin))
            elif kind in ("reduce", "final"):
                layers.append(_sep_conv(cin, cout, stride=2 if kind == "reduce" else 1))
            else:
                layers.append(_conv_bn_relu(cin, cout, 1))
            out_width = cout
        self.cells = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(out_width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.cells(self.stem(x))), 1))


def _layout(hierarchy: Hierarchy, arch: Arch, preset: ModelPreset) -> list[tuple[str, int, int, _Planner | None]]:
    """The layers after the stem as (kind, in width, out width, planner of the stage): kind is "cell", "reduce"
    (stride-2 separable conv doubling the stage width), "squeeze" (1x1 conv between repeated cells) or "final"
    (Fig. 2's stride-1 separable conv after the last cell, to the last stage's width)."""
    out: list[tuple[str, int, int, _Planner | None]] = []
    width = current = preset.channels
    for stage in range(preset.stages):
        if stage > 0:
            out.append(("reduce", current, 2 * width, None))
            width = current = 2 * width
        planner = _Planner(hierarchy, arch, width)
        for index in range(preset.cells_per_stage):
            if index > 0 and current != width:
                out.append(("squeeze", current, width, None))
            current = planner.motif_out_width(hierarchy.levels, 0, width) or width  # empty cell: zeros
            out.append(("cell", width, current, planner))
    out.append(("final", current, width, None))
    return out


# -- analytic cost (equals torch.utils.flop_counter / 2 on the built model) ---------------------------------------
def _conv_cost(cin: int, cout: int, kernel: int, pixels: int, groups: int = 1, bn: bool = True) -> tuple[int, int]:
    weights = cout * (cin // groups) * kernel * kernel
    return weights * pixels, weights + (2 * cout if bn else 0)


def _motif_cost(planner: _Planner, level: int, motif: int, in_width: int, pixels: int) -> tuple[int, int]:
    plan = planner.plan(level, motif, in_width)
    if plan is None:
        return 0, 0
    macs = params = 0
    for e in plan.edges:
        if level == 2:
            m, p = _primitive_cost(e.op, e.in_width, planner.cell_width, pixels)
        else:
            m, p = _motif_cost(planner, level - 1, int(e.op[1:]), e.in_width, pixels)
        macs, params = macs + m, params + p
    if level == 2:
        m, p = _conv_cost(plan.out_width, in_width, 1, pixels)
        macs, params = macs + m, params + p
    return macs, params


def _primitive_cost(op: str, cin: int, width: int, pixels: int) -> tuple[int, int]:
    if op == "conv1x1":
        return _conv_cost(cin, width, 1, pixels)
    if op == "dwconv3x3":
        return _conv_cost(cin, cin, 3, pixels, groups=cin)
    if op == "sepconv3x3":
        return _sep_conv_cost(cin, width, pixels)
    return 0, 0  # pools and identity: no multiply-adds, no parameters


def _sep_conv_cost(cin: int, cout: int, pixels: int) -> tuple[int, int]:
    dw_macs, dw_params = _conv_cost(cin, cin, 3, pixels, groups=cin, bn=False)
    pw_macs, pw_params = _conv_cost(cin, cout, 1, pixels)
    return dw_macs + pw_macs, dw_params + pw_params


def _out_size(size: int, stride: int) -> int:
    return (size + 2 * 1 - 3) // stride + 1  # 3x3 kernel, padding 1


class HierarchicalSpace:
    """The `SearchSpace` of hierarchical (or flat) genotypes with the paper's small evaluation model."""

    def __init__(self, name: str, hierarchy: Hierarchy, preset: ModelPreset, input_shape: tuple[int, int, int],
                 num_classes: int) -> None:
        self.name = name
        self.hierarchy = hierarchy
        self.preset = preset
        self.input_shape = input_shape
        self.num_classes = num_classes
        self.space = hierarchy.space(name)

    def trivial(self) -> Arch:
        return self.hierarchy.trivial()

    def build(self, arch: Arch) -> nn.Module:
        arch = self.space.validate(arch)
        return HierarchicalNet(self.hierarchy, arch, self.preset, self.input_shape[0], self.num_classes)

    def cost(self, arch: Arch) -> Cost:
        arch = self.space.validate(arch)
        c, h, w = self.input_shape
        h, w = _out_size(h, self.preset.stem_stride), _out_size(w, self.preset.stem_stride)
        macs, params = _conv_cost(c, self.preset.channels, 3, h * w)
        for kind, cin, cout, planner in _layout(self.hierarchy, arch, self.preset):
            if kind == "cell":
                m, p = _motif_cost(planner, self.hierarchy.levels, 0, cin, h * w)
            elif kind in ("reduce", "final"):
                if kind == "reduce":
                    h, w = _out_size(h, 2), _out_size(w, 2)
                m, p = _sep_conv_cost(cin, cout, h * w)
            else:
                m, p = _conv_cost(cin, cout, 1, h * w)
            macs, params = macs + m, params + p
        macs += cout * self.num_classes
        params += cout * self.num_classes + self.num_classes
        return Cost(macs=int(macs), params=int(params))

    def __repr__(self) -> str:
        return (f"HierarchicalSpace({self.name!r}, motifs={list(self.hierarchy.motifs)}, "
                f"nodes={list(self.hierarchy.nodes)}, {self.preset})")


def _make(name: str, default: Hierarchy, preset: str, motifs: Sequence[int] | None, nodes: Sequence[int] | None,
          channels: int | None, stem_stride: int | None, stages: int | None, cells_per_stage: int | None,
          num_classes: int | None, input_size: int | None, in_channels: int | None) -> HierarchicalSpace:
    if preset not in PRESETS:
        raise unknown_name(f"preset of space {name!r}:", preset, PRESETS)
    hierarchy = Hierarchy(tuple(int(m) for m in motifs) if motifs is not None else default.motifs,
                          tuple(int(n) for n in nodes) if nodes is not None else default.nodes)
    base = PRESETS[preset]
    model = ModelPreset(channels=channels or base.channels, stem_stride=stem_stride or base.stem_stride,
                        stages=stages or base.stages, cells_per_stage=cells_per_stage or base.cells_per_stage)
    for field_name in ("channels", "stem_stride", "stages", "cells_per_stage"):
        if getattr(model, field_name) < 1:
            raise ConfigError(f"space {name!r}: {field_name} must be >= 1, got {getattr(model, field_name)}")
    shape = (in_channels or 1, input_size or 28, input_size or 28)  # default: Fashion-MNIST
    return HierarchicalSpace(name, hierarchy, model, shape, num_classes or 10)


@register_space("hierarchical")
def hierarchical_space(*, preset: str = "quick", motifs: Sequence[int] | None = None,
                       nodes: Sequence[int] | None = None, channels: int | None = None,
                       stem_stride: int | None = None, stages: int | None = None,
                       cells_per_stage: int | None = None, num_classes: int | None = None,
                       input_size: int | None = None, in_channels: int | None = None) -> HierarchicalSpace:
    """Liu et al. 2018 hierarchical genotypes: L = 3, M = (6, 6, 1), graphs of 4 and 5 nodes (sec. 4.1)."""
    return _make("hierarchical", HIERARCHICAL, preset, motifs, nodes, channels, stem_stride, stages,
                 cells_per_stage, num_classes, input_size, in_channels)


@register_space("flat")
def flat_space(*, preset: str = "quick", nodes: Sequence[int] | None = None, channels: int | None = None,
               stem_stride: int | None = None, stages: int | None = None, cells_per_stage: int | None = None,
               num_classes: int | None = None, input_size: int | None = None,
               in_channels: int | None = None) -> HierarchicalSpace:
    """Liu et al. 2018 flat genotypes: one graph of 11 nodes over the primitives (sec. 4.1)."""
    return _make("flat", FLAT, preset, None, nodes, channels, stem_stride, stages, cells_per_stage, num_classes,
                 input_size, in_channels)
