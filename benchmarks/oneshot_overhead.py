"""One-shot methods' training step against the plain child, on a space a user writes with `LayerChoice`.

The space: a stem (conv3x3 3->16, BN, ReLU), then 5 layers each a `LayerChoice` of conv3x3 / conv5x5 / sepconv3x3 /
maxpool3x3 / identity at 16 channels, then global pooling and a linear head; input 3x28x28, batch 64, 10 classes.
The child is the standalone network with conv3x3 in every layer (`freeze`).

What one step is, per method, through the methods' own step code (`MemoryContext`, synthetic data):
  child       `Trainer.step` on the frozen child (SGD + momentum, the SPOS recipe);
  spos        one uniform iteration of `GreedyNAS` (SPOS config): sample a path, `set_path`, a trainer step;
  greedynas   one greedy iteration (score m = 10 paths on a batch, train the k = 5 best) divided by k: the cost per
              trained path-batch;
  darts1/2    `Darts`' `arch_step` (first / second order) + `weight_step`: one alpha step and one weight step;
  fairdarts   `FairDarts`' steps: sigmoid weights and the zero-one loss (first order);
  proxyless*  `ProxylessNAS.weight_step` + `gradient_arch_step`: one weight step and one arch step, in each
              arch-step mode: sampling "full" or "two", arch_memory "recompute" (default) or "keep".

Measurements: every (method, quantity) is a fresh process (``--worker``), one torch thread, processes interleaved
(each repeat visits the methods in a new order), the median over repeats. Time: median per-step time of `--steps`
steps after `--warmup` steps, on the thread's CPU clock by default (with one thread the work runs in the calling
thread, so time other processes hold the core is not counted; ``--clock wall`` for elapsed time). Memory (ΔRSS):
the process's peak resident set during one step (VmHWM, reset through /proc/self/clear_refs) minus the resident set
before it, after warm-up steps, with glibc's mmap threshold fixed at 64 KiB so freed activations leave the process
(Linux only). Ratios are to the child measured in the same repeats.

The peer's numbers (NNI 3.0 on this space, fresh interleaved processes, one thread, median of 5-6 clean runs; the
child about 75-80 ms per step), as ratios to the plain child:

    step                                         NNI 3.0 time   NNI 3.0 ΔRSS
    single path (SPOS)                              1.23x          1.48x
    DARTS, 1st order (arch + weight step)           11.6x          5.44x
    ProxylessNAS (arch + weight step, one each)     7.2x           1.62x

Goals here: spos_time <= 1.10, darts_time <= 9, proxyless_time <= 3.0, proxyless_mem <= 1.3.

    python benchmarks/oneshot_overhead.py [--repeats 5] [--steps 10] [--warmup 3] [--quick]

Ends with ``RESULT {"spos_time", "darts_time", "darts_mem", "proxyless_time", "proxyless_mem"}`` (ratios to the
child; darts = first order, proxyless = the default arch step: "full" sampling, "recompute").
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.data.splits import Splits, TensorPair  # noqa: E402
from archsearch.experiment.testing import MemoryContext  # noqa: E402
from archsearch.methods.darts import Darts, DartsConfig, FairDarts, FairDartsConfig  # noqa: E402
from archsearch.methods.greedynas import GreedyNAS, GreedyNASConfig, SPOSConfig  # noqa: E402
from archsearch.methods.proxyless import ProxylessConfig, ProxylessNAS  # noqa: E402
from archsearch import LayerChoice, ModuleSpace, freeze  # noqa: E402
from archsearch.train import Trainer  # noqa: E402

CHANNELS, LAYERS, CLASSES, BATCH, SIDE = 16, 5, 10, 64, 28
KINDS = ("child", "spos", "greedynas", "darts1", "darts2", "fairdarts", "proxyless", "proxyless-keep",
         "proxyless-two", "proxyless-two-keep")
PEER = {"spos_time": 1.23, "spos_mem": 1.48, "darts1_time": 11.6, "darts1_mem": 5.44, "proxyless_time": 7.2,
        "proxyless_mem": 1.62}


# -- the space, as a user writes it -----------------------------------------------------------------------------------
def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU())


def sep_conv(channels: int, kernel: int) -> nn.Sequential:
    """Depthwise kxk then pointwise 1x1, BN, ReLU."""
    return nn.Sequential(nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels, bias=False),
                         nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, CHANNELS, 3)
        self.layers = nn.Sequential(*[LayerChoice({
            "conv3x3": conv_bn_relu(CHANNELS, CHANNELS, 3),
            "conv5x5": conv_bn_relu(CHANNELS, CHANNELS, 5),
            "sepconv3x3": sep_conv(CHANNELS, 3),
            "maxpool3x3": nn.MaxPool2d(3, 1, 1),
            "identity": nn.Identity(),
        }, label=f"layer{i}") for i in range(LAYERS)])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(CHANNELS, CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)))


def _pair(n: int, generator: torch.Generator) -> TensorPair:
    return TensorPair(torch.randn(n, 3, SIDE, SIDE, generator=generator),
                      torch.randint(0, CLASSES, (n,), generator=generator))


def _context(space: ModuleSpace, seed: int) -> MemoryContext:
    """The method's run context; `seed` drives its path / gate sampling (a new seed per repeat)."""
    g = torch.Generator().manual_seed(1)
    splits = Splits("synthetic", _pair(8 * BATCH, g), _pair(4 * BATCH, g), _pair(2 * BATCH, g), _pair(BATCH, g),
                    CLASSES, (3, SIDE, SIDE))
    return MemoryContext(space, splits=splits, seed=seed)


