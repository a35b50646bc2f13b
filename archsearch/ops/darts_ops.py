"""The DARTS candidate operations (Liu et al. 2019, "DARTS", sec. 3.1 and appendix A.1), and their analytic cost.

Every op maps C channels to C channels at a stride of 1 or 2 (edges out of a reduction cell's inputs). Convolutions
are ReLU-Conv-BN; a separable conv is applied twice (as in the paper); pools are followed by a BatchNorm without
affine parameters in the *search* network only (the released DARTS code does this so pool outputs are on the scale
of the conv outputs). `affine=False` is used in the search network, `affine=True` in the evaluation network.

`op_cost` returns the multiply-accumulates (per image) and parameters of each op exactly as
`torch.utils.flop_counter` (FLOPs / 2) and ``sum(p.numel())`` count them, so the space's cost model needs no model.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.errors import unknown_name

# DARTS sec. 3.1 / released genotypes.PRIMITIVES: the eight candidate ops ("none" is the zero op).
OP_NAMES: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                             "dil_conv_3x3", "dil_conv_5x5")

# name -> (kernel, dilation) of the depthwise convolutions; padding keeps the size at stride 1
_CONV_OPS: dict[str, tuple[int, int]] = {
    "sep_conv_3x3": (3, 1), "sep_conv_5x5": (5, 1), "dil_conv_3x3": (3, 2), "dil_conv_5x5": (5, 2),
}


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class ReLUConvBN(nn.Sequential):
    """ReLU -> conv -> BN: the cell input preprocessing (1x1) of DARTS."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True) -> None:
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


class DilConv(nn.Sequential):
    """ReLU -> depthwise (dilated) conv -> pointwise conv -> BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable convs (DARTS appendix A.1: "separable convolutions are always applied
    twice"); only the first one strides."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True) -> None:
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
                         DilConv(c_in, c_out, kernel, 1, padding, 1, affine))


class Zero(nn.Module):
    """The `none` op: zeros of the output shape (no computation, no parameters)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing half the pixels: two 1x1 stride-2 convs, the second on the input
    shifted by one pixel, concatenated (skip_connect at stride 2, and preprocessing after a reduction cell).

    The shifted path pads one row/column at the bottom/right so odd sizes (7x7 on Fashion-MNIST) give
    ceil(H/2) on both paths; for even sizes this equals the released code's ``x[:, :, 1:, 1:]``.
    """

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(name: str, channels: int, stride: int, *, affine: bool, search: bool = False) -> nn.Module:
    """The candidate op `name` on `channels` channels; `search=True` adds the search network's BN after pools."""
    if name == "none":
        return Zero(stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        pool = (nn.MaxPool2d(3, stride=stride, padding=1) if name == "max_pool_3x3"
                else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
        return nn.Sequential(pool, nn.BatchNorm2d(channels, affine=False)) if search else pool
    if name in _CONV_OPS:
        kernel, dilation = _CONV_OPS[name]
        padding = dilation * (kernel - 1) // 2
        if name.startswith("sep"):
            return SepConv(channels, channels, kernel, stride, padding, affine)
        return DilConv(channels, channels, kernel, stride, padding, dilation, affine)
    raise unknown_name("DARTS op", name, OP_NAMES)


# -- analytic cost ------------------------------------------------------------------------------------------------
def conv_cost(c_in: int, c_out: int, kernel: int, height: int, width: int, *, stride: int = 1, padding: int = 0,
              dilation: int = 1, groups: int = 1) -> tuple[int, int, int, int]:
    """(MACs, weight count, out height, out width) of a bias-free conv on one image."""
    h = _out_size(height, kernel, stride, padding, dilation)
    w = _out_size(width, kernel, stride, padding, dilation)
    weights = c_out * (c_in // groups) * kernel * kernel
    return weights * h * w, weights, h, w


def bn_params(channels: int, affine: bool) -> int:
    return 2 * channels if affine else 0


def relu_conv_bn_cost(c_in: int, c_out: int, height: int, width: int, affine: bool) -> tuple[int, int]:
    macs, weights, _, _ = conv_cost(c_in, c_out, 1, height, width)
    return macs, weights + bn_params(c_out, affine)


def factorized_reduce_cost(c_in: int, c_out: int, height: int, width: int, affine: bool) -> tuple[int, int]:
    """Both paths give ceil(H/2) x ceil(W/2) (the shifted one sees the padded input), so they cost the same."""
    macs, weights, _, _ = conv_cost(c_in, c_out // 2, 1, height, width, stride=2)
    return 2 * macs, 2 * weights + bn_params(c_out, affine)


def op_cost(name: str, channels: int, height: int, width: int, stride: int, *, affine: bool) -> tuple[int, int]:
    """(MACs per image, params) of `make_op(name, channels, stride, affine=affine)` on a (channels, height, width)
    input. Pools and identity cost nothing (flop_counter counts only convolutions and matrix products)."""
    c = channels
    if name in ("none", "max_pool_3x3", "avg_pool_3x3") or (name == "skip_connect" and stride == 1):
        return 0, 0
    if name == "skip_connect":
        return factorized_reduce_cost(c, c, height, width, affine)
    if name in _CONV_OPS:
        kernel, dilation = _CONV_OPS[name]
        padding = dilation * (kernel - 1) // 2
        macs, params, h, w = 0, 0, height, width
        repeats = [(stride, dilation)] if name.startswith("dil") else [(stride, 1), (1, 1)]
        for s, d in repeats:
            dw_macs, dw_weights, h, w = conv_cost(c, c, kernel, h, w, stride=s, padding=padding, dilation=d,
                                                  groups=c)
            pw_macs, pw_weights, h, w = conv_cost(c, c, 1, h, w)
            macs += dw_macs + pw_macs
            params += dw_weights + pw_weights + bn_params(c, affine)
        return macs, params
    raise unknown_name("DARTS op", name, OP_NAMES)


__all__ = ["DilConv", "FactorizedReduce", "OP_NAMES", "ReLUConvBN", "SepConv", "Zero", "bn_params", "conv_cost",
           "factorized_reduce_cost", "make_op", "op_cost", "relu_conv_bn_cost"]
