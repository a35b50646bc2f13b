"""The layer-wise MobileNetV2 space of ProxylessNAS and GreedyNAS ("mobilenet").

Every searchable block picks one MBConv of kernel {3, 5, 7} x expansion {3, 6}, or ``skip`` where the block has a
residual (stride 1, same width): ProxylessNAS calls that candidate "zero" (the block's branch outputs 0 and the
shortcut carries x), GreedyNAS "identity"; since our MBConv candidates carry their own residual, both are the same
function x -> x, here an `nn.Identity`. With ``se=True`` every MBConv also comes with squeeze-excitation (GreedyNAS'
larger space: 6 + 6 + skip = 13 choices). The first block of a stage that changes stride or width has no ``skip``.

Choice names are ``b00, b01, ...`` (one per searchable block), values strings ``k3e3 .. k7e6``, ``k3e3se ..``,
``skip``. The supernet holds one `MixedOp` per block with the same names, so every path policy (single path,
weighted, binary gate) applies; `inherit` copies the chosen candidates' weights into a standalone child.

Costs come from per-block tables computed once: an arch's MACs / params are a sum of table entries (microseconds),
equal to ``torch.utils.flop_counter`` FLOPs / 2 and ``sum(p.numel())`` on the built network. `blocks`,
`make_candidate` and `fixed_modules` describe the ops for a latency lookup table (`archsearch.cost.latency`).

Note on the binary gate: with the residual inside each candidate, dL/dg_j gains the same term <dL/dy, x> for every
path j; the gate rule sum_j dL/dg_j p_j (delta_ij - p_i) cancels a term common to all j (p sums to 1 over the
sampled set), so the alpha gradients equal those of ProxylessNAS' shortcut-outside layout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

import torch.nn as nn

from archsearch.cost.constraints import Cost
from archsearch.errors import ConfigError, UsageError, unknown_name
from archsearch.ops.mbconv import ConvBNAct, MBConv, conv_bn_cost, mbconv_cost
from archsearch.space.choices import Categorical
from archsearch.space.space import Arch, Space
from archsearch.spaces import register_space
from archsearch.supernet.mixed_op import MixedOp

SKIP = "skip"
KERNELS = (3, 5, 7)  # ProxylessNAS sec. 4 / GreedyNAS sec. 4.1
EXPANSIONS = (3, 6)


@dataclass(frozen=True)
class MobileNetConfig:
    """The backbone layout. Stages are (width, depth, stride) rows; the first block of each stage strides."""

    widths: tuple[int, ...]
    depths: tuple[int, ...]
    strides: tuple[int, ...]
    input_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int
    first_width: int = 32  # released code: first conv 3x3, 32 channels, stride 2
    first_block_width: int | None = 16  # released code: a fixed MBConv e=1 k3 to 16 channels (None: no such block)
    stem_stride: int = 2
    last_width: int = 1280  # released code: 1x1 "feature mix" conv to 1280 before pooling
    se: bool = False  # GreedyNAS' larger space (sec. 4.1): SE variant of every MBConv
    kernels: tuple[int, ...] = KERNELS
    expansions: tuple[int, ...] = EXPANSIONS
    dropout: float = 0.0  # classifier dropout (a training recipe may set it)


# ProxylessNAS' ImageNet layout (released code, proxyless_nas/super_proxyless.py; docs/methods/proxyless.md): 21
# searchable blocks, 15 of them with skip.
PAPER = MobileNetConfig(widths=(24, 40, 80, 96, 192, 320), depths=(4, 4, 4, 4, 4, 1), strides=(2, 2, 2, 1, 2, 1),
                        input_shape=(3, 224, 224), num_classes=1000)
# Fashion-MNIST sizes (interpretation): a stride-2 stem (3-5x faster steps when downsampling early, measured:
# docs/architecture.md), blocks at 14x14, 7x7 and 4x4, 10 searchable blocks (6 with skip).
QUICK = MobileNetConfig(widths=(16, 24, 32, 48), depths=(2, 3, 3, 2), strides=(1, 2, 1, 2),
                        input_shape=(1, 28, 28), num_classes=10, first_width=16, first_block_width=8,
                        last_width=128)
# Seconds-sized for tests: 4 searchable blocks (2 with skip) at 7x7 and 4x4.
SMOKE = MobileNetConfig(widths=(8, 16), depths=(2, 2), strides=(2, 2), input_shape=(1, 28, 28), num_classes=10,
                        first_width=8, first_block_width=8, last_width=32)
# CIFAR-10 (interpretation): the paper's widths with a stride-1 stem and two blocks per stage, at 32, 16, 8, 4.
CIFAR = MobileNetConfig(widths=(24, 40, 80, 96, 192, 320), depths=(2, 2, 2, 2, 2, 1), strides=(1, 2, 2, 1, 2, 1),
                        input_shape=(3, 32, 32), num_classes=10, stem_stride=1)
PRESETS: dict[str, MobileNetConfig] = {"paper": PAPER, "quick": QUICK, "smoke": SMOKE, "cifar": CIFAR}


def candidate_values(config: MobileNetConfig, *, skip: bool) -> tuple[str, ...]:
    """``k{k}e{e}`` for kernels x expansions, then the ``se`` variants, then ``skip`` where a residual exists."""
    plain = tuple(f"k{k}e{e}" for k in config.kernels for e in config.expansions)
    values = plain + (tuple(v + "se" for v in plain) if config.se else ())
    return values + ((SKIP,) if skip else ())


def parse_value(value: str) -> tuple[int, int, bool] | None:
    """``"k5e6se"`` -> (5, 6, True); ``"skip"`` -> None."""
    if value == SKIP:
        return None
    se = value.endswith("se")
    body = value[:-2] if se else value
    kernel, _, expansion = body[1:].partition("e")
    if not body.startswith("k") or not kernel.isdigit() or not expansion.isdigit():
        raise UsageError(f"bad mobilenet block value {value!r}; write it like 'k3e6', 'k5e3se' or 'skip'")
    return int(kernel), int(expansion), se


@dataclass(frozen=True)
class BlockSpec:
    """One searchable block: its choice name, input shape (C, H, W), candidate values and geometry."""

    name: str
    input_shape: tuple[int, int, int]
    values: tuple[str, ...]
    c_in: int
    c_out: int
    stride: int

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.c_in == self.c_out


class MobileNet(nn.Module):
    """stem (first conv + fixed MBConv e=1) -> searchable blocks -> head (1x1 conv, pool, classifier). In a supernet
    ``blocks`` holds `MixedOp`s; in a child the chosen ops."""

    def __init__(self, stem: nn.Module, blocks: Sequence[nn.Module], head: nn.Module) -> None:
        super().__init__()
        self.stem = stem
        self.blocks = nn.Sequential(*blocks)
        self.head = head

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class MobileNetSpace:
    """The "mobilenet" weight-sharing space: `space`, `build`, `supernet`, `inherit`, analytic `cost`, LUT ops."""

    def __init__(self, config: MobileNetConfig, *, name: str = "mobilenet") -> None:
        self.config = config
        self.name = name
        self.input_shape = tuple(config.input_shape)
        self.num_classes = config.num_classes
        self.blocks, self._head_shape = self._layout()
        self._by_name = {b.name: b for b in self.blocks}
        self.space = Space([(b.name, Categorical(b.values)) for b in self.blocks], name=name)
        self._fixed, self._tables = self._cost_tables()

    def __repr__(self) -> str:
        return f"MobileNetSpace({len(self.blocks)} blocks, input {self.input_shape}, {self.num_classes} classes)"

    # -- layout -----------------------------------------------------------------------------------------------
    def _stem_out(self) -> tuple[int, int, int]:
        c = self.config
        _, _, size = conv_bn_cost(self.input_shape[0], c.first_width, 3, c.stem_stride, self.input_shape[1:])
        return (c.first_block_width or c.first_width, *size)

    def _layout(self) -> tuple[list[BlockSpec], tuple[int, int, int]]:
        c = self.config
        channels, h, w = self._stem_out()
        count = sum(c.depths)
        digits = max(2, len(str(count - 1)))
        blocks = []
        for width, depth, stride in zip(c.widths, c.depths, c.strides):
            for j in range(depth):
                s = stride if j == 0 else 1
                residual = s == 1 and channels == width
                blocks.append(BlockSpec(f"b{len(blocks):0{digits}d}", (channels, h, w),
                                        candidate_values(c, skip=residual), channels, width, s))
                channels, h, w = width, (h - 1) // s + 1, (w - 1) // s + 1  # odd kernels, padding k // 2
        return blocks, (channels, h, w)

    # -- modules ----------------------------------------------------------------------------------------------
    def _stem(self) -> nn.Module:
        c = self.config
        layers: list[nn.Module] = [ConvBNAct(self.input_shape[0], c.first_width, 3, c.stem_stride)]
        if c.first_block_width:
            layers.append(MBConv(c.first_width, c.first_block_width, kernel=3, expansion=1))
        return nn.Sequential(*layers)

    def _head(self) -> nn.Module:
        c = self.config
        return nn.Sequential(ConvBNAct(self._head_shape[0], c.last_width, 1), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Dropout(c.dropout), nn.Linear(c.last_width, self.num_classes))

    def make_candidate(self, block_name: str, value: str) -> nn.Module:
        """A fresh module for candidate `value` of block `block_name` (residual included; ``skip`` = identity)."""
        block = self._by_name.get(block_name)
        if block is None:
            raise unknown_name("mobilenet block", block_name, self._by_name)
        if value not in block.values:
            raise unknown_name(f"candidate for block {block_name!r}:", value, block.values)
        parsed = parse_value(value)
        if parsed is None:
            return nn.Identity()
        kernel, expansion, se = parsed
        return MBConv(block.c_in, block.c_out, kernel=kernel, expansion=expansion, stride=block.stride, se=se)

    def fixed_modules(self) -> list[tuple[str, Callable[[], nn.Module], tuple[int, int, int]]]:
        """The parts every arch shares, for a latency table: (name, factory, input shape)."""
        return [("stem", self._stem, self.input_shape), ("head", self._head, self._head_shape)]

    # -- networks ---------------------------------------------------------------------------------------------
    def build(self, arch: Mapping[str, object]) -> nn.Module:
        """The standalone network of `arch` (only the chosen ops; ``skip`` blocks are identities)."""
        arch = self.space.validate(arch)
        return MobileNet(self._stem(), [self.make_candidate(b.name, str(arch[b.name])) for b in self.blocks],
                         self._head())

    def supernet(self) -> nn.Module:
        """One `MixedOp` per searchable block holding every candidate (default policy: single path)."""
        return MobileNet(self._stem(), [MixedOp(b.name, {v: self.make_candidate(b.name, v) for v in b.values})
                                        for b in self.blocks], self._head())

    def inherit(self, supernet: nn.Module, arch: Mapping[str, object]) -> nn.Module:
        """`build(arch)` with the supernet's weights and BN statistics of the chosen candidates (strict copy)."""
        arch = self.space.validate(arch)
        if not isinstance(supernet, MobileNet) or len(supernet.blocks) != len(self.blocks) \
                or not all(isinstance(op, MixedOp) for op in supernet.blocks):
            raise UsageError(f"inherit: expected a supernet of this space ({self!r}), got {type(supernet).__name__}")
        child = self.build(arch)
        child.stem.load_state_dict(supernet.stem.state_dict())
        child.head.load_state_dict(supernet.head.state_dict())
        for spec, op, target in zip(self.blocks, supernet.blocks, child.blocks):
            if op.name != spec.name:
                raise UsageError(f"inherit: supernet block {op.name!r} where this space has {spec.name!r}")
            target.load_state_dict(op.ops[str(arch[spec.name])].state_dict())
        param = next(supernet.parameters(), None)
        if param is not None:
            child = child.to(param.device)
        return child.train(supernet.training)

    # -- cost -------------------------------------------------------------------------------------------------
    def _cost_tables(self) -> tuple[tuple[int, int], dict[str, dict[str, tuple[int, int]]]]:
        c = self.config
        macs, params, size = conv_bn_cost(self.input_shape[0], c.first_width, 3, c.stem_stride, self.input_shape[1:])
        if c.first_block_width:
            m, p, size = mbconv_cost(c.first_width, c.first_block_width, kernel=3, expansion=1, stride=1, se=False,
                                     size=size)
            macs, params = macs + m, params + p
        last, h, w = self._head_shape
        m, p, _ = conv_bn_cost(last, c.last_width, 1, 1, (h, w))
        macs += m + c.last_width * self.num_classes
        params += p + c.last_width * self.num_classes + self.num_classes
        tables: dict[str, dict[str, tuple[int, int]]] = {}
        for b in self.blocks:
            row = {}
            for value in b.values:
                parsed = parse_value(value)
                if parsed is None:
                    row[value] = (0, 0)
                    continue
                kernel, expansion, se = parsed
                m, p, _ = mbconv_cost(b.c_in, b.c_out, kernel=kernel, expansion=expansion, stride=b.stride, se=se,
                                      size=b.input_shape[1:])
                row[value] = (m, p)
            tables[b.name] = row
        return (macs, params), tables

    def cost(self, arch: Mapping[str, object]) -> Cost:
        """MACs (= flop_counter FLOPs / 2) and parameters (BN included) from the per-block tables."""
        values = arch.to_dict() if isinstance(arch, Arch) else dict(arch)
        macs, params = self._fixed
        if len(values) != len(self._tables):
            self.space.validate(values)  # raises, naming the missing / unknown choice
        for name, value in values.items():
            entry = self._tables.get(name, {}).get(value)  # type: ignore[call-overload]
            if entry is None:
                self.space.validate(values)
                raise ConfigError(f"mobilenet: {name}={value!r} is not allowed")  # pragma: no cover
            macs += entry[0]
            params += entry[1]
        return Cost(macs=macs, params=params)