# -- one step per method ----------------------------------------------------------------------------------------------
def make_step(kind: str, seed: int = 0) -> tuple[Callable[[], None], float]:
    """The step function of `kind` and how many trained batches one call stands for (its time is divided by it)."""
    torch.manual_seed(0)
    model = Net()
    space = ModuleSpace(model, (3, SIDE, SIDE), CLASSES, name="oneshot-bench")
    g = torch.Generator().manual_seed(3)
    (x, y), (x_val, y_val) = ((pair.x, pair.y) for pair in (_pair(BATCH, g), _pair(BATCH, g)))
    if kind == "child":
        child = freeze(model, {f"layer{i}": "conv3x3" for i in range(LAYERS)})
        trainer = Trainer(child, SPOSConfig().recipe.replace(batch_size=BATCH, augment=False),
                          steps_per_epoch=1000, epochs=1)
        return (lambda: trainer.step(x, y)), 1.0
    if kind in ("spos", "greedynas"):
        cls = SPOSConfig if kind == "spos" else GreedyNASConfig
        config = cls(batch_size=BATCH, score_batch_size=BATCH, supernet_epochs=1000.0, early_stop=False,
                     recipe=SPOSConfig().recipe.replace(augment=False))
        method = GreedyNAS(config, _context(space, seed))
        method._build()
        if kind == "spos":
            return method._uniform_iteration, 1.0
        return method._greedy_iteration, float(config.num_kept)
    if kind.startswith("darts") or kind == "fairdarts":
        context = _context(space, seed)
        if kind == "fairdarts":
            search = FairDarts(FairDartsConfig(batch_size=BATCH, augment=False), context).search
        else:
            search = Darts(DartsConfig(batch_size=BATCH, augment=False, order=int(kind[-1])), context).search
        search._setup()  # the trainer, as run() builds it

        def bilevel_step() -> None:
            search.arch_step(x, y, x_val, y_val)
            search.weight_step(x, y)
        return bilevel_step, 1.0
    if kind.startswith("proxyless"):
        config = ProxylessConfig(batch_size=BATCH, warmup_epochs=0, epochs=1, steps_per_epoch=1000,
                                 grad_mode="two" if "-two" in kind else "full",
                                 arch_memory="keep" if kind.endswith("-keep") else "recompute")
        method = ProxylessNAS(config, _context(space, seed))
        method._setup_costs()
        trainer = method._trainer("search", 1000)

        def proxyless_step() -> None:
            method.weight_step(trainer, x, y)
            method.gradient_arch_step()
        return proxyless_step, 1.0
    raise SystemExit(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")


# -- one measurement (a worker process) ------------------------------------------------------------------------------
_TIMERS = {"cpu": time.thread_time, "wall": time.perf_counter}


def _kb(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def measure(kind: str, quantity: str, *, steps: int, warmup: int, clock: str, seed: int) -> dict[str, float]:
    """Over `steps` steps after `warmup`: the median ms per trained batch (quantity "time"), or the median and the
    largest step's peak MB above the resident set before it ("mem")."""
    torch.set_num_threads(1)
    if quantity == "mem":
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD fixed: large tensors are mmapped and freed to the OS
        libc.mallopt(-1, 64 * 1024)  # M_TRIM_THRESHOLD
    step, per_call = make_step(kind, seed)
    for _ in range(warmup):
        step()
    if quantity == "mem":
        peaks = []
        for _ in range(steps):
            gc.collect()
            libc.malloc_trim(0)
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS high-water mark
            before = _kb("VmRSS")
            step()
            peaks.append((_kb("VmHWM") - before) / 1024)
        return {"mem": statistics.median(peaks), "mem_max": max(peaks)}
    timer, times = _TIMERS[clock], []
    for _ in range(steps):
        start = timer()
        step()
        times.append((timer() - start) * 1e3 / per_call)
    return {"time": statistics.median(times)}


def run_worker(kind: str, quantity: str, seed: int, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", kind, quantity, "--seed", str(seed), "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--clock", args.clock]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("VALUE ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"worker {kind} {quantity} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(lines[-1][len("VALUE "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per method and quantity")
    parser.add_argument("--steps", type=int, default=10, help="measured steps per process")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured steps first")
    parser.add_argument("--clock", choices=sorted(_TIMERS), default="cpu")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of " + ", ".join(KINDS))
    parser.add_argument("--no-memory", action="store_true", help="time only")
    parser.add_argument("--quick", action="store_true", help="functional check: 1 repeat, 2 steps, 1 warm-up")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "QUANTITY"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, quantity = args.worker
        values = measure(kind, quantity, steps=args.steps, warmup=args.warmup, clock=args.clock, seed=args.seed)
        print("VALUE " + json.dumps(values))
        return
    if args.quick:
        args.repeats, args.steps, args.warmup = 1, 2, 1
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KINDS)}")
    if "child" not in kinds:
        kinds.insert(0, "child")
    quantities = ["time"] + ([] if args.no_memory or not Path("/proc/self/clear_refs").exists() else ["mem"])
    jobs = [(k, q) for k in kinds for q in quantities]
    samples: dict[str, dict[str, list[float]]] = {k: {} for k in kinds}
    order_rng = random.Random(0)
    start = time.perf_counter()
    for repeat in range(args.repeats):
        order = jobs[:]
        order_rng.shuffle(order)
        for kind, quantity in order:  # the repeat number seeds the paths sampled: the median is over paths too
            for name, value in run_worker(kind, quantity, repeat, args).items():
                samples[kind].setdefault(name, []).append(value)
        print(f"repeat {repeat + 1}/{args.repeats} done ({time.perf_counter() - start:.0f} s)", flush=True)
    med = {kind: {name: statistics.median(v) for name, v in values.items()} for kind, values in samples.items()}
    ratio = {kind: {name: v / med["child"][name] for name, v in values.items()} for kind, values in med.items()}

    print(f"\nLayerChoice space: {LAYERS} layers x 5 ops at C={CHANNELS}, input 3x{SIDE}x{SIDE}, batch {BATCH}, "
          f"1 thread; median of {args.repeats} fresh processes, each the median of {args.steps} steps after "
          f"{args.warmup} ({args.clock} clock)")
    header = f"{'method':<20} | {'ms/step':>8} | {'x child':>7} | {'NNI 3.0':>7}"
    if "mem" in quantities:
        header += f" || {'ΔRSS MB':>8} | {'x child':>7} | {'NNI 3.0':>7} | {'worst step':>10}"
    print(header)

    def peer(key: str) -> str:
        return f"{PEER[key]:.2f}" if key in PEER else ""

    for kind in kinds:
        row = f"{kind:<20} | {med[kind]['time']:8.1f} | {ratio[kind]['time']:7.2f} | {peer(kind + '_time'):>7}"
        if "mem" in quantities:
            row += (f" || {med[kind]['mem']:8.1f} | {ratio[kind]['mem']:7.2f} | {peer(kind + '_mem'):>7} | "
                    f"{ratio[kind]['mem_max']:9.2f}x")
        print(row)
    if "mem" in quantities:
        print("ΔRSS: a step's peak resident set above the one before it, median over steps and processes; 'worst "
              "step': the largest step's, over the child's largest (the heaviest sampled path: maxpool keeps int64 "
              "indices, sepconv one more activation than a conv)")

    def pick(kind: str, name: str) -> float | None:
        return round(ratio[kind][name], 3) if kind in ratio and name in ratio[kind] else None

    print("RESULT " + json.dumps({"spos_time": pick("spos", "time"), "darts_time": pick("darts1", "time"),
                                  "darts_mem": pick("darts1", "mem"), "proxyless_time": pick("proxyless", "time"),
                                  "proxyless_mem": pick("proxyless", "mem")}))


if __name__ == "__main__":
    main()
