"""Does pretraining the NARS encoder on free proxies (FLOPs, params) cut the labels the predictor needs?

FBNetV3 (Dai et al. 2021, Fig. 4e / sec. 3.1) reports that a predictor whose encoder was pretrained on FLOPs and
params reaches a given accuracy-prediction MSE with about 5x fewer trained samples. Here, on the project's own data:

1. Labels: `--pairs` architecture-recipe pairs drawn by Sobol QMC from the joint `fbnet` (quick) x `recipe` (quick)
   space, each trained by `archsearch.tasks.run_eval_task` on Fashion-MNIST (`--train-size` images, `--epochs`,
   validation on `--val-size` held-out images, 2,000 by default), `--workers` processes of one thread. Results
   are cached (one JSON line per pair) in ``benchmarks/out/nars_pairs.jsonl``: a rerun trains only the missing
   pairs.
2. Per seed (`--seeds`, 5 by default): a random test set of `--test` pairs; from the rest, labelled subsets of each
   size in `--sizes`. For each size, interleaved, two predictors with the same seed and the same fit (Huber, 50
   epochs + 50 epochs): *pretrained* (encoder + proxy head first trained on FLOPs/params of 80% of a Sobol pool of
   `--pool` archs, 20% for validation; encoder frozen in the first 50 epochs) and *scratch* (no pretraining).
   Test MSE (in accuracy percent points squared) and Kendall tau are recorded.
   With ``--fixed-recipe`` the pairs are architectures trained with one default recipe (separate cache
   ``nars_pairs_fixed_recipe.jsonl``): the setting where the free proxies carry the most information.
3. ``samples_ratio_at_equal_mse`` = (labels the scratch predictor needs to reach the MSE the pretrained predictor
   reaches with 32 labels, log-linear interpolation of the seed-mean curves) / 32. When scratch never gets there
   within the largest size, the ratio is a lower bound (printed as such; the RESULT holds the bound).

    python benchmarks/predictor_pretraining.py [--pairs 96] [--epochs 2] [--train-size 2000] [--workers 2]

Defaults sized for a 2-core machine shared with other jobs (measured: a loaded machine gives each worker 15-50% of
a core): 96 pairs x 2 epochs x 2000 images at batch 64 (~62 steps, ~8 core-seconds a pair); 24 pairs are held out
per seed, so the largest labelled size is 72. The pool is a Sobol prefix: a smaller --pairs reuses the cache.

Ends with ``RESULT {"samples_ratio_at_equal_mse": r}``. The paper reports about 5.

Measured (2-core machine shared with other jobs; labels cached in benchmarks/out/):
  joint pairs (96, 2 epochs x 2000 images, 49 min wall with 2 workers): ratio 0.40;
  ``--fixed-recipe`` (96 architectures, one recipe, 1963 s of training with 1 worker): ratio 0.48, test MSE
  pretrained / scratch 66.5 / 73.1 at 8 labels, 56.5 / 50.7 at 32, 39.4 / 40.1 at 72 (label variance 71).
  ``--fixed-recipe --epochs 1 --train-size 48000 --val-size 10000 --pairs 80 --test 16 --sizes 8 16 32 48 64``
  (labels that follow capacity: `benchmarks/label_tau.py` measured Kendall tau 0.32 with MACs for this protocol;
  80 architectures, 2,976 s of training, 25 min wall with 2 workers beside other jobs; labels 80.8-86.0%, variance
  0.86): ratio >= 2.0 (a lower bound: scratch never reached the pretrained predictor's 32-label MSE within 64
  labels). Test MSE pretrained / scratch: 1.36 / 1.67 at 8 labels, 0.80 / 1.24 at 16, 0.64 / 1.38 at 32, 0.61 /
  0.99 at 48, 0.67 / 0.82 at 64; Kendall tau 0.29 / 0.04, 0.37 / 0.08, 0.52 / 0.02, 0.44 / 0.21, 0.43 / 0.24.
With the short labels (the first two lines) pretraining does not pay because these labels do not follow the
proxies: after ~62 training steps the Kendall tau between accuracy and MACs is -0.05 (fixed recipe) and -0.01
(joint; there the recipe - optimizer, lr, EMA - dominates), so an encoder frozen on FLOPs/params gives the
accuracy head nothing to use. The paper's labels are fully trained ImageNet models, whose accuracy rises with FLOPs;
labels of that quality cost hours per pair on this CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.predictors import NARSPredictor  # noqa: E402
from archsearch.search.predictor_evolution import rank_correlation, sobol_pool  # noqa: E402
from archsearch.spaces import create_space  # noqa: E402
from archsearch.spaces.fbnet import joint_space, recipe_from_arch, recipe_space, split_joint  # noqa: E402
from archsearch.tasks import run_eval_task  # noqa: E402
from archsearch.train import EvalTask, Recipe  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
CACHE = OUT / "nars_pairs.jsonl"
BASE_RECIPE = Recipe(ema_decay=0.99, batch_size=64)  # ~62 steps per run: a 0.9999 EMA would still be the init


def spaces(args):
    """(fbnet space, recipe space or None, the searched space): joint by default, architecture only with
    ``--fixed-recipe`` (every pair trained with the default recipe)."""
    fbnet = create_space("fbnet", preset="quick")
    if args.fixed_recipe:
        return fbnet, None, fbnet.space
    recipes = recipe_space("quick")
    return fbnet, recipes, joint_space(fbnet.space, recipes)


def cache_path(args) -> Path:
    return CACHE.with_name("nars_pairs_fixed_recipe.jsonl") if args.fixed_recipe else CACHE


def make_task(arch_part, recipe_part, args, seed: int) -> EvalTask:
    recipe = BASE_RECIPE if recipe_part is None else recipe_from_arch(recipe_part, BASE_RECIPE)
    return EvalTask(space="fbnet", space_options={"preset": "quick"}, arch=arch_part.to_dict(),
                    recipe=recipe.to_dict(), epochs=args.epochs,
                    data="fashion-mnist", split={"train_size": args.train_size,
                                                 "val_size": args.val_size,
                                                 "small_val_size": 0, "seed": 0},
                    seed=seed, threads=1, test=False)


def label_pairs(args) -> list[dict]:
    """Train the pairs not cached yet; return all cached records (as many as asked)."""
    fbnet, recipes, joint = spaces(args)
    pool = sobol_pool(joint, args.pairs, np.random.default_rng(12345))
    OUT.mkdir(parents=True, exist_ok=True)
    cached = {}
    cache = cache_path(args)
    if cache.exists():
        for line in cache.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                if (record["epochs"] == args.epochs and record["train_size"] == args.train_size
                        and record.get("batch_size", 128) == BASE_RECIPE.batch_size
                        and record.get("val_size", 2000) == args.val_size):
                    cached[record["key"]] = record
    todo = [(i, a) for i, a in enumerate(pool) if a.key not in cached]
    print(f"labels: {len(pool) - len(todo)} cached, {len(todo)} to train "
          f"({args.epochs} epochs on {args.train_size} Fashion-MNIST images, {args.workers} workers)", flush=True)
    start = time.perf_counter()
    if todo:
        context = mp.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool_executor, cache.open("a") as sink:
            futures = {}
            for i, arch in todo:
                arch_part, recipe_part = (arch, None) if recipes is None else split_joint(arch, fbnet.space, recipes)
                futures[pool_executor.submit(run_eval_task, make_task(arch_part, recipe_part, args, i))] = arch
            for done, future in enumerate(as_completed(futures), start=1):
                arch, result = futures[future], future.result()
                record = {"key": arch.key, "arch": arch.to_dict(), "epochs": args.epochs,
                          "train_size": args.train_size, "val_size": args.val_size,
                          "batch_size": BASE_RECIPE.batch_size,
                          "val_accuracy": result.val_accuracy,
                          "curve": [e["val_accuracy"] for e in result.per_epoch], "macs": result.macs,
                          "params": result.params, "seconds": result.seconds, "diverged": result.diverged}
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                cached[arch.key] = record
                if done % 8 == 0 or done == len(todo):
                    print(f"  trained {done}/{len(todo)} ({time.perf_counter() - start:.0f} s)", flush=True)
    records = [cached[a.key] for a in pool]
    total = sum(r["seconds"] for r in records)
    print(f"labels: {len(records)} pairs, {total:.0f} s of training in all "
          f"(this call: {time.perf_counter() - start:.0f} s wall)", flush=True)
    return [r for r in records if not r["diverged"] and r["val_accuracy"] is not None]


def evaluate_sizes(records: list[dict], args) -> dict[str, np.ndarray]:
    fbnet, recipes, joint = spaces(args)
    x_all = joint.encode_many([joint.validate(r["arch"]) for r in records])
    y_all = np.array([r["val_accuracy"] for r in records])
    sizes = [s for s in args.sizes if s <= len(records) - args.test]
    mse = {"pretrained": np.zeros((args.seeds, len(sizes))), "scratch": np.zeros((args.seeds, len(sizes)))}
    tau = {"pretrained": np.zeros((args.seeds, len(sizes))), "scratch": np.zeros((args.seeds, len(sizes)))}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(records))
        test, train = order[:args.test], order[args.test:]
        # stage 1 on this seed's Sobol pool: free labels only
        pool = sobol_pool(joint, args.pool, rng)
        proxies = np.array([[c.macs, c.params] for c in (fbnet.cost(fbnet.space.project(a)) for a in pool)], float)
        base = NARSPredictor(joint.encoding_width, generator=torch.Generator().manual_seed(seed))
        history = base.pretrain(joint.encode_many(pool), proxies, epochs=args.pretrain_epochs)
        pretrained_state = base.state_dict()
        print(f"seed {seed}: pretraining val MSE (standardised log FLOPs/params) {history['val_mse'][0]:.3f} -> "
              f"{history['val_mse'][-1]:.4f}", flush=True)
        for j, size in enumerate(sizes):
            subset = train[rng.permutation(len(train))[:size]]
            for kind in ("pretrained", "scratch"):  # interleaved: same seed, same labels, same fit
                predictor = NARSPredictor(joint.encoding_width, generator=torch.Generator().manual_seed(seed))
                if kind == "pretrained":
                    predictor.load_state_dict(pretrained_state)
                predictor.fit(x_all[subset], y_all[subset], frozen_epochs=50, unfrozen_epochs=50)
                predicted = predictor.predict(x_all[test])
                mse[kind][seed, j] = float(np.mean((100 * (predicted - y_all[test])) ** 2))
                tau[kind][seed, j] = rank_correlation(predicted, y_all[test], "kendall")
    return {"sizes": np.array(sizes), "mse": mse, "tau": tau}


def samples_needed(sizes: np.ndarray, curve: np.ndarray, target: float) -> tuple[float, bool]:
    """Smallest n (log-linear interpolation) where the mean-MSE curve reaches `target`; (n, reached)."""
    for i, value in enumerate(curve):
        if value <= target:
            if i == 0:
                return float(sizes[0]), True
            a, b = math.log(sizes[i - 1]), math.log(sizes[i])
            t = (curve[i - 1] - target) / (curve[i - 1] - value)
            return float(math.exp(a + t * (b - a))), True
    return float(sizes[-1]), False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--val-size", type=int, default=2000, help="held-out images the labels are measured on")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--test", type=int, default=24)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 48, 72])
    parser.add_argument("--pool", type=int, default=4096)
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--fixed-recipe", action="store_true",
                        help="architecture-only labels (default recipe for every pair): where FLOPs matter most")
    parser.add_argument("--labels-only", action="store_true", help="train and cache the pairs, then stop")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if 32 not in args.sizes:
        parser.error("--sizes must include 32 (the reference point of the RESULT)")

    records = label_pairs(args)
    if args.labels_only:
        return
    accuracies = np.array([r["val_accuracy"] for r in records])
    print(f"label accuracy: min {accuracies.min():.3f} median {np.median(accuracies):.3f} max {accuracies.max():.3f}")
    start = time.perf_counter()
    out = evaluate_sizes(records, args)
    sizes = out["sizes"]
    print(f"\npredictor test MSE (accuracy %^2) and Kendall tau on {args.test} held-out pairs, mean (std) over "
          f"{args.seeds} seeds ({time.perf_counter() - start:.0f} s)")
    print(f"{'labels':>7} | {'MSE pretrained':>16} | {'MSE scratch':>16} | {'tau pretrained':>15} | "
          f"{'tau scratch':>15}")
    for j, n in enumerate(sizes):
        m_p, m_s = out["mse"]["pretrained"][:, j], out["mse"]["scratch"][:, j]
        t_p, t_s = out["tau"]["pretrained"][:, j], out["tau"]["scratch"][:, j]
        print(f"{n:>7} | {m_p.mean():8.2f} ({m_p.std():5.2f}) | {m_s.mean():8.2f} ({m_s.std():5.2f}) | "
              f"{t_p.mean():7.3f} ({t_p.std():.3f}) | {t_s.mean():7.3f} ({t_s.std():.3f})")
    ref = int(np.flatnonzero(sizes == 32)[0])
    target = float(out["mse"]["pretrained"][:, ref].mean())
    needed, reached = samples_needed(sizes, out["mse"]["scratch"].mean(0), target)
    ratio = needed / 32
    note = "" if reached else f" (lower bound: scratch never reached it within {sizes[-1]} labels)"
    print(f"\npretrained MSE with 32 labels: {target:.2f}; scratch needs {needed:.1f} labels -> "
          f"ratio {ratio:.2f}{note}")
    print("RESULT " + json.dumps({"samples_ratio_at_equal_mse": round(ratio, 3)}))


if __name__ == "__main__":
    main()
