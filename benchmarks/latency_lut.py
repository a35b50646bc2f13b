"""Lookup-table latency vs measured end-to-end latency of held-out random archs (ProxylessNAS sec. 3.3 latency model).

`archsearch.cost.latency.build_table` measures every op of a space (default `mobilenet`; ``--space FILE.py:FN`` a
user's space, its choices traced at the inputs they see, e.g. ``examples/user_space.py:make_space``) and calibrates
the table on whole networks spread over the space's MACs (``measured = offset + scale * table sum``). ``--runtime
onnxruntime`` times ops and networks in a one-thread ONNX Runtime session instead of eager PyTorch. Here its
held-out set is 30
random archs, none of them in the fit: each one's standalone network is timed in the same interleaved rounds as the
ops (after every round of op sweeps, every network in a new order; batch 1, inference, channels_last, one torch
thread, the thread's CPU time), and its calibrated prediction is compared with its measured latency. The raw table
sum's error is shown beside it.

``--load N`` starts N CPU-heavy processes beside the measurement (single-threaded float matrix products, which
also contend for the caches) and stops them at the end, so the figure under load is one command.

    python benchmarks/latency_lut.py [--preset quick] [--archs 30] [--rounds 5] [--load 1]
    python benchmarks/latency_lut.py --space examples/user_space.py:make_space [--data FILE.npz]
    python benchmarks/latency_lut.py --runtime onnxruntime

A user space gets the data's image shape and classes (``--data``; default Fashion-MNIST's 1 x 28 x 28 and 10 classes,
a run's default data).

Ends with ``RESULT {"median_abs_rel_error": ..}`` (held-out, calibrated; goal <= 0.05 quiet, <= 0.10 with
``--load 1``), plus the raw sum's error, the load, the space and the runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.cost.latency import build_table, calibration_archs  # noqa: E402
from archsearch.spaces import create_space, user  # noqa: E402

LOAD = ("import numpy as np\n"
        "a = np.random.default_rng(0).standard_normal((384, 384))\n"
        "while True:\n"
        "    a = np.tanh(a @ a.T / 384.0)\n")


def start_load(processes: int) -> list[subprocess.Popen]:
    """`processes` single-threaded CPU-heavy processes (matrix products: the core and its caches)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return [subprocess.Popen([sys.executable, "-c", LOAD], env=env) for _ in range(processes)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="mobilenet", help="a built-in space or FILE.py:FUNCTION")
    parser.add_argument("--preset", default="quick", help="a built-in space's preset")
    parser.add_argument("--data", help="a user space's data (its image shape and classes; default 1x28x28, 10)")
    parser.add_argument("--runtime", choices=("torch", "onnxruntime"), default="torch")
    parser.add_argument("--archs", type=int, default=30, help="held-out random archs")
    parser.add_argument("--calibration", type=int, default=8, help="archs that fit the calibration")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20, help="op sweeps per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clock", choices=("cpu", "wall"), help="default: cpu with 1 thread, else wall")
    parser.add_argument("--load", type=int, default=0, metavar="N", help="CPU-heavy processes beside it")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if user.is_user_space(args.space):
        shape, classes = (1, 28, 28), 10
        if args.data:
            from archsearch.experiment.settings import data_info

            info = data_info(args.data, None)
            shape, classes = info["input_shape"], info["num_classes"]
        _, space, label = user.resolve(args.space, {}, input_shape=shape, num_classes=classes)
        preset = "-"
    else:
        space, label, preset = create_space(args.space, preset=args.preset), args.space, args.preset
    fit, _ = calibration_archs(space, args.calibration, 0)
    taken = {a.key for a in fit}
    rng = np.random.default_rng(args.seed)
    archs = []
    while len(archs) < args.archs:
        arch = space.space.sample(rng)
        if arch.key not in taken:
            taken.add(arch.key)
            archs.append(arch)

    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % args.repeats == 0:
            print(f"round {done // args.repeats}/{args.rounds} of op sweeps ({time.perf_counter() - start:.0f} s)",
                  flush=True)

    load = start_load(args.load)
    warnings_seen: list[str] = []
    try:
        table = build_table(space, warmup=args.warmup, repeats=args.repeats, rounds=args.rounds,
                            threads=args.threads, clock=args.clock, calibration=args.calibration, heldout=archs,
                            warn=warnings_seen.append, on_sweep=progress, runtime=args.runtime)
    finally:
        for process in load:
            process.terminate()
        for process in load:
            process.wait()
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    table.save(out / f"latency_lut_{label}_{preset}_{args.runtime}.json")

    calibration = table.meta["calibration"]
    rows = calibration["heldout"]
    print(f"\n{args.space} ({preset}), input {tuple(space.input_shape)}, batch 1, {args.runtime}, "
          f"{table.fingerprint['threads']} thread(s), {table.fingerprint['clock']} clock, {len(table.entries)} table "
          f"ops, {args.rounds} rounds x {args.repeats} sweeps, {args.load} CPU-heavy process(es) beside it")
    print(f"calibration on {len(calibration['fit'])} networks: measured = {calibration['offset_ms']:+.3f} ms + "
          f"{calibration['scale']:.3f} x table sum; op sample spread {table.meta['noise']:.1%}")
    print(f"{'arch':>4} | {'table sum':>9} | {'predicted':>9} | {'measured':>8} | {'error':>6} | {'raw error':>9}")
    for i, r in enumerate(rows):
        print(f"{i:>4} | {r['table_sum_ms']:9.3f} | {r['predicted_ms']:9.3f} | {r['measured_ms']:8.3f} | "
              f"{abs(r['predicted_ms'] - r['measured_ms']) / r['measured_ms']:6.3f} | "
              f"{abs(r['table_sum_ms'] - r['measured_ms']) / r['measured_ms']:9.3f}")
    predicted = np.array([r["predicted_ms"] for r in rows])
    measured = np.array([r["measured_ms"] for r in rows])
    signed = statistics.median(((predicted - measured) / measured).tolist())
    corr = float(np.corrcoef(predicted, measured)[0, 1]) if len(rows) > 1 else float("nan")
    print(f"\nheld out: median |rel error| {calibration['heldout_median_error']:.3f} calibrated, "
          f"{calibration['heldout_median_error_raw']:.3f} raw sum; median signed {signed:+.3f}, Pearson r {corr:.3f} "
          f"(measured {measured.min():.2f}-{measured.max():.2f} ms)")
    for message in warnings_seen:
        print("warning: " + message)
    print("RESULT " + json.dumps({"median_abs_rel_error": round(calibration["heldout_median_error"], 4),
                                  "median_abs_rel_error_raw": round(calibration["heldout_median_error_raw"], 4),
                                  "load_processes": args.load, "space": label, "runtime": args.runtime}))


if __name__ == "__main__":
    main()