def _positive_ints(key: str, values: Sequence[int] | None) -> tuple[int, ...] | None:
    if values is None:
        return None
    out = tuple(values)
    if not out or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in out):
        raise ConfigError(f"mobilenet: {key} must be a non-empty list of positive ints, got {values!r}")
    return out


@register_space("mobilenet")
def create_mobilenet_space(preset: str = "quick", *, widths: Sequence[int] | None = None,
                           depths: Sequence[int] | None = None, strides: Sequence[int] | None = None,
                           input_size: int | Sequence[int] | None = None, in_channels: int | None = None,
                           num_classes: int | None = None, se: bool | None = None, first_width: int | None = None,
                           first_block_width: int | None = None, stem_stride: int | None = None,
                           last_width: int | None = None) -> MobileNetSpace:
    """The ProxylessNAS / GreedyNAS space. ``preset``: "paper" (ImageNet layout), "quick" / "smoke" (28x28
    Fashion-MNIST), "cifar" (32x32x3); keywords override the preset's layout. ``se=True``: 13 choices per block."""
    if preset not in PRESETS:
        raise unknown_name("mobilenet preset", preset, PRESETS)
    config = PRESETS[preset]
    changes: dict[str, object] = {}
    for key, value in (("widths", widths), ("depths", depths), ("strides", strides)):
        checked = _positive_ints(key, value)
        if checked is not None:
            changes[key] = checked
    for key, value in (("first_width", first_width), ("stem_stride", stem_stride), ("last_width", last_width),
                       ("num_classes", num_classes)):
        if value is not None:
            changes[key] = _positive_ints(key, [value])[0]  # type: ignore[index]
    if first_block_width is not None:
        changes["first_block_width"] = int(first_block_width) or None  # 0: no fixed first block
    if se is not None:
        changes["se"] = bool(se)
    shape = list(config.input_shape)
    if input_size is not None:
        size = [input_size] if isinstance(input_size, int) else list(input_size)
        if len(size) == 3:
            shape = list(size)
        elif len(size) in (1, 2):
            shape[1:] = size * (3 - len(size))
        else:
            raise ConfigError(f"mobilenet: input_size must be an int, (H, W) or (C, H, W), got {input_size!r}")
    if in_channels is not None:
        shape[0] = in_channels
    _positive_ints("input_size", shape)
    changes["input_shape"] = tuple(shape)
    config = replace(config, **changes)
    if not len(config.widths) == len(config.depths) == len(config.strides):
        raise ConfigError(f"mobilenet: widths, depths and strides need one entry per stage, got "
                          f"{len(config.widths)}, {len(config.depths)}, {len(config.strides)}")
    if any(s not in (1, 2) for s in config.strides + (config.stem_stride,)):
        raise ConfigError(f"mobilenet: strides must be 1 or 2, got {list(config.strides)} (stem {config.stem_stride})")
    return MobileNetSpace(config)


__all__ = ["BlockSpec", "CIFAR", "MobileNet", "MobileNetConfig", "MobileNetSpace", "PAPER", "PRESETS", "QUICK",
           "SKIP", "SMOKE", "candidate_values", "create_mobilenet_space", "parse_value"]
