"""Lookup-table latency vs measured end-to-end latency of random archs (ProxylessNAS sec. 3.3 latency model).

For 30 random archs of the `mobilenet` space: predicted = sum of the table entries of the arch's ops (stem and head
included), measured = the whole standalone network's forward on this CPU (batch 1, inference, channels_last). Both
sides are timed the same way (`archsearch.cost.latency`: 1 torch thread, the thread's CPU time, trimmed mean; ops in
shuffled interleaved sweeps). The machine is shared, so the table and the networks are measured in interleaved
rounds (one table pass, then every network, repeated) and every number is a median over the rounds.

    python benchmarks/latency_lut.py [--preset quick] [--archs 30] [--rounds 5] [--threads 1] [--clock cpu|wall]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.cost.latency import (LatencyTable, measure_table, predict_latency, space_ops,  # noqa: E402
                                     time_module)
from archsearch.spaces import create_space  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="mobilenet")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--archs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock", choices=("cpu", "wall"), help="default: cpu with 1 thread, else wall")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = create_space(args.space, preset=args.preset)
    ops = space_ops(space)
    rng = np.random.default_rng(args.seed)
    archs = [space.space.sample(rng) for _ in range(args.archs)]
    nets = []
    for arch in archs:
        net = space.build(arch).eval()
        nets.append(net)
    shape = tuple(space.input_shape)

    start = time.perf_counter()
    op_samples: dict[str, list[float]] = {}
    net_samples: list[list[float]] = [[] for _ in archs]
    fingerprint = None
    for round_index in range(args.rounds):
        table = measure_table(ops, warmup=args.warmup, repeats=args.repeats, threads=args.threads,
                              clock=args.clock, seed=round_index)  # interleaved sweeps over every op
        fingerprint = table.fingerprint
        for key, value in table.entries.items():
            op_samples.setdefault(key, []).append(value)
        order = rng.permutation(len(nets))  # a different net order each round: no position bias
        for i in order:
            net_samples[i].append(time_module(nets[i], shape, warmup=args.warmup, repeats=args.repeats,
                                              threads=args.threads, clock=args.clock))
        print(f"round {round_index + 1}/{args.rounds} done ({time.perf_counter() - start:.0f} s)", flush=True)
    table = LatencyTable(fingerprint, {k: statistics.median(v) for k, v in op_samples.items()},
                         {"rounds": args.rounds, "repeats": args.repeats})
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    table.save(out / f"latency_lut_{args.space}_{args.preset}.json")

    rows = []
    for arch, samples in zip(archs, net_samples):
        predicted = predict_latency(table, arch)
        measured = statistics.median(samples)
        rows.append((predicted, measured, abs(predicted - measured) / measured))
    print(f"\n{args.space} ({args.preset}), input {shape}, batch 1, {fingerprint['threads']} thread(s), "
          f"{fingerprint['clock']} clock, "
          f"{len(table.entries)} table ops, {args.rounds} interleaved rounds x {args.repeats} repeats")
    print(f"{'arch':>4} | {'predicted ms':>12} | {'measured ms':>11} | {'rel error':>9}")
    for i, (p, m, e) in enumerate(rows):
        print(f"{i:>4} | {p:12.3f} | {m:11.3f} | {e:9.3f}")
    errors = [e for _, _, e in rows]
    predicted = np.array([p for p, _, _ in rows])
    measured = np.array([m for _, m, _ in rows])
    rmse = float(np.sqrt(np.mean((predicted - measured) ** 2)))
    corr = float(np.corrcoef(predicted, measured)[0, 1]) if len(rows) > 1 else float("nan")
    bias = float(np.median((predicted - measured) / measured))
    print(f"\nmedian |rel error| {statistics.median(errors):.3f}, max {max(errors):.3f}, median signed "
          f"{bias:+.3f}, RMSE {rmse:.3f} ms, Pearson r {corr:.3f} (measured range {measured.min():.2f}-"
          f"{measured.max():.2f} ms)")
    print("RESULT " + json.dumps({"median_abs_rel_error": round(statistics.median(errors), 4)}))


if __name__ == "__main__":
    main()
