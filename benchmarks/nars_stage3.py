"""NARS stage 3 (FBNetV3 sec. 3.3): predictor-based evolution for 4 FLOPs targets in one call, one predictor.

Runs the method's own stage 3 (`NARS.run` from phase "stage3", through a real `Experiment` context: ledger,
checkpoints, metric files) on the joint `fbnet-recipe` (quick) space. The predictor is the method's: encoder
pretrained on FLOPs/params of its Sobol pool (4096 archs, 80/20), accuracy head fitted (Huber, 50 frozen + 50
unfrozen epochs) on the architecture-recipe pairs `benchmarks/predictor_pretraining.py` trained on Fashion-MNIST
and cached in ``benchmarks/out/nars_pairs.jsonl`` (run that first); those pairs are stage 2's history. Four FLOPs
targets as `flops_family` (the 20/40/60/80% quantiles of the pool's FLOPs, like the paper's 450M..750M for
FBNetV3-B..E), the paper's evolution sizes: 100 initial (50 best measured + 50 random), 24 children per parent
within the bound (all 100 initial ones in generation 1), top 40 kept, stop after 3 generations without gain. Timed:
the whole stage 3 (all four searches, their checkpoints) on one torch thread, after the predictor is built.

    python benchmarks/nars_stage3.py
    python benchmarks/nars_stage3.py --synthetic-labels   # without the cache: labels from a fixed function

``--synthetic-labels`` labels 96 archs of the pool with a smooth function of their FLOPs, recipe and choices plus
noise (seeded) instead of trained pairs: the search then runs the same number of children per generation, and only
its number of generations can differ. Ends with ``RESULT {"stage3_seconds": s, "all_within_constraint": true,
...}``. Goal: s <= 10 on 2 cores (4 constraints, the 2,400-child first generation).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.experiment.testing import make_context  # noqa: E402
from archsearch.methods.nars import NARS  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out" / "nars_pairs.jsonl"
PAPER_STAGE3 = dict(population=100, from_history=50, children_per_parent=24, keep=40, patience=3,
                    max_generations=100)  # FBNetV3 appendix (patience / cap: interpretation, as NARSConfig)


def synthetic_records(method: NARS, count: int = 96, seed: int = 0) -> list[dict]:
    """`count` pool archs labelled by a fixed smooth function (more FLOPs and a mid lr score higher) plus noise."""
    rng = np.random.default_rng(seed)
    pool = list(method.space.pool)
    picks = rng.choice(len(pool), size=count, replace=False)
    flops = np.log(np.array([method.space.cost(pool[i])[0] for i in picks], dtype=np.float64))
    codes = np.asarray(method.space.joint.encode_many([pool[i] for i in picks]), dtype=np.float64)
    weights = rng.normal(size=codes.shape[1]) * 0.01
    labels = 0.6 + 0.05 * (flops - flops.mean()) / (flops.std() + 1e-9) + codes @ weights + rng.normal(0, 0.01, count)
    return [{"arch": pool[i].to_dict(), "val_accuracy": float(v), "diverged": False} for i, v in zip(picks, labels)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic-labels", action="store_true", help="no cache needed: labels from a function")
    args = parser.parse_args()
    torch.set_num_threads(1)
    records: list[dict] = []
    if not args.synthetic_labels:
        if not CACHE.exists():
            sys.exit(f"no labelled pairs at {CACHE}: run benchmarks/predictor_pretraining.py first, or pass "
                     "--synthetic-labels")
        records = [json.loads(line) for line in CACHE.read_text().splitlines() if line.strip()]
        records = [r for r in records if not r["diverged"] and r["val_accuracy"] is not None]

    with tempfile.TemporaryDirectory() as tmp:
        options = dict(method="nars", space="fbnet-recipe", space_options={"preset": "quick"}, data="fashion-mnist",
                       preset="quick", name="stage3", pool_size=4096, pretrain_epochs=30, final_epochs=0,
                       joint_always_ema=False,  # the cached pairs were drawn with EMA on and off
                       **PAPER_STAGE3)
        probe = make_context(Path(tmp) / "probe", **options)
        pool_flops = NARS(probe.config, probe).space.pool_flops
        bounds = np.quantile(pool_flops, [0.2, 0.4, 0.6, 0.8])
        targets = [float(b) for b in bounds]
        ctx = make_context(Path(tmp) / "runs", flops_family=targets, **options)
        method = NARS(ctx.config, ctx)

        # stage 1 (the method's pool and predictor) and stage 2's history (the cached trained pairs)
        pool = list(method.space.pool)
        records = records or synthetic_records(method)
        method.pretraining.run()
        archs = [method.space.joint.validate(r["arch"]) for r in records]
        method.space._pool = pool + archs
        method.space._pool_cost = np.array([method.space.cost(a) for a in method.space._pool], dtype=np.float64)
        method.optimisation.evaluated = [{"index": len(pool) + k, "label": float(r["val_accuracy"]), "iteration": 0}
                            for k, r in enumerate(records)]
        method.predictor.fit(method.space.joint.encode_many(archs), np.array([r["val_accuracy"] for r in records]),
                             frozen_epochs=50, unfrozen_epochs=50)
        method.phase = "stage3"
        print(f"predictor: encoder pretrained on {len(pool)} Sobol archs, accuracy head fitted on {len(archs)} "
              f"trained pairs", flush=True)

        start, cpu = time.perf_counter(), time.process_time()
        result = method.run()
        total, cpu = time.perf_counter() - start, time.process_time() - cpu

    print(f"{'constraint':>16} | {'best MACs':>10} | {'predicted':>9} | {'generations':>11} | {'scored':>6} | "
          f"{'seconds':>7} | within")
    all_ok = True
    for entry, bound in zip(result.extra["stage3"], bounds):
        ok = entry["macs"] <= bound
        all_ok &= ok
        print(f"{entry['constraint']:>16} | {entry['macs'] / 1e6:9.3f}M | {entry['predicted']:9.4f} | "
              f"{entry['generations']:>11} | {entry['scored']:>6} | {entry['seconds']:7.2f} | {ok}")
    print(f"stage 3 for {len(targets)} FLOPs targets in one call: {total:.1f} s wall, {cpu:.1f} s CPU "
          f"(one torch thread; wall > CPU when other jobs share the cores)")
    print("RESULT " + json.dumps({"stage3_seconds": round(total, 2), "stage3_cpu_seconds": round(cpu, 2),
                                  "all_within_constraint": bool(all_ok), "constraints": len(targets),
                                  "labels": "synthetic" if args.synthetic_labels else "trained"}))


if __name__ == "__main__":
    main()
