"""Hierarchical evolution (Liu et al. 2018): equal evaluation budgets on Fashion-MNIST (`quick`).
docs/methods/evolution.md quotes what it measured.

Three searches per seed, interleaved seed by seed so machine load hits all alike:
  h_evo     hierarchical genotypes + asynchronous tournament evolution
  h_random  hierarchical genotypes + random search (random genotypes, same machinery and training)
  flat_evo  flat genotypes (one 11-node graph) + evolution
Each is an ordinary `archsearch.run("evolution", ...)` (ledger, checkpoints, run dir under benchmarks/out/).
The paper's claim: h_evo >= h_random >= flat_evo, random only a little behind.

`--jobs 2` runs two searches at once in separate processes (one torch thread each; the machine has 2 cores).
The controller's own time per evaluation is measured by benchmarks/evolution_controller.py; the SIGKILL-then-resume
check by benchmarks/evolution_resume.py.

Ends with ``RESULT {"h_evo": a, "h_random": b, "flat_evo": c}``: mean best validation accuracy over the seeds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out" / "hierarchical_search"

VARIANTS = (("h_evo", "hierarchical", "evolution"), ("h_random", "hierarchical", "random"),
            ("flat_evo", "flat", "evolution"))


def search(label: str, space: str, strategy: str, seed: int, args: argparse.Namespace) -> dict:
    import torch

    import archsearch

    torch.set_num_threads(1)

    name = f"{label}-seed{seed}"
    shutil.rmtree(OUT / "runs" / name, ignore_errors=True)
    start = time.perf_counter()
    result = archsearch.run("evolution", space=space, preset="quick", budget=args.budget, seed=seed,
                            runs_dir=str(OUT / "runs"), name=name, executor=args.executor, workers=args.workers,
                            strategy=strategy, population=args.population, quiet=True)
    seconds = time.perf_counter() - start
    rows = [json.loads(line) for line in (OUT / "runs" / name / "metrics" / "evolution.jsonl").read_text()
            .splitlines() if line.strip()]
    return {"best": float(result.best.objectives["accuracy"]), "fitness": [r.get("fitness") for r in rows],
            "seconds": seconds, "evaluations": result.extra.get("evaluations"),
            "controller_ms": result.extra.get("controller_ms")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=12, help="evaluations per search (equal for all three)")
    parser.add_argument("--population", type=int, default=4, help="initial random population of the evolution")
    parser.add_argument("--executor", default="local")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2, help="searches at once (separate processes)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    jobs = [(label, space, strategy, seed) for seed in range(args.seeds) for label, space, strategy in VARIANTS]
    runs: dict[str, list[dict]] = {label: [None] * args.seeds for label, _, _ in VARIANTS}
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(search, label, space, strategy, seed, args): (label, seed)
                   for label, space, strategy, seed in jobs}
        for future in concurrent.futures.as_completed(futures):
            label, seed = futures[future]
            run = future.result()
            runs[label][seed] = run
            print(f"seed {seed} {label:9s} best val acc {run['best']:.4f}  ({run['evaluations']} evaluations, "
                  f"{run['seconds']:.0f} s; {time.perf_counter() - started:.0f} s since start)", flush=True)

    from archsearch.report.methods.evolution import plot_fitness_curves

    plot = plot_fitness_curves({label: [r["fitness"] for r in rs] for label, rs in runs.items()},
                               OUT / "best_fitness_vs_evaluations.png",
                               title=f"Fashion-MNIST quick, {args.budget} evaluations, {args.seeds} seeds")
    means = {label: statistics.mean(r["best"] for r in rs) for label, rs in runs.items()}
    print()
    print(f"{'search':10s} {'mean best':>10s} {'std':>7s} {'per seed':>26s} {'s/search':>9s} {'vs h_random':>12s}")
    for label, rs in runs.items():
        bests = [r["best"] for r in rs]
        std = statistics.stdev(bests) if len(bests) > 1 else 0.0
        print(f"{label:10s} {means[label]:10.4f} {std:7.4f} {' '.join(f'{b:.4f}' for b in bests):>26s} "
              f"{statistics.mean(r['seconds'] for r in rs):9.0f} {means[label] - means['h_random']:+12.4f}")
    print(f"plot: {plot}")
    print(f"budget: {args.budget} evaluations per search (initial population {args.population}), {args.seeds} seeds, "
          f"Fashion-MNIST quick; wall {time.perf_counter() - started:.0f} s with {args.jobs} jobs")
    result = {label: round(means[label], 4) for label, _, _ in VARIANTS}
    assert all(math.isfinite(v) for v in result.values())
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
