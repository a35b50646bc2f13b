"""Does architecture matter here, and can a cheap judge tell? Seed-to-seed rank agreement of random nets.

A comparison study judges every method by retraining its chosen net from scratch with one short recipe and ranking
it among K random nets of the same space and constraints. That only means something when the judge ranks nets by
their architecture rather than by their training seed. For a named `--setting` (space, constraints, judge size)
this trains K random nets (drawn as a study draws them) with two seeds each and prints:

* ``tau_seed_to_seed``: Kendall tau between the two seeds' test accuracies (scipy.stats.kendalltau);
* ``arch_sd`` / ``seed_sd`` (accuracy points) and ``arch_share``: the one-way random-effects split of the
  variance (arch_share = arch variance / total; for a bivariate normal, tau = 2/pi asin(arch_share), so tau 0.6
  needs arch_share >= 0.81);
* ``tau_vs_reference``: the first seed's ranking against a `--reference-epochs` training of the first
  `--reference-archs` nets (seed of the first), when asked for;
* the CPU seconds of one training.

Every training is kept in ``benchmarks/records/judge_reliability/<setting>.jsonl`` (a rerun trains only what is
missing, so a cut run continues where it stopped). Nothing here is tuned toward a target tau: the settings are
fixed before they run, and each prints what it gives.

    python benchmarks/judge_reliability.py --setting user-e1 [--workers 2] [--reference-epochs 4]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "records" / "judge_reliability"
USER_SPACE = str(ROOT / "examples" / "user_space.py") + ":make_space"

# name -> (space, space options, constraints, epochs, training images). Fixed before measuring.
SETTINGS = {
    # study1's judge: the quick mobilenet space under flops<=6M, 1 epoch on 16,000 images
    "mobilenet-6M-e1": ("mobilenet", {}, ["flops<=6M"], 1, 16000),
    "mobilenet-6M-e4": ("mobilenet", {}, ["flops<=6M"], 4, 16000),
    # the README's own user space (5 layers of conv3x3 / conv5x5 / sepconv3x3 / maxpool / identity at 28x28)
    "user-e1": (USER_SPACE, {}, [], 1, 16000),
    "user-e2": (USER_SPACE, {}, [], 2, 16000),
    "user-60k-e1": (USER_SPACE, {}, [], 1, 60000),  # one pass over the whole training set
    # the same under a tight FLOPs bound: at most about one 5x5 conv's worth of multiply-adds
    "user-6M-e1": (USER_SPACE, {}, ["flops<=6M"], 1, 16000),
    "user-6M-e2": (USER_SPACE, {}, ["flops<=6M"], 2, 16000),
}
SEED_OFFSETS = (1000, 2000)  # the two retraining seeds of random net k: 1000 + k (as a study) and 2000 + k


def _draw(space_spec: dict, constraints: list[str], count: int) -> list[dict]:
    from archsearch.cost.constraints import cost_predicate, parse_constraints
    from archsearch.spaces import create_space

    space = create_space(space_spec["name"], **space_spec["options"])
    within = cost_predicate(parse_constraints(constraints), space.cost)
    rng = np.random.default_rng([20, 24, 1])  # a study's random-net draw
    return [space.space.sample(rng, where=within).to_dict() for _ in range(count)]


def _train(job: dict) -> dict:
    """One from-scratch training (a worker process, one torch thread)."""
    import torch

    from archsearch.tasks.final import WHOLE_TRAINING_SET, final_tasks, run_final_task

    torch.set_num_threads(1)
    split = {**WHOLE_TRAINING_SET, "train_size": job["train_images"]}
    (task,) = final_tasks(job["arch"], space=job["space"], data="fashion-mnist", split=split, epochs=job["epochs"],
                          seeds=[job["seed"]])
    started = time.process_time()
    result = run_final_task(task)
    return {**{k: job[k] for k in ("key", "arch_index", "seed", "epochs")},
            "accuracy": result.test_accuracy, "macs": result.macs, "params": result.params,
            "cpu_seconds": time.process_time() - started}


def variance_split(first: np.ndarray, second: np.ndarray) -> dict[str, float]:
    """One-way random effects with two seeds per net: seed variance = mean within-pair variance, arch variance =
    (mean square between nets - seed variance) / 2, floored at 0."""
    within = float(np.mean((first - second) ** 2 / 2))
    between = float(2 * np.var((first + second) / 2, ddof=1))
    arch = max((between - within) / 2, 0.0)
    return {"arch_sd": math.sqrt(arch), "seed_sd": math.sqrt(within),
            "arch_share": arch / (arch + within) if arch + within > 0 else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setting", required=True, choices=sorted(SETTINGS))
    parser.add_argument("--archs", type=int, default=16, help="K random nets (a quick study's K)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reference-epochs", type=int, default=0, help="0: no reference training")
    parser.add_argument("--reference-archs", type=int, default=8)
    args = parser.parse_args()

    from scipy import stats

    from archsearch.experiment.settings import resolve_settings

    space_name, space_options, constraints, epochs, train_images = SETTINGS[args.setting]
    resolved = resolve_settings("random", space={"name": space_name, "options": space_options}, preset="quick",
                                constraints=constraints)
    archs = _draw(resolved.space, constraints, args.archs)
    RECORDS.mkdir(parents=True, exist_ok=True)
    path = RECORDS / f"{args.setting}.jsonl"
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                done[record["key"]] = record
    jobs = []
    for k, arch in enumerate(archs):
        for offset in SEED_OFFSETS:
            jobs.append({"key": f"{k}/s{offset + k}/e{epochs}", "arch_index": k, "seed": offset + k, "epochs": epochs})
        if args.reference_epochs and k < args.reference_archs:
            jobs.append({"key": f"{k}/s{SEED_OFFSETS[0] + k}/e{args.reference_epochs}", "arch_index": k,
                         "seed": SEED_OFFSETS[0] + k, "epochs": args.reference_epochs})
    pending = [dict(job, arch=archs[job["arch_index"]], space=resolved.space, train_images=train_images)
               for job in jobs if job["key"] not in done]
    print(f"{args.setting}: {len(jobs) - len(pending)} of {len(jobs)} trainings kept, {len(pending)} to run",
          file=sys.stderr)
    if pending:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool, open(path, "a") as out:
            for future in as_completed([pool.submit(_train, job) for job in pending]):
                record = future.result()
                done[record["key"]] = record
                out.write(json.dumps(record) + "\n")
                out.flush()
                os.fsync(out.fileno())
                print(f"  {record['key']}: {record['accuracy']:.4f} ({record['cpu_seconds']:.0f} CPU s)",
                      file=sys.stderr)

    def accuracies(offset: int, ep: int, count: int) -> np.ndarray:
        return np.array([100 * done[f"{k}/s{offset + k}/e{ep}"]["accuracy"] for k in range(count)])

    first, second = accuracies(SEED_OFFSETS[0], epochs, args.archs), accuracies(SEED_OFFSETS[1], epochs, args.archs)
    macs = np.array([done[f"{k}/s{SEED_OFFSETS[0] + k}/e{epochs}"]["macs"] for k in range(args.archs)])
    result = {"setting": args.setting, "archs": args.archs, "epochs": epochs, "train_images": train_images,
              "mean_accuracy": float(np.mean(np.r_[first, second])),
              "range": [float(min(first.min(), second.min())), float(max(first.max(), second.max()))],
              "tau_seed_to_seed": float(stats.kendalltau(first, second).statistic),
              **variance_split(first, second),
              "tau_macs": float(stats.kendalltau((first + second) / 2, macs).statistic),
              "cpu_seconds_per_training": float(np.mean([done[j["key"]]["cpu_seconds"] for j in jobs
                                                         if j["epochs"] == epochs]))}
    if args.reference_epochs:
        n = args.reference_archs
        reference = accuracies(SEED_OFFSETS[0], args.reference_epochs, n)
        result["tau_vs_reference"] = float(stats.kendalltau(first[:n], reference).statistic)
        result["reference_epochs"] = args.reference_epochs
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
