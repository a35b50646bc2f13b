"""MobileNetV2 inverted-residual block (MBConv) with optional squeeze-excitation, and its analytic cost.

The block is ProxylessNAS' ``MBInvertedConvLayer`` (released code): 1x1 expand (left out when e = 1) BN ReLU6,
depthwise k x k BN ReLU6, [SE], 1x1 project BN (linear bottleneck), plus the residual when the stride is 1 and the
widths match. The residual sits *inside* the block, so a supernet's ``skip`` candidate is a plain identity.
MobileNetV3's variant (FBNetV3 builds on it) is the same block with three options: the activation (relu or
hswish), the expanded width rounded to a multiple of 8 (``width_divisor``) and stochastic depth on the residual.

`mbconv_cost` gives multiply-adds and parameters without building the block. MACs count convolutions and linears
only (what ``torch.utils.flop_counter`` counts, halved): BN, activations, pooling, the SE product and the residual
add are not counted, nor are biases in MACs.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.ops.drop_path import DropPath

SE_REDUCTION = 4  # MobileNetV3 (Howard et al. 2019, sec. 5.3): squeeze to 1/4 of the expanded channels
ACTIVATION_LAYERS: dict[str, Callable[[], nn.Module]] = {
    "relu6": lambda: nn.ReLU6(inplace=True),  # MobileNetV2 / ProxylessNAS
    "relu": nn.ReLU,
    "hswish": nn.Hardswish,  # MobileNetV3 sec. 5.2
}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of `divisor`, never down by more than 10% (MobileNetV2's rounding rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def out_size(size: int, kernel: int, stride: int) -> int:
    """Spatial size after a 'same'-padded (kernel // 2) convolution."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def activation(name: str) -> nn.Module:
    """A fresh activation layer by name (``relu6``, ``relu`` or ``hswish``)."""
    return ACTIVATION_LAYERS[name]()


class ConvBNAct(nn.Sequential):
    """Conv (no bias) + BN [+ activation, ReLU6 unless named]: the building unit of MobileNetV2 / V3."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, *, groups: int = 1,
                 act: str | None = "relu6") -> None:
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                                   nn.BatchNorm2d(c_out)]
        if act is not None:
            layers.append(activation(act))
        super().__init__(*layers)


def conv_bn_cost(c_in: int, c_out: int, kernel: int, stride: int, size: tuple[int, int], *,
                 groups: int = 1) -> tuple[int, int, tuple[int, int]]:
    """(MACs, params, output size) of a `ConvBNAct`."""
    h, w = out_size(size[0], kernel, stride), out_size(size[1], kernel, stride)
    weights = c_out * (c_in // groups) * kernel * kernel
    return h * w * weights, weights + 2 * c_out, (h, w)


class SqueezeExcite(nn.Module):
    """Squeeze-excitation as in MobileNetV3 (sec. 5.3): global pool, 1x1 conv to C/4 (rounded to 8), ReLU, 1x1 conv
    back, hard-sigmoid gate. GreedyNAS (sec. 4.1) only says "SE module"; we take MobileNetV3's form, the SE of the
    MobileNet family it builds on (interpretation)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = se_channels(channels)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(scale))))


def se_channels(channels: int) -> int:
    return make_divisible(channels / SE_REDUCTION)


def expanded_width(c_in: int, expansion: int, width_divisor: int | None = None) -> int:
    """The block's inner width: ``c_in * e`` as ProxylessNAS' code has it (no rounding), or with `width_divisor`
    rounded by `make_divisible` as MobileNetV3 does (e = 1 keeps ``c_in``)."""
    if width_divisor is None:
        return c_in * expansion
    return make_divisible(c_in * expansion, width_divisor) if expansion != 1 else c_in


class MBConv(nn.Module):
    """Inverted residual block; ``residual`` is True when stride 1 and c_in == c_out (then out = x + f(x)).

    ``act`` names the activation of the expand and depthwise convs, ``width_divisor`` rounds the inner width
    (`expanded_width`), and ``drop_path`` puts stochastic depth (a `DropPath` the recipe sets) on the residual."""

    def __init__(self, c_in: int, c_out: int, *, kernel: int, expansion: int, stride: int = 1,
                 se: bool = False, act: str = "relu6", width_divisor: int | None = None,
                 drop_path: bool = False) -> None:
        super().__init__()
        mid = expanded_width(c_in, expansion, width_divisor)
        self.expand = ConvBNAct(c_in, mid, 1, act=act) if expansion != 1 else nn.Identity()
        self.depthwise = ConvBNAct(mid, mid, kernel, stride, groups=mid, act=act)
        self.se = SqueezeExcite(mid) if se else nn.Identity()
        self.project = ConvBNAct(mid, c_out, 1, act=None)
        self.residual = stride == 1 and c_in == c_out
        self.drop_path = DropPath(0.0) if drop_path and self.residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.se(self.depthwise(self.expand(x))))
        if self.drop_path is not None:
            return x + self.drop_path(out)
        return x + out if self.residual else out


def mbconv_cost(c_in: int, c_out: int, *, kernel: int, expansion: int, stride: int, se: bool,
                size: tuple[int, int], width_divisor: int | None = None) -> tuple[int, int, tuple[int, int]]:
    """(MACs, params, output size) of an `MBConv` at input spatial `size`, equal to the built block's counts
    (the activation and stochastic depth add neither)."""
    mid = expanded_width(c_in, expansion, width_divisor)
    macs = params = 0
    if expansion != 1:
        m, p, _ = conv_bn_cost(c_in, mid, 1, 1, size)
        macs, params = macs + m, params + p
    m, p, size = conv_bn_cost(mid, mid, kernel, stride, size, groups=mid)
    macs, params = macs + m, params + p
    if se:
        squeezed = se_channels(mid)
        macs += 2 * mid * squeezed  # two 1x1 convs on the pooled 1x1 map
        params += 2 * mid * squeezed + squeezed + mid  # weights and biases
    m, p, size = conv_bn_cost(mid, c_out, 1, 1, size)
    return macs + m, params + p, size


__all__ = ["ACTIVATION_LAYERS", "ConvBNAct", "MBConv", "SE_REDUCTION", "SqueezeExcite", "activation", "conv_bn_cost",
           "expanded_width", "make_divisible", "mbconv_cost", "out_size", "se_channels"]
