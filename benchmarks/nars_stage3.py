"""NARS stage 3 (FBNetV3 sec. 3.3): predictor-based evolution for 4 FLOPs constraints at once, one predictor.

The predictor (encoder pretrained on FLOPs/params of a Sobol pool, accuracy head fitted on the architecture-recipe
pairs that `benchmarks/predictor_pretraining.py` trained on Fashion-MNIST and cached in
``benchmarks/out/nars_pairs.jsonl``; run that first) scores the joint `fbnet` (quick) x `recipe` space. For four
FLOPs bounds (the 20/40/60/80% quantiles of the pool's FLOPs) the paper's evolution runs: 100 initial (50 best
measured + 50 random), 24 children per parent within the constraint, top 40 kept, stop when the best predicted score
saturates. Timed: the four evolutions back to back on one thread (the predictor is built beforehand, once).

    python benchmarks/nars_stage3.py

Ends with ``RESULT {"stage3_seconds": s, "all_within_constraint": true}``. Goal: s < 30 on 2 cores.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.cost.constraints import parse_constraint  # noqa: E402
from archsearch.predictors import NARSPredictor  # noqa: E402
from archsearch.search.predictor_evolution import (EvolutionConfig, evolve, initial_population,  # noqa: E402
                                                   sobol_pool)
from archsearch.spaces import create_space  # noqa: E402
from archsearch.spaces.fbnet import joint_space, recipe_space  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out" / "nars_pairs.jsonl"


def main() -> None:
    torch.set_num_threads(1)
    fbnet, recipes = create_space("fbnet", preset="quick"), recipe_space("quick")
    joint = joint_space(fbnet.space, recipes)
    if not CACHE.exists():
        sys.exit(f"no labelled pairs at {CACHE}: run benchmarks/predictor_pretraining.py first")
    records = [json.loads(line) for line in CACHE.read_text().splitlines() if line.strip()]
    records = [r for r in records if not r["diverged"] and r["val_accuracy"] is not None]
    archs = [joint.validate(r["arch"]) for r in records]
    labels = np.array([r["val_accuracy"] for r in records])

    rng = np.random.default_rng(0)
    pool = sobol_pool(joint, 4096, rng)
    macs = {a: fbnet.cost(fbnet.space.project(a)) for a in pool}
    proxies = np.array([[macs[a].macs, macs[a].params] for a in pool], dtype=float)
    predictor = NARSPredictor(joint.encoding_width, generator=torch.Generator().manual_seed(0))
    predictor.pretrain(joint.encode_many(pool), proxies, epochs=30)
    predictor.fit(joint.encode_many(archs), labels, frozen_epochs=50, unfrozen_epochs=50)
    print(f"predictor: pretrained on {len(pool)} Sobol archs, fitted on {len(archs)} trained pairs")

    flops = np.array([c.macs for c in macs.values()], dtype=float)
    bounds = np.quantile(flops, [0.2, 0.4, 0.6, 0.8])
    constraints = [parse_constraint(f"flops<={b / 1e6:.3f}M") for b in bounds]
    ranked = [archs[i] for i in np.argsort(-labels, kind="stable")]

    def score(points):
        return predictor.predict(joint.encode_many(list(points)))

    config = EvolutionConfig()  # the paper's sizes: 100 = 50 + 50, 24 children, top 40
    print(f"{'constraint':>16} | {'best MACs':>10} | {'predicted':>9} | {'generations':>11} | {'scored':>6} | "
          f"{'seconds':>7} | within")
    start = time.perf_counter()
    rows, all_ok = [], True
    for k, constraint in enumerate(constraints):
        t0 = time.perf_counter()

        def feasible(point, c=constraint):
            return c.satisfied(fbnet.cost(fbnet.space.project(point)))

        evo_rng = np.random.default_rng(100 + k)
        initial = initial_population(joint, ranked, feasible, evo_rng, config)
        result = evolve(joint, score, feasible, initial, evo_rng, config)
        best_cost = fbnet.cost(fbnet.space.project(result.best))
        ok = feasible(result.best) and all(feasible(a) for a in result.population)
        all_ok &= ok
        rows.append((str(constraint), best_cost.macs, result.best_score, len(result.best_per_generation) - 1,
                     result.scored, time.perf_counter() - t0, ok))
    total = time.perf_counter() - start
    for name, best_macs, predicted, generations, scored, seconds, ok in rows:
        print(f"{name:>16} | {best_macs / 1e6:9.3f}M | {predicted:9.4f} | {generations:>11} | {scored:>6} | "
              f"{seconds:7.2f} | {ok}")
    print(f"stage 3 for {len(constraints)} constraints: {total:.1f} s wall (one thread)")
    print("RESULT " + json.dumps({"stage3_seconds": round(total, 2), "all_within_constraint": bool(all_ok)}))


if __name__ == "__main__":
    main()
