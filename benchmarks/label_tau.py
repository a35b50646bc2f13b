"""Do cheap accuracy labels follow capacity? Kendall tau between accuracy and MACs per labelling protocol.

Predictor pretraining on FLOPs/params (FBNetV3 sec. 3.1) can only help if the accuracy labels rank architectures
somewhat like their FLOPs do. This measures that rank agreement for a few cheap labelling protocols on the same
`--archs` architectures of the `fbnet` (quick) space, drawn by Sobol QMC with the seed of
`benchmarks/predictor_pretraining.py` (its joint pool; the fixed-recipe protocols take the architecture part):

* ``fixed-2k``: the default recipe, `--long-epochs` epochs over 2,000 Fashion-MNIST images; the accuracy after each
  epoch of that schedule is the label of the early-stopped protocol "e of E epochs" (FBNetV3's early stopping:
  the full schedule, cut short), so one run gives every e.
* ``fixed-8k``: the default recipe, `--long-epochs` / 4 epochs over 8,000 images: the same number of steps, four
  times as many distinct images.
* ``joint-2k``: as ``fixed-2k`` with each pair's own searched recipe (optimizer, lr, weight decay, EMA, ...).

Validation on 1,000 held-out images after every epoch; batch 64; one thread; each run seeded by its index. Runs
are cached in ``benchmarks/out/label_tau.jsonl`` (a rerun trains only what is missing) and interleaved per
architecture, so a CPU budget (`--budget-seconds`, the process's CPU time) cuts every protocol at about the same n.

    nice -n 19 python benchmarks/label_tau.py [--archs 24] [--long-epochs 8] [--budget-seconds 1100]

Prints one row per protocol (and per early-stop epoch): n, mean label, Kendall tau of the label with MACs and with
params. Nothing here is tuned toward a target tau.

Measured (defaults: 24 archs of 0.57M-2.33M MACs, 1,019 CPU s of training, nice 19 on a shared 2-core machine):

    protocol  | label    | steps | mean acc | tau MACs | tau params
    fixed-2k  | e 1 of 8 |    31 |    0.186 |   -0.051 |     -0.029
    fixed-2k  | e 2 of 8 |    62 |    0.348 |   -0.338 |     -0.316
    fixed-2k  | e 4 of 8 |   125 |    0.679 |    0.189 |      0.189
    fixed-2k  | e 8 of 8 |   250 |    0.765 |    0.099 |      0.092
    fixed-8k  | e 1 of 2 |   125 |    0.695 |    0.189 |      0.240
    fixed-8k  | e 2 of 2 |   250 |    0.759 |    0.091 |     -0.018
    joint-2k  | e 1 of 8 |    31 |    0.159 |   -0.121 |      0.062
    joint-2k  | e 2 of 8 |    62 |    0.419 |   -0.036 |      0.094
    joint-2k  | e 4 of 8 |   125 |    0.604 |    0.120 |      0.221
    joint-2k  | e 8 of 8 |   250 |    0.672 |    0.188 |      0.290

No protocol reaches tau 0.3 with MACs (with 24 archs a tau of 0 has a standard deviation of about 0.15). With the
fixed recipe the final labels spread by 1.1-1.3 accuracy points (std), about the sampling noise of 1,000
validation images (1.3 points at 77%), so at these budgets the labels rank mostly noise; early on (62 steps) larger
networks are behind (tau -0.34).

Second table: the same 24 architectures, validation on 10,000 images (0.4 points of sampling noise), more distinct
training images (2-core machine shared with other jobs; CPU s per run is the process's own time):

    nice -n 5 python benchmarks/label_tau.py --archs 24 --protocols fixed-8000-e2-v10000 \
        fixed-16000-e2-v10000 joint-16000-e2-v10000 --budget-seconds 4000
    nice -n 5 python benchmarks/label_tau.py --archs 24 --protocols fixed-48000-e1-v10000 \
        joint-48000-e1-v10000 --budget-seconds 4000

    protocol              | label    | steps | mean acc | tau MACs | tau params | CPU s/run
    fixed-8000-e2-v10000  | e 1 of 2 |   125 |    0.682 |   -0.214 |     -0.156 |      13.7
    fixed-8000-e2-v10000  | e 2 of 2 |   250 |    0.768 |    0.025 |     -0.069 |      13.7
    fixed-16000-e2-v10000 | e 1 of 2 |   250 |    0.757 |    0.225 |      0.036 |      23.7
    fixed-16000-e2-v10000 | e 2 of 2 |   500 |    0.813 |    0.101 |      0.116 |      23.7
    joint-16000-e2-v10000 | e 1 of 2 |   250 |    0.724 |    0.167 |      0.283 |      24.6
    joint-16000-e2-v10000 | e 2 of 2 |   500 |    0.766 |    0.217 |      0.319 |      24.6
    fixed-48000-e1-v10000 | e 1 of 1 |   750 |    0.835 |    0.323 |      0.236 |      27.6
    joint-48000-e1-v10000 | e 1 of 1 |   750 |    0.802 |    0.239 |      0.283 |      29.9

The cheapest protocol with tau >= 0.3 is ``fixed-48000-e1-v10000``: one epoch over 48,000 distinct images (750
steps, every image new), labels on 10,000. Repeating a smaller set (16,000 x 2 epochs: 500 steps) does not get
there, and the early-stopped rows fall (0.225 after one of two epochs, 0.101 after both), so at these budgets the
tau is still within about two standard deviations of noise; here it rose with distinct images more than with steps.
`benchmarks/predictor_pretraining.py --fixed-recipe --epochs 1 --train-size 48000 --val-size 10000` uses it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from predictor_pretraining import OUT, make_task, spaces  # noqa: E402

from archsearch.search.predictor_evolution import rank_correlation, sobol_pool  # noqa: E402
from archsearch.spaces.fbnet import split_joint  # noqa: E402
from archsearch.tasks import run_eval_task  # noqa: E402

CACHE = OUT / "label_tau.jsonl"
VAL_SIZE = 1000


LEGACY = ("fixed-2k", "fixed-8k", "joint-2k")
SPEC = re.compile(r"(fixed|joint)-(\d+)-e(\d+)-v(\d+)$")


def protocol(name: str, long_epochs: int) -> dict:
    """A protocol by name: ``RECIPE-TRAIN-eEPOCHS-vVAL`` (e.g. ``fixed-16000-e2-v10000``: the default recipe, 2
    epochs over 16,000 images, validation on 10,000), or one of the first table's three (`LEGACY`, whose epochs
    follow `--long-epochs` and which validate on 1,000 images)."""
    legacy = {"fixed-2k": ("fixed", long_epochs, 2000), "fixed-8k": ("fixed", max(1, long_epochs // 4), 8000),
              "joint-2k": ("joint", long_epochs, 2000)}
    if name in legacy:
        recipe, epochs, train_size = legacy[name]
        return {"recipe": recipe, "epochs": epochs, "train_size": train_size, "val_size": VAL_SIZE}
    match = SPEC.match(name)
    if match is None:
        raise SystemExit(f"unknown protocol {name!r}: use one of {', '.join(LEGACY)} or RECIPE-TRAIN-eEPOCHS-vVAL "
                         "with RECIPE fixed or joint (e.g. fixed-16000-e2-v10000)")
    recipe, train_size, epochs, val_size = match.groups()
    return {"recipe": recipe, "epochs": int(epochs), "train_size": int(train_size), "val_size": int(val_size)}


def protocols(names: list[str], long_epochs: int) -> dict[str, dict]:
    return {name: protocol(name, long_epochs) for name in names}


def label(fbnet, recipes, point, index: int, protocol: dict) -> dict:
    """Train one architecture (with its own recipe or the default one) under `protocol`; its per-epoch curve."""
    args = types.SimpleNamespace(epochs=protocol["epochs"], train_size=protocol["train_size"],
                                 val_size=protocol["val_size"])
    arch_part, recipe_part = split_joint(point, fbnet.space, recipes)
    task = make_task(arch_part, recipe_part if protocol["recipe"] == "joint" else None, args, index)
    cpu = time.process_time()
    result = run_eval_task(task)
    return {"curve": [e.get("val_accuracy") for e in result.per_epoch], "macs": result.macs,
            "params": result.params, "diverged": result.diverged, "cpu_seconds": time.process_time() - cpu}


def table(records: dict, chosen: dict[str, dict]) -> list[dict]:
    rows = []
    for name, protocol in chosen.items():
        done = [r for (p, _), r in sorted(records.items()) if p == name and not r["diverged"]]
        epochs = sorted({1, 2, protocol["epochs"] // 2, protocol["epochs"]} & set(range(1, protocol["epochs"] + 1)))
        for e in epochs:
            usable = [r for r in done if len(r["curve"]) >= e and r["curve"][e - 1] is not None]
            if len(usable) < 3:
                continue
            acc = np.array([r["curve"][e - 1] for r in usable])
            macs = np.array([r["macs"] for r in usable], dtype=float)
            params = np.array([r["params"] for r in usable], dtype=float)
            steps = e * protocol["train_size"] // 64
            rows.append({"protocol": name, "epoch": e, "of": protocol["epochs"], "steps": steps, "n": len(usable),
                         "mean_accuracy": float(acc.mean()), "tau_macs": rank_correlation(acc, macs),
                         "tau_params": rank_correlation(acc, params),
                         "cpu_seconds_per_run": float(np.mean([r["cpu_seconds"] for r in usable]))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", type=int, default=24)
    parser.add_argument("--long-epochs", type=int, default=8)
    parser.add_argument("--budget-seconds", type=float, default=1100.0, help="CPU seconds of training, at most")
    parser.add_argument("--protocols", nargs="+", default=list(LEGACY),
                        help="protocol names (see `protocol`); default: the first table's three")
    args = parser.parse_args()
    chosen = protocols(args.protocols, args.long_epochs)
    torch.set_num_threads(1)
    fbnet, recipes, joint = spaces(types.SimpleNamespace(fixed_recipe=False))
    pool = sobol_pool(joint, args.archs, np.random.default_rng(12345))  # predictor_pretraining's joint pool
    OUT.mkdir(parents=True, exist_ok=True)
    records: dict[tuple[str, int], dict] = {}
    if CACHE.exists():
        for line in CACHE.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                legacy = r["protocol"] in LEGACY
                if (r["protocol"] in chosen and r["index"] < args.archs
                        and (not legacy or r["long_epochs"] == args.long_epochs)):
                    records[(r["protocol"], r["index"])] = r
    spent = 0.0  # this call's training: the budget bounds what a (re)run adds
    with CACHE.open("a") as sink:
        for index in range(args.archs):
            for name, protocol in chosen.items():
                if (name, index) in records:
                    continue
                if spent >= args.budget_seconds:
                    break
                record = {"protocol": name, "index": index, "long_epochs": args.long_epochs,
                          **label(fbnet, recipes, pool[index], index, protocol)}
                spent += record["cpu_seconds"]
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                records[(name, index)] = record
            print(f"arch {index + 1}/{args.archs}: {spent:.0f} CPU s of training so far", flush=True)
            if spent >= args.budget_seconds:
                print(f"CPU budget of {args.budget_seconds:.0f} s reached", flush=True)
                break
    rows = table(records, chosen)
    print(f"\n{'protocol':>9} | {'label':>10} | {'steps':>5} | {'n':>3} | {'mean acc':>8} | {'tau MACs':>8} | "
          f"{'tau params':>10} | CPU s/run")
    for row in rows:
        print(f"{row['protocol']:>9} | {'e ' + str(row['epoch']) + ' of ' + str(row['of']):>10} | {row['steps']:>5} | "
              f"{row['n']:>3} | {row['mean_accuracy']:8.3f} | {row['tau_macs']:8.3f} | {row['tau_params']:10.3f} | "
              f"{row['cpu_seconds_per_run']:.1f}")
    print(f"training CPU seconds in all: {sum(r['cpu_seconds'] for r in records.values()):.0f}")
    print("RESULT " + json.dumps({f"{r['protocol']}@{r['epoch']}/{r['of']}": round(r["tau_macs"], 3) for r in rows}))


if __name__ == "__main__":
    main()
