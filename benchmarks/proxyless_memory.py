"""Peak memory of one training step as the number of candidate ops per block grows (ProxylessNAS sec. 3.2 claim).

Three models with the same active path (every block MBConv k3 e6) on the same batch:
  child      the standalone network of that path;
  binary     the binary-gate supernet (`BinaryGate`): the weight step runs the one sampled path;
  allpath    the DARTS-style supernet (`Weighted` softmax mixed op): every candidate runs and keeps activations.
Also shown, not in RESULT: the binary-gate *architecture* step in two-path and full mode, with the other sampled
candidates' outputs recomputed in the backward pass (the default, one path's activations) and, for full mode, kept
from the forward pass ("arch full keep").

Peak memory = the process's peak resident set (VmHWM, reset through /proc/self/clear_refs before each step) minus
the resident set just before it, with glibc's mmap threshold fixed so freed tensors go back to the OS. Models are
built fresh per measurement, measurements interleaved, median of repeats.

    python benchmarks/proxyless_memory.py [--repeats 3] [--batch 32]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import re
import statistics
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.supernet import BinaryGate, MixedOp, Weighted, set_path, set_policy  # noqa: E402

# candidate lists: 7 = the ProxylessNAS set (MBConv k{3,5,7} x e{3,6} + zero/skip), grown to 13 with e1 / e2 ops
ORDER = ["k3e6", "k3e3", "k5e3", "k5e6", "k7e3", "k7e6", "skip", "k3e1", "k5e1", "k7e1", "k3e2", "k5e2", "k7e2"]
COUNTS = (2, 4, 7, 13)
ACTIVE = "k3e6"  # in every candidate list, so all three models run the same path
STAGES = ((24, 2), (40, 2), (80, 2))  # (channels, searchable blocks) after stride-2 transitions


class MBConv(nn.Module):
    """MobileNetV2 inverted residual (1x1 expand, kxk depthwise, 1x1 project) with its identity shortcut."""

    def __init__(self, channels: int, kernel: int, expand: int) -> None:
        super().__init__()
        hidden = channels * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(), nn.Conv2d(hidden, channels, 1, bias=False),
                   nn.BatchNorm2d(channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def candidate(value: str, channels: int) -> nn.Module:
    if value == "skip":
        return nn.Identity()
    return MBConv(channels, int(value[1]), int(value[3]))


def network(values: list[str]) -> nn.Module:
    """Stem (stride 2) -> per stage a stride-2 transition then searchable blocks (MixedOps) -> head."""
    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()]
    c_in, index = 16, 0
    for channels, blocks in STAGES:
        layers += [nn.Conv2d(c_in, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU6()]
        for _ in range(blocks):
            layers.append(MixedOp(f"b{index}", {v: candidate(v, channels) for v in values}))
            index += 1
        c_in = channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 10)]
    return nn.Sequential(*layers)


def build(kind: str, n: int) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    if kind == "child":
        model = network([ACTIVE])
        set_path(model, {op.name: ACTIVE for op in _ops(model)})
        return model, {}
    model = network(ORDER[:n])
    alphas = {op.name: torch.zeros(n, requires_grad=True) for op in _ops(model)}
    if kind == "allpath":
        set_policy(model, lambda op: Weighted(alphas[op.name]))
    else:
        set_policy(model, lambda op: BinaryGate(alphas[op.name], recompute=not kind.endswith("-keep")))
    return model, alphas


def _ops(model: nn.Module) -> list[MixedOp]:
    return [m for m in model.modules() if isinstance(m, MixedOp)]


def one_step(kind: str, model: nn.Module, alphas: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> None:
    """One optimisation step: weights (child, binary, allpath) or architecture (arch-two, arch-full)."""
    weights = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    for op in _ops(model) if kind != "child" and kind != "allpath" else ():
        gate: BinaryGate = op.policy  # type: ignore[assignment]
        gate.set_active(0)  # ORDER[0] == ACTIVE: the weight step runs that one path
        if kind == "arch-two":  # the paper's two sampled paths (the active one and one more)
            gate.sampled, gate.arch_grad = [0, 1], True
        elif kind.startswith("arch-full"):  # every path's gate takes part in the gradient
            gate.sampled, gate.arch_grad = list(range(len(op.ops))), True
    loss = F.cross_entropy(model(x), y)
    if kind.startswith("arch"):
        gates = [op.policy.gate for op in _ops(model)]
        loss.backward(inputs=gates)
        for op in _ops(model):
            op.policy.accumulate_alpha_grad()
        torch.optim.Adam(alphas.values(), lr=1e-3, betas=(0.0, 0.999)).step()
    else:
        weights.zero_grad(set_to_none=True)
        loss.backward()
        weights.step()


_LIBC = ctypes.CDLL("libc.so.6")


def _kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1))


def peak_mb(kind: str, n: int, batch: int, size: int) -> float:
    model, alphas = build(kind, n)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 3, size, size, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    gc.collect()
    _LIBC.malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS high-water mark
    before = _kb("VmRSS")
    one_step(kind, model, alphas, x, y)
    peak = _kb("VmHWM")
    del model, alphas, x, y
    gc.collect()
    _LIBC.malloc_trim(0)
    return (peak - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=64, help="input image side (3 channels)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    _LIBC.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD fixed: large tensors are mmapped and freed to the OS
    _LIBC.mallopt(-1, 64 * 1024)  # M_TRIM_THRESHOLD
    kinds = ("child", "binary", "allpath", "arch-two", "arch-full", "arch-full-keep")
    samples: dict[tuple[str, int], list[float]] = {}
    peak_mb("allpath", 2, args.batch, args.size)  # warm-up: first-touch allocations of torch itself
    for _ in range(args.repeats):
        for n in COUNTS:
            for kind in kinds:
                samples.setdefault((kind, n), []).append(peak_mb(kind, n, args.batch, args.size))
    med = {key: statistics.median(v) for key, v in samples.items()}
    print(f"peak memory of one training step (MB above the resident set before it), batch {args.batch}, "
          f"3x{args.size}x{args.size}, {sum(b for _, b in STAGES)} searchable blocks, median of {args.repeats}")
    print(f"{'ops/block':>9} | {'child':>7} | {'binary':>7} | {'allpath':>8} | {'arch two':>8} | {'arch full':>9} |"
          f" {'arch full keep':>14} | {'binary/child':>12} | {'allpath/child':>13}")
    for n in COUNTS:
        child = med[("child", n)]
        print(f"{n:>9} | {child:7.1f} | {med[('binary', n)]:7.1f} | {med[('allpath', n)]:8.1f} | "
              f"{med[('arch-two', n)]:8.1f} | {med[('arch-full', n)]:9.1f} | {med[('arch-full-keep', n)]:14.1f} | "
              f"{med[('binary', n)] / child:12.2f} | "
              f"{med[('allpath', n)] / child:13.2f}")
    a = med[("binary", 7)] / med[("child", 7)]
    b = med[("allpath", 7)] / med[("child", 7)]
    print("RESULT " + json.dumps({"proxyless_over_child_at_7": round(a, 3), "allpath_over_child_at_7": round(b, 3)}))


if __name__ == "__main__":
    main()
