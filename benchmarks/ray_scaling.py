"""Random search on Ray: evaluations per second with 1 and 2 workers, and the driver's own cost per trial.

Each setting runs the same `random` search (mobilenet `quick` space on Fashion-MNIST, every candidate trained for
one epoch on `--train` images) through `archsearch.experiment.run.run(..., executor="ray")`. Ray is started and
its workers warmed up (torch imported, the dataset loaded) before the clock starts, so the rate is that of the
search, not of Ray's start-up. The driver's overhead is the controller's own time per trial (propose + record in
the ledger), which the method measures.

    python benchmarks/ray_scaling.py [--evaluations 12] [--train 1024]

Ends with ``RESULT {"parallel_efficiency_2": x, "driver_overhead_ms": y}`` where x = (rate with 2 workers) /
(2 x rate with 1 worker).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("ARCHSEARCH_PROGRESS", "0")


def _warm_up(data: str, split: dict) -> int:
    import time as _time

    from archsearch.train.task import cached_splits

    cached_splits(data, None, split)
    _time.sleep(1.0)  # hold the worker so the next warm-up task lands on another one
    return os.getpid()


def measure(workers: int, args: argparse.Namespace, root: str) -> dict:
    import ray

    from archsearch.experiment.run import run

    split = {"val_size": 10000, "small_val_size": 1000}
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "ARCHSEARCH_PROGRESS": "0"}})
    try:
        warm = ray.remote(num_cpus=1)(_warm_up)
        pids = set(ray.get([warm.remote("fashion-mnist", split) for _ in range(workers)]))
        start = time.perf_counter()
        result = run("random", space="mobilenet", preset="quick", data="fashion-mnist", executor="ray",
                     workers=workers, budget=args.evaluations, train_size=args.train, val_size=args.val,
                     name=f"ray{workers}", runs_dir=root, seed=args.seed, split=split, quiet=True,
                     final_epochs=0)  # the search alone: a final training would add one serial epoch
        seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    return {"workers": workers, "warm_workers": len(pids), "seconds": seconds,
            "evaluations_per_s": args.evaluations / seconds, "controller_ms": result.extra["controller_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=12)
    parser.add_argument("--train", type=int, default=1024, help="training images per candidate")
    parser.add_argument("--val", type=int, default=1000, help="validation images per candidate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        rows = [measure(workers, args, root) for workers in (1, 2)]
    for row in rows:
        print(f"{row['workers']} worker(s): {row['evaluations_per_s']:.3f} evaluations/s "
              f"({row['seconds']:.1f} s for {args.evaluations}), controller {row['controller_ms']:.2f} ms/trial")
    efficiency = rows[1]["evaluations_per_s"] / (2 * rows[0]["evaluations_per_s"])
    overhead = max(r["controller_ms"] for r in rows)
    print("RESULT " + json.dumps({"parallel_efficiency_2": round(efficiency, 3),
                                  "driver_overhead_ms": round(overhead, 2)}))


if __name__ == "__main__":
    main()
