"""Cost of weight sharing: one SPOS training step through the `mobilenet` supernet vs the standalone child.

For `--archs` random archs of the space (`--preset quick`, Fashion-MNIST shape 1x28x28, 10 classes): the supernet
with the arch's single path set (`set_path`, as SPOS / GreedyNAS train it) and the child built for that arch with
the supernet's weights (`space.inherit`) each take training steps on the same random batch: forward, cross-entropy,
backward, SGD-Nesterov step (unused candidates have no gradient, so the optimiser skips them). Both run in
channels_last, as the trainer does on CPU. Measurements are interleaved: every round visits the archs in a new
order and, per arch, times the supernet and the child in alternating order; an arch's time is the median over all
its steps, its ratio supernet / child; the reported ratio is the median over archs.

Peak memory (optional, `--memory-archs`): the process's peak resident set during one step minus the resident set
before it (VmHWM reset through /proc/self/clear_refs; Linux only), supernet vs child, fresh models each time.

    python benchmarks/supernet_overhead.py [--batch-size 64] [--archs 10] [--rounds 5] [--steps 3] [--se]

Ends with ``RESULT {"supernet_step_ms", "child_step_ms", "overhead_ratio", "step_time_ratio_median",
"peak_mem_ratio"}`` (overhead_ratio = step_time_ratio_median; goal: close to 1.0, at most 1.10).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.spaces import create_space  # noqa: E402
from archsearch.supernet import set_path  # noqa: E402


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    # ProxylessNAS weight optimiser (released code; docs/methods/proxyless.md): SGD-Nesterov, momentum 0.9, wd 4e-5
    return torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=4e-5)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def timed_steps(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                steps: int) -> list[float]:
    """Wall times (ms) of `steps` training steps after one untimed warm-up step."""
    train_step(model, optimizer, x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        train_step(model, optimizer, x, y)
        times.append((time.perf_counter() - start) * 1e3)
    return times


# -- peak memory of one step (Linux) -------------------------------------------------------------------------------
def _kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1))


def step_peak_mb(model: nn.Module, x: torch.Tensor, y: torch.Tensor, libc) -> float:
    """Peak resident set above the one before, during one training step (optimiser state created in it)."""
    optimizer = make_optimizer(model)
    gc.collect()
    libc.malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS high-water mark
    before = _kb("VmRSS")
    train_step(model, optimizer, x, y)
    peak = _kb("VmHWM")
    del optimizer
    gc.collect()
    libc.malloc_trim(0)
    return (peak - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--se", action="store_true", help="the 13-choice SE space")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--archs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per model per arch per round")
    parser.add_argument("--memory-archs", type=int, default=3, help="archs whose step peak memory is measured")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = create_space("mobilenet", preset=args.preset, se=args.se)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch_size, *space.input_shape, generator=generator)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, space.num_classes, (args.batch_size,), generator=generator)

    supernet = space.supernet().to(memory_format=torch.channels_last)
    supernet_optimizer = make_optimizer(supernet)
    archs = [space.space.sample(rng) for _ in range(args.archs)]
    children = []
    for arch in archs:
        child = space.inherit(supernet, arch).to(memory_format=torch.channels_last)
        children.append((child, make_optimizer(child)))

    start = time.perf_counter()
    super_ms: list[list[float]] = [[] for _ in archs]
    child_ms: list[list[float]] = [[] for _ in archs]
    for round_index in range(args.rounds):
        for i in rng.permutation(len(archs)):
            set_path(supernet, archs[i])
            child, child_optimizer = children[i]
            order = ("super", "child") if (round_index + i) % 2 == 0 else ("child", "super")
            for which in order:
                if which == "super":
                    super_ms[i] += timed_steps(supernet, supernet_optimizer, x, y, args.steps)
                else:
                    child_ms[i] += timed_steps(child, child_optimizer, x, y, args.steps)
        print(f"round {round_index + 1}/{args.rounds} done ({time.perf_counter() - start:.0f} s)", flush=True)

    rows = []
    for arch, s, c in zip(archs, super_ms, child_ms):
        ms_s, ms_c = statistics.median(s), statistics.median(c)
        rows.append((arch, ms_s, ms_c, ms_s / ms_c, space.cost(arch).macs))
    print(f"\nmobilenet/{args.preset}{' +se' if args.se else ''}, input {space.input_shape}, batch {args.batch_size}, "
          f"{args.threads} thread(s), {len(archs)} archs x {args.rounds} rounds x {args.steps} steps, channels_last")
    print(f"{'arch':>4} | {'MMACs':>6} | {'supernet ms':>11} | {'child ms':>8} | {'ratio':>5} | path")
    for i, (arch, ms_s, ms_c, ratio, macs) in enumerate(rows):
        print(f"{i:>4} | {macs / 1e6:6.2f} | {ms_s:11.2f} | {ms_c:8.2f} | {ratio:5.3f} | "
              + " ".join(str(v) for v in arch.values()))
    ratio_median = statistics.median(r[3] for r in rows)
    super_median = statistics.median(r[1] for r in rows)
    child_median = statistics.median(r[2] for r in rows)
    print(f"median over archs: supernet {super_median:.2f} ms, child {child_median:.2f} ms, "
          f"ratio {ratio_median:.3f} (min {min(r[3] for r in rows):.3f}, max {max(r[3] for r in rows):.3f})")

    peak_ratio = None
    if args.memory_archs > 0 and Path("/proc/self/clear_refs").exists():
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD: large tensors mmapped, so freed memory leaves the process
        libc.mallopt(-1, 64 * 1024)  # M_TRIM_THRESHOLD
        ratios = []
        for arch in archs[:args.memory_archs]:
            fresh = space.supernet().to(memory_format=torch.channels_last)
            set_path(fresh, arch)
            step_peak_mb(fresh, x, y, libc)  # warm-up: first-touch allocations
            mb_super = step_peak_mb(fresh, x, y, libc)
            child = space.inherit(fresh, arch).to(memory_format=torch.channels_last)
            del fresh
            mb_child = step_peak_mb(child, x, y, libc)
            ratios.append(mb_super / mb_child)
            print(f"step peak memory above resident: supernet {mb_super:.1f} MB, child {mb_child:.1f} MB "
                  f"(ratio {mb_super / mb_child:.3f})")
        peak_ratio = statistics.median(ratios)
    print("RESULT " + json.dumps({"supernet_step_ms": round(super_median, 3), "child_step_ms": round(child_median, 3),
                                  "overhead_ratio": round(ratio_median, 4),
                                  "step_time_ratio_median": round(ratio_median, 4),
                                  "peak_mem_ratio": None if peak_ratio is None else round(peak_ratio, 3)}))


if __name__ == "__main__":
    main()
