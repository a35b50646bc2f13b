"""Does a greedy supernet rank architectures better than a uniformly trained one, on the same budget?

GreedyNAS' claim (You et al. 2020, sec. 4.3 / Table 3): training the supernet only on the k = 5 best of m = 10
sampled paths (with the candidate pool) gives supernet accuracies that correlate better with stand-alone
accuracies than uniform single-path training (SPOS), and the pool early stop fires at ~60% of the uniform budget.

Setup (all in this process, on Fashion-MNIST):
  * one data split: `--train` training images, 2000 validation images (supernet scores and stand-alone
    accuracies), GreedyNAS' 1000 small-validation images (path scoring);
  * `--archs` architectures drawn uniformly from the `mobilenet` space (`--preset`, `--depths`; default the smoke
    layout with 3 blocks per stage: 6 searchable blocks, 8.6e4 archs, sized for a shared 2-core CPU), each trained
    stand-alone from scratch for `--epochs` epochs (`run_eval_task`, cached under benchmarks/out/); the archs and
    their stand-alone training depend on `--arch-seed` only, so a second `--seed` re-uses them;
  * two supernets from the same initial weights, GreedyNAS (m = 10, k = 5, pool, eps 0 -> 0.8) and uniform (SPOS),
    trained interleaved in chunks of equal numbers of trained path-batches up to `--supernet-epochs` epochs of
    batches each; the greedy one runs the early stop in "record only" mode so both get the full equal budget
    (pool compared every `--check-epochs` epochs of trained batches); when the stop fires, the greedy supernet's
    tau is measured right there (outside the timed training);
  * each supernet scores every arch by its validation accuracy (BN on batch statistics); Kendall tau against the
    stand-alone accuracies over all archs and over the stand-alone top half.

    python benchmarks/greedynas_ranking.py [--archs 30] [--epochs 8] [--supernet-epochs 120] [--train 6000]
                                           [--seed 0] [--arch-seed 0]

Also printed (and written to benchmarks/out/greedynas_ranking_seed<S>_arch<A>.json): both taus every
`--tau-every` chunks, the pool at the early-stop checks (eps, pool mean loss, sampled / kept mean loss, difference),
each arch's stand-alone and supernet accuracies and ranks, and how many path-batches trained each arch and each op.

Measured (defaults = the method's 120-epoch SPOS budget: 5520 trained path-batches per supernet; 30 archs x 8
stand-alone epochs, val acc 0.778-0.813; one torch thread on this shared 2-core machine at load 2-4: 24 min of
stand-alone training, cached per --arch-seed, then 22-33 min of supernets per seed):
  seed 0: tau greedy 0.293 / uniform 0.283, top half -0.089 / 0.137; early stop never fired (pool difference
          0.74 at the first check, 0.10-0.18 from 3000 path-batches on, min 0.100 over 121 checks vs < 0.08);
          greedy/uniform time 7.86x per iteration, 1.57x per trained path-batch. Tau along the budget (greedy /
          uniform): 1100 batches 0.273 / 0.063, 2200 0.538 / 0.151, 3300 0.316 / 0.188, 4400 0.258 / 0.288.
  --seed 1: tau 0.325 / 0.298, top half 0.068 / 0.029; never fired (0.08-0.26 from 3240 on, min 0.080 at 5445
          of 5520, not below 0.08); 7.95x / 1.59x. Along the budget: 1100 0.232 / 0.063, 2200 0.377 / 0.014,
          3300 0.318 / 0.205, 4400 0.289 / 0.299.
Reading: greedy ranks clearly better early (to ~40-60% of the budget: at 2200 batches 0.54 / 0.15 and
0.38 / 0.01), and the two converge by the end (greedy ahead by 0.01-0.03; the two supernets' rankings agree at tau
0.53 / 0.45; with 30 archs a tau has a standard error of ~0.13, so the end point is a tie). The greedy supernet
punishes the paths its rejection rarely trains: its 5 lowest scores (0.57-0.75; 0.70-0.78 on the uniform
supernet) go to the same paths in both seeds, all with a skip block or >= 3 small (k3) blocks, and its training
share per op is 0.07 skip / 0.11 k3e3 vs 0.22 k7e6 (uniform: 0.10 / 0.15 / 0.15). It favours big-op paths (a
k5e6 x 4 arch, 26th stand-alone, is its #2 in both seeds). The ranked archs were themselves trained 0-2 times by
either supernet (greedy trains ~2850 distinct paths, uniform ~5330). Ground-truth noise: archs 0-9 retrained
stand-alone with another training seed (a one-off EvalTask(seed=1), benchmarks/out/greedynas_standalone_noise*)
moved by sd 0.4 points per run against a 1.0-point sd across the 30 archs (tau between the two seeds 0.38 on
those 10), so the top half (1.2 points wide) is ranked mostly by noise and the all-arch tau is capped well
below 1.
Why the stop never fires: the pool mean loss flattens (~0.50 / ~0.48) from ~3240 path-batches (0.59 of the
budget, where the paper's stop would be), but each iteration scores its paths on the next 128-image batch of the
small val set, and those 7 batches differ in difficulty (mean sampled loss per batch 0.51-0.69 / 0.46-0.66 late
in training) far more than the rejection separates paths (sampled - kept mean loss 0.03-0.04). Pool scores from
different iterations therefore mostly record which batch a path was scored on: a pool path refreshed on a hard
batch drops to the bottom and is evicted by a newcomer scored on an easy one, so 8-26% of the pool turns over per
check however well trained the supernet.
With ``--pool-score batch_relative`` (the method's option: a path's pool score is its loss minus the mean loss of
its iteration's m paths; the k kept paths are the same) the greedy supernet ranks better in both seeds, but the
pool still does not settle: seed 0 tau 0.315 / 0.283, top half -0.097 / 0.137, the stop fired at 810 path-batches
(0.15 of the budget, a chance dip; the difference was 0.09-0.21 afterwards, min 0.060); seed 1 tau 0.386 / 0.298,
top half 0.174 / 0.029, never fired (min 0.080). A 128-image loss is too noisy an estimate of a path's quality for
a 100-path pool to stop changing; the early stop needs larger scoring batches than this CPU budget allows.

Ends with ``RESULT {"tau_greedy": a, "tau_uniform": b, "tau_top_greedy": c, "tau_top_uniform": d,
"stop_fraction": e}``; e = trained path-batches when the pool early stop fired / the uniform budget (null if it
never fired). Also prints the per-iteration and per-trained-batch time of greedy vs uniform.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.experiment.testing import MemoryContext  # noqa: E402
from archsearch.methods.greedynas import GreedyNAS, GreedyNASConfig, SPOSConfig  # noqa: E402
from archsearch.spaces import create_space  # noqa: E402
from archsearch.tasks import run_eval_task  # noqa: E402
from archsearch.train import EvalTask  # noqa: E402
from archsearch.train.task import cached_splits  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


class BenchContext(MemoryContext):
    """A `MemoryContext` without checkpoints, with the benchmark's own random streams and its metric rows as one
    list: the benchmark measures training and ranking, not persistence (tests cover resume)."""

    def __init__(self, space, splits, run_dir: Path, seed: int = 0) -> None:
        super().__init__(space, splits=splits, seed=seed, run_dir=run_dir)
        self.metrics: list[tuple[str, int, dict[str, float]]] = []  # type: ignore[assignment]

    def _seed(self, phase) -> list[int]:
        return [self.seed, zlib.crc32(repr(phase).encode())]

    def rng(self, *phase):
        return np.random.default_rng(self._seed(phase))

    def torch_generator(self, *phase):
        return torch.Generator().manual_seed(int(np.random.SeedSequence(self._seed(phase)).generate_state(1)[0]))

    def checkpoint(self, method) -> None:
        pass

    def log(self, message: str) -> None:
        print(f"  [{message}]", flush=True)

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        self.metrics.append((series, step, values))


def standalone_accuracies(archs, args, split: dict[str, Any], recipe: dict[str, Any],
                          space_options: dict[str, Any]) -> list[float]:
    """Validation accuracy of each arch trained from scratch (cached per arch / epochs / split / recipe)."""
    OUT.mkdir(parents=True, exist_ok=True)
    cache_path = OUT / "greedynas_standalone.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    out = []
    for i, arch in enumerate(archs):
        task = EvalTask(space="mobilenet", space_options=space_options, arch=arch.to_dict(),
                        recipe=recipe, epochs=args.epochs, data="fashion-mnist", split=split, seed=args.arch_seed,
                        threads=0, device="cpu", test=False)
        key = hashlib.sha1(json.dumps([task.arch, task.space_options, task.recipe, task.epochs, task.split,
                                       task.seed], sort_keys=True).encode()).hexdigest()
        if key not in cache:
            result = run_eval_task(task)
            if result.val_accuracy is None:
                raise SystemExit(f"stand-alone training of arch {i} failed: {result.error}")
            cache[key] = {"val_accuracy": result.val_accuracy, "seconds": result.seconds}
            cache_path.write_text(json.dumps(cache, indent=1))
            print(f"  stand-alone {i + 1:2d}/{len(archs)}: val acc {result.val_accuracy:.4f} "
                  f"({result.seconds:.0f} s)", flush=True)
        out.append(cache[key]["val_accuracy"])
    return out


def count_training(method: GreedyNAS, counts: dict[str, int], choices: dict[str, int]) -> None:
    """Count the trained path-batches of each path and of each (block, op) (wraps the method's one training step):
    shows whether the ranked archs were themselves trained, and where greedy concentrates its training."""
    step = method._train_path

    def counted(path):
        counts[path.key] = counts.get(path.key, 0) + 1
        for block, op in path.to_dict().items():
            choices[f"{block}={op}"] = choices.get(f"{block}={op}", 0) + 1
        return step(path)

    method._train_path = counted


def kendall(a, b) -> float:
    from scipy.stats import kendalltau

    tau = kendalltau(a, b).statistic
    return float(tau) if np.isfinite(tau) else float("nan")


def rounded(value: float | None) -> float | None:
    """4 decimals; None for a missing or undefined value (JSON has no NaN)."""
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def parse_ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=30, help="architectures trained stand-alone (>= 20)")
    parser.add_argument("--epochs", type=int, default=8, help="stand-alone epochs per architecture")
    parser.add_argument("--supernet-epochs", type=float, default=120.0,
                        help="supernet budget in epochs of trained path-batches (the same for both)")
    parser.add_argument("--train", type=int, default=6000, help="training images (Fashion-MNIST subset)")
    parser.add_argument("--preset", default="smoke", help="mobilenet space preset")
    parser.add_argument("--depths", type=parse_ints, default=(3, 3), help="blocks per stage, e.g. 3,3 ('' = preset)")
    parser.add_argument("--pool-size", type=int, default=100, help="candidate pool size (quick preset: 100)")
    parser.add_argument("--check-epochs", type=float, default=1.0,
                        help="early-stop interval t in epochs of trained batches (method default: 1 epoch)")
    parser.add_argument("--chunks", type=int, default=20, help="interleaving chunks (timing pairs)")
    parser.add_argument("--seed", type=int, default=0, help="supernet seed (init, paths, batches)")
    parser.add_argument("--arch-seed", type=int, default=0, help="seed of the arch sample and stand-alone training")
    parser.add_argument("--tau-every", type=int, default=4,
                        help="also measure both supernets' tau every this many chunks (untimed; 0 = only at the end)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (shared machine: 1)")
    parser.add_argument("--pool-score", default="loss", choices=("loss", "batch_relative"),
                        help="GreedyNAS pool_score: the paper's loss, or the loss minus its batch's mean")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.archs < 2:
        raise SystemExit("--archs must be >= 2 (a tau worth reading needs >= 20)")

    split = {"val_size": 2000, "small_val_size": 1000, "train_size": args.train, "seed": 0}
    splits = cached_splits("fashion-mnist", None, split)
    space_options: dict[str, Any] = {"preset": args.preset}
    if args.depths:
        space_options["depths"] = list(args.depths)
    space = create_space("mobilenet", **space_options)
    rng = np.random.default_rng(args.arch_seed + 12345)
    archs: list = []
    while len(archs) < args.archs:
        arch = space.space.sample(rng)
        if arch not in archs:
            archs.append(arch)

    common = dict(supernet_epochs=args.supernet_epochs, pool_size=args.pool_size, early_stop=False,
                  pool_score=args.pool_score,
                  early_stop_every_epochs=args.check_epochs, checkpoint_every=10**9)
    greedy = GreedyNAS(GreedyNASConfig(**common), BenchContext(space, splits, OUT / "greedy", args.seed))
    uniform = GreedyNAS(SPOSConfig(**common), BenchContext(space, splits, OUT / "uniform", args.seed))
    greedy._build()
    uniform._build()
    assert all(torch.equal(a, b) for a, b in zip(greedy.supernet.state_dict().values(),
                                                   uniform.supernet.state_dict().values()))
    budget = uniform.total_steps
    k = greedy.config.num_kept
    budget -= budget % k  # both train exactly the same number of path-batches
    print(f"mobilenet {space_options} ({space.space}), {len(splits.train)} train images, budget {budget} trained "
          f"path-batches ({budget / len(greedy.stream):.1f} epochs) per supernet, pool {args.pool_size} ({args.pool_score} scores), "
          f"early-stop check every {greedy.early_stop.every} greedy iterations; {len(archs)} archs x "
          f"{args.epochs} stand-alone epochs; seed {args.seed}, arch seed {args.arch_seed}, "
          f"{torch.get_num_threads()} torch thread(s)", flush=True)

    trained = {"greedy": {}, "uniform": {}}  # arch key -> trained path-batches (which paths got the weight updates)
    trained_ops = {"greedy": {}, "uniform": {}}  # "block=op" -> trained path-batches
    for name, method in (("greedy", greedy), ("uniform", uniform)):
        count_training(method, trained[name], trained_ops[name])

    recipe = greedy.config.recipe.to_dict()  # its batch_size is the config's batch_size
    started = time.perf_counter()
    truth = standalone_accuracies(archs, args, split, recipe, space_options)
    print(f"stand-alone training: {time.perf_counter() - started:.0f} s", flush=True)

    seconds = {"greedy": 0.0, "uniform": 0.0}
    stop_tau = None
    curve = []  # (path-batches, tau greedy, tau uniform): where along the budget a difference shows, if anywhere
    chunk = max(k, (budget // args.chunks) // k * k)
    ends = list(range(chunk, budget, chunk)) + [budget]
    for index, until in enumerate(ends, start=1):
        start = time.perf_counter()
        while greedy.train_steps_done < until:  # iteration by iteration, to catch the early stop where it fires
            greedy.train_supernet(until_steps=greedy.train_steps_done + k)
            if greedy.stopped_early_at is not None and stop_tau is None:
                seconds["greedy"] += time.perf_counter() - start
                stop_tau = kendall([greedy.supernet_accuracy(a) for a in archs], truth)
                start = time.perf_counter()
        seconds["greedy"] += time.perf_counter() - start
        start = time.perf_counter()
        uniform.train_supernet(until_steps=until)  # interleaved: equal path-batches after every chunk
        seconds["uniform"] += time.perf_counter() - start
        line = (f"  {until:5d}/{budget} path-batches: greedy {seconds['greedy']:.0f} s, uniform "
                f"{seconds['uniform']:.0f} s")
        if args.tau_every and index % args.tau_every == 0 and until < budget:
            taus_now = [kendall([m.supernet_accuracy(a) for a in archs], truth) for m in (greedy, uniform)]
            curve.append((until, *taus_now))
            line += f"; tau greedy {taus_now[0]:.3f}, uniform {taus_now[1]:.3f}"
        print(line, flush=True)
    assert greedy.train_steps_done == uniform.train_steps_done == budget

    scores = {name: [m.supernet_accuracy(a) for a in archs] for name, m in (("greedy", greedy), ("uniform", uniform))}
    curve.append((budget, kendall(scores["greedy"], truth), kendall(scores["uniform"], truth)))
    top = np.argsort(truth)[::-1][: len(archs) // 2]
    taus = {name: kendall(s, truth) for name, s in scores.items()}
    top_taus = {name: kendall([s[i] for i in top], [truth[i] for i in top]) for name, s in scores.items()}
    stop_steps = None
    if greedy.stopped_early_at is not None:
        stop_steps = greedy.stopped_early_at * k
    stop_fraction = None if stop_steps is None else stop_steps / budget

    per_iter = {"greedy": seconds["greedy"] / greedy.iteration, "uniform": seconds["uniform"] / uniform.iteration}
    per_batch = {name: seconds[name] / budget for name in seconds}
    print()
    print(f"{'supernet':10s} {'tau all':>8s} {'tau top half':>13s} {'s/iteration':>12s} {'s/trained batch':>16s}")
    for name in ("greedy", "uniform"):
        print(f"{name:10s} {taus[name]:8.3f} {top_taus[name]:13.3f} {per_iter[name]:12.3f} {per_batch[name]:16.4f}")
    print(f"time ratio greedy/uniform: per iteration {per_iter['greedy'] / per_iter['uniform']:.2f}x "
          f"(m=10 scored + k=5 trained vs 1 trained), per trained path-batch "
          f"{per_batch['greedy'] / per_batch['uniform']:.2f}x")
    print("tau over the budget (path-batches: greedy / uniform): "
          + ", ".join(f"{n}: {g:.3f} / {u:.3f}" for n, g, u in curve))
    history = greedy.early_stop.history
    rows = {step: values for series, step, values in greedy.ctx.metrics if series == "supernet"}
    evolution = [{"path_batches": i * k, "eps": rows[i]["eps"], "pool_mean_score": rows[i]["pool_mean_score"],
                  "pool_difference": d, "sampled_mean_loss": rows[i]["sampled_mean_loss"],
                  "kept_mean_loss": rows[i]["kept_mean_loss"]} for i, d in history]
    shown = evolution[:: max(1, len(evolution) // 12)] + evolution[-1:] if evolution else []
    print("pool evolution at early-stop checks (path-batches: eps, pool mean loss, sampled / kept mean loss, "
          "pool difference):")
    for e in shown:
        print(f"  {e['path_batches']:5d}: eps {e['eps']:.2f}, pool {e['pool_mean_score']:.3f}, sampled "
              f"{e['sampled_mean_loss']:.3f} / kept {e['kept_mean_loss']:.3f}, difference {e['pool_difference']:.3f}")
    if history:
        threshold = greedy.config.early_stop_threshold
        print(f"pool difference: min {min(d for _, d in history):.3f} over {len(history)} checks, "
              f"below {threshold} at {sum(d < threshold for _, d in history)}")
    pool_keys = greedy.pool.keys()
    order = np.argsort(truth)[::-1]
    print("archs by stand-alone accuracy (stand-alone, greedy / uniform supernet acc and rank, path-batches each "
          "supernet trained the arch itself, in greedy's final pool):")
    rank = {name: {int(i): r for r, i in enumerate(np.argsort(s)[::-1], start=1)} for name, s in scores.items()}
    for r, i in enumerate(order, start=1):
        key = archs[i].key
        print(f"  {r:2d}. {truth[i]:.4f}  greedy {scores['greedy'][i]:.4f} (#{rank['greedy'][int(i)]:2d})  uniform "
              f"{scores['uniform'][i]:.4f} (#{rank['uniform'][int(i)]:2d})  trained {trained['greedy'].get(key, 0)}"
              f" / {trained['uniform'].get(key, 0)}  {'pool' if key in pool_keys else ''}")
    for name, ops in trained_ops.items():
        per_op: dict[str, int] = {}
        for block_op, n in ops.items():
            per_op[block_op.split("=")[1]] = per_op.get(block_op.split("=")[1], 0) + n
        total = sum(per_op.values())
        print(f"{name} training share per op (all blocks): "
              + ", ".join(f"{op} {n / total:.2f}" for op, n in sorted(per_op.items())))
    print("distinct paths trained: " + ", ".join(f"{n} {len(c)} (max {max(c.values())} batches on one)"
                                                   for n, c in trained.items()))
    if stop_steps is None:
        print(f"pool early stop (threshold {greedy.config.early_stop_threshold}) never fired within the budget")
    else:
        print(f"pool early stop fired after {stop_steps} path-batches = {stop_fraction:.2f} of the uniform budget; "
              f"greedy tau (all) at that point: {stop_tau:.3f} (uniform at the full budget: {taus['uniform']:.3f})")
    print("supernet accuracy range: " + ", ".join(f"{n} {min(s):.4f}-{max(s):.4f}" for n, s in scores.items()))
    print(f"stand-alone accuracies: min {min(truth):.4f} max {max(truth):.4f}")
    result = {"tau_greedy": rounded(taus["greedy"]), "tau_uniform": rounded(taus["uniform"]),
              "tau_top_greedy": rounded(top_taus["greedy"]), "tau_top_uniform": rounded(top_taus["uniform"]),
              "stop_fraction": rounded(stop_fraction)}
    record = {"args": vars(args), "budget": budget, "result": result, "seconds": seconds,
              "time_ratio_per_iteration": per_iter["greedy"] / per_iter["uniform"],
              "time_ratio_per_batch": per_batch["greedy"] / per_batch["uniform"], "stop_tau": stop_tau,
              "tau_curve": curve, "pool_evolution": evolution,
              "archs": [{"arch": a.to_dict(), "standalone": truth[i], "greedy": scores["greedy"][i],
                         "uniform": scores["uniform"][i], "trained_greedy": trained["greedy"].get(a.key, 0),
                         "trained_uniform": trained["uniform"].get(a.key, 0), "in_pool": a.key in pool_keys}
                        for i, a in enumerate(archs)],
              "trained_ops": trained_ops,
              "final_pool": [{"arch": e.arch.to_dict(), "score": e.score} for e in greedy.pool.entries()]}
    tag = "" if args.pool_score == "loss" else f"_{args.pool_score}"
    out = OUT / f"greedynas_ranking_seed{args.seed}_arch{args.arch_seed}{tag}.json"
    out.write_text(json.dumps(record, indent=1))
    print(f"details: {out}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
