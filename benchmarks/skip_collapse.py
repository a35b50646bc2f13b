"""Skip-connection collapse: DARTS vs Fair DARTS on Fashion-MNIST, same seeds, same budget (docs/methods/darts.md).

Fair DARTS (Chu et al. 2020) claims that softmax competition lets skip connections crowd the DARTS normal cell
(their count of the authors' DARTS_V2 cell: 2 skips in the normal cell) while sigmoid weights plus the zero-one
loss keep few skips (0.29 per normal cell on average over their 7 searches) and end with sigmoids polarised at 0/1.

For each seed, interleaved, this runs a DARTS search and a Fair DARTS search on the same data with the same
supernet, batch size and number of steps, and reports the skip connections in the derived normal cell and the
fraction of final Fair DARTS sigmoid weights below 0.1 or above 0.9. DARTS runs first-order by default, so both
spend the same compute per step (Fair DARTS is first-order); ``--order 2`` runs second-order DARTS. Each method
keeps its paper / released-code config (weights lr, arch betas, weight decays, init) except the sizes below.

Budget, the same for both. The papers search for 50 epochs: DARTS 50 x 391 = 19,550 steps at arch lr 3e-4, Fair
DARTS 50 x 195 = 9,750 steps (batch 128) at arch lr 3e-3. Adam moves every alpha by about its lr per step at most,
so at paper lr a CPU budget of a few hundred steps leaves the alphas where they started (a first run, 100 steps at
paper lr: DARTS skips 1/0/1, Fair DARTS sigmoids all within 0.01 of 0.5). The default budget is 10 epochs x 30
steps x batch 16 on a C=4, 5-cell supernet (N-R-N-R-N) over 10,000 training images (5,000 per half, about one
pass), and ``--arch-lr-scale 30`` multiplies BOTH methods' arch lr (DARTS 9e-3, Fair DARTS 9e-2): 300 steps x 30 =
9,000 paper-lr steps of alpha travel, about Fair DARTS's full search and half of DARTS's. This is a step
compression, not the paper's run: the supernet weights get 300 SGD steps, not 10-20 thousand, so the alphas move
against a far less trained supernet. The paper defaults in the method configs are unchanged.

It also prints, for the record, the search step time and peak memory (RSS) of the DARTS supernet on its default
CPU preset (space preset "quick": C=8 x 5 cells; method preset "quick": batch 32), second and first order, each in a
fresh process, with the 1-minute load average at the time (the machine is shared).

    python benchmarks/skip_collapse.py            # default budget: ~65 min on one core of a loaded 2-core box
    python benchmarks/skip_collapse.py --measure-only   # only the supernet record (~2 min)
    python benchmarks/skip_collapse.py --epochs 2 --steps 5 --seeds 0 --no-measure --tag smoke   # a smoke run
    python benchmarks/skip_collapse.py --setting long-14px --workers 2 --no-measure   # the longest search tried
    python benchmarks/skip_collapse.py --setting deep-14px --workers 2 --no-measure   # where DARTS collapses

Measured (2-core box shared with two or three other CPU jobs, load 2-4; one thread; 454-694 s per search, 57 min
for the 6; ``python benchmarks/skip_collapse.py``, defaults above):

    normal skips per seed 0/1/2    DARTS 0, 1, 0 (mean 0.33)     Fair DARTS 0, 0, 1 (mean 0.33)
    normal-cell edges              DARTS 8, 8, 8                 Fair DARTS 8, 7, 8
    Fair DARTS polarised fraction  0.867, 0.878, 0.883 (mean 0.876); per epoch (seed 0) 0, .06, .34, .49, .62,
                                   .69, .72, .79, .82, .87 -- still rising when the budget ends
    Fair DARTS final sigmoids, 588 values (3 seeds x 196), 10 bins over [0, 1]: 286 42 8 2 4 3 2 2 10 229
    RESULT {"darts_skips_mean": 0.333, "fair_skips_mean": 0.333, "fair_polarized_fraction": 0.876}

Half of the claim shows: Fair DARTS's sigmoids polarise (88% below 0.1 or above 0.9, the rest in transit, the
histogram bimodal) and its cells keep few skips (its mean skip sigmoid over the normal edges falls from 0.5 to
0.18 / 0.18 / 0.33). The DARTS half does not: DARTS does not collapse at this budget, so b < a cannot show (both
0.33). In every seed the softmax weight of skip_connect on the normal edges fell below uniform (0.125 -> 0.118) from
the first epochs on, and the derived normal cells are separable / dilated convolutions (per-epoch skip counts 0-2,
ending 0 / 1 / 0). Reason: the arch lr factor compresses how far the alphas travel, not how far the weights train.
The supernet got 300 SGD steps x 16 images (one pass over its 5,000-image half; the papers' search trains on
50 x 25,000 images) and its validation accuracy was still climbing (0.26 -> 0.75); at that stage the convolutions
still cut the loss faster than an identity, so softmax competition favours them. The skip collapse is a property of
a well-trained supernet late in a long search (and of a deeper one: 8 cells in the paper, 5 here), which a
~1-hour one-core budget cannot reach; expect it with many more weight steps (``--epochs``, ``--train-size``).

Looking for a collapse (target: at least 2 skips in the normal cell in 2 of 3 seeds). First-order DARTS alone,
seed 0 unless said, arch lr x 10, batch 32, images area-averaged to 14x14 (stride-2 stem: cells at 7, 4, 2 pixels,
so a step costs half as much per image), one thread per search, 2-core machine shared with other jobs:

    --image-size 14 --epochs 20 --steps 50 --train-size 2000 --layers 5    skips 0, skip weight 0.125 -> 0.118,
                                                                            val acc 0.754, 759 s
    ... --train-size 2000 --layers 8                                        skips 0, 0.125 -> 0.119, 0.731, 996 s
    ... --train-size 10000 --layers 5                                       skips 1, 0.120 at epoch 5 -> 0.127,
                                                                            0.765, 991 s
    --setting long-14px (40 x 50 steps, 20,000 images, 5 cells), seeds 0/1  skips 1 / 0, 0.122 / 0.125,
                                                                            0.813 / 0.807, 1,392 s each (2 workers)

(skip weight: the mean softmax weight of skip_connect over the 14 normal edges, uniform 0.125.) None of these
collapses. A small training half (1,000 images, 32 passes) does not help: the weights overfit and the skip weight
still falls.
More distinct images do lift it after the first epochs (10,000 images: from 0.120 to 0.130 over epochs 5-20), but
with 20,000 images and twice the steps it peaks mid-search (2 skips at epochs 20-22 of seed 0) and falls back as
the weight lr anneals. A deeper supernet (8 cells) did not help on 2,000 images, but on 20,000 images it collapses:
``--setting deep-14px`` (8 cells, 30 x 50 steps), seeds 0 / 1 / 2: 3 / 1 / 2 normal skips, so 2 of 3 seeds at >= 2
(seed 0 per epoch: 0 until epoch 12, then 1, 2, 3 in the last three; seed 1: 1-2 throughout; seed 2: 0 until epoch
10, then 2-3 to the end), skip weight 0.125 -> 0.136 / 0.133 / 0.133, val acc 0.789 / 0.771 / 0.779; 1,341 s per
search for seeds 0 / 1 (2 workers, quiet), 5,538 s for seed 2 on a machine about 4x slower (2 workers).

Fair DARTS in the same setting (``--setting deep-14px --workers 2 --no-measure``; the searches are kept in
benchmarks/records/skip_collapse, in git, and an unfinished one continues from its last epoch, so the run spanned
three sessions; DARTS seeds 0 / 1 searched again gave the same cells):

    normal skips per seed 0/1/2    DARTS 3, 1, 2 (mean 2.0)      Fair DARTS 0, 1, 1 (mean 0.67)
    Fair DARTS polarised fraction  0.944, 0.913, 0.944 (mean 0.934)
    Fair DARTS mean skip sigmoid   0.5 -> 0.12 / 0.15 / 0.32 (DARTS's skip weight rises, above)
    Fair DARTS final sigmoids, 588 values, 10 bins over [0, 1]: 339 23 3 3 0 1 2 2 5 210
    supernet val acc               DARTS 0.789 / 0.771 / 0.779   Fair DARTS 0.746 / 0.744 / 0.761
    s per search (2 workers)       2,000-2,200 on a 2-core AMD EPYC; 4,800-5,500 on a machine about 4x slower
    RESULT {"darts_skips_mean": 2.0, "fair_skips_mean": 0.667, "fair_polarized_fraction": 0.934}

b < a: where DARTS collapses, Fair DARTS keeps fewer skips (the paper: 0.29 against 2). Its two single skips sit on
the same edge (first input to first node, sigmoid 0.93).

Supernet record (``--measure-only``, load 1.6): DARTS supernet on its default CPU preset (C=8 x 5 cells, batch 32),
one thread: second order 6,966 ms per search step (arch + weight step), peak RSS 764 MB (+358 MB during the steps);
first order 2,519 ms, 727 MB (+321 MB). Under load 3.4-3.8 the same took 10,725 / 2,516 ms.

Ends with ``RESULT {"darts_skips_mean": a, "fair_skips_mean": b, "fair_polarized_fraction": c}``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archsearch.data.augment import Augmentation  # noqa: E402
from archsearch.data.datasets import from_arrays, load_dataset  # noqa: E402
from archsearch.data.splits import Splits, make_splits  # noqa: E402
from archsearch.experiment.checkpoint import atomic_save  # noqa: E402
from archsearch.experiment.testing import MemoryContext  # noqa: E402
from archsearch.methods.darts import Darts, DartsConfig, FairDarts, FairDartsConfig  # noqa: E402
from archsearch.spaces import create_space  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
# One JSON per finished search, named by method, seed and budget, kept in git: a later invocation with the same
# budget reuses it (--fresh reruns), so a multi-hour comparison survives a killed session or a new machine. An
# unfinished search keeps its last epoch beside it (same name, .pt) and continues from there.
KEPT = ROOT / "benchmarks" / "records" / "skip_collapse"
BUDGET_KEYS = ("epochs", "steps", "batch_size", "arch_lr_scale", "channels", "layers", "train_size", "image_size",
               "stem_stride")

# Named budgets, the same for both methods. "default": the first run (300 steps on a 28x28 supernet). "long-14px":
# the longest search tried while looking for a DARTS collapse (2,000 steps on 20,000 14x14 images; it did not
# collapse either, see the module docstring). "deep-14px": where DARTS does collapse.
SETTINGS: dict[str, dict[str, Any]] = {
    "default": dict(epochs=10, steps=30, batch_size=16, arch_lr_scale=30.0, channels=4, layers=5, train_size=10000,
                    image_size=28, stem_stride=2),
    "long-14px": dict(epochs=40, steps=50, batch_size=32, arch_lr_scale=10.0, channels=4, layers=5, train_size=20000,
                      image_size=14, stem_stride=2),
    # 8 cells, 1,500 steps: DARTS keeps 3 / 1 / 2 normal-cell skips in seeds 0 / 1 / 2
    "deep-14px": dict(epochs=30, steps=50, batch_size=32, arch_lr_scale=10.0, channels=4, layers=8, train_size=20000,
                      image_size=14, stem_stride=2),
}


class _BenchContext(MemoryContext):
    """A `MemoryContext` without a run directory, with the benchmark's own random streams and its metric rows as one
    list. Given ``partial``, each epoch's checkpoint (method state, metric rows, seconds so far) goes to that file,
    atomically, so a search killed mid-way continues from its last epoch in a later invocation."""

    def __init__(self, space: Any, splits: Splits, seed: int, partial: Path | None = None) -> None:
        super().__init__(space, splits=splits, seed=seed)
        self.metrics: list[tuple[str, int, dict[str, float]]] = []  # type: ignore[assignment]
        self.partial, self.seconds_before, self.started = partial, 0.0, time.perf_counter()

    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def resume(self, method: Any) -> None:
        if self.partial is not None and self.partial.exists():
            state = torch.load(self.partial, weights_only=True)
            method.load_state_dict(state["method"])
            self.metrics, self.seconds_before = [tuple(row) for row in state["metrics"]], state["seconds"]

    def torch_generator(self, *phase: object) -> torch.Generator:
        seed = np.random.SeedSequence([self.seed, zlib.crc32(repr(phase).encode())]).generate_state(1)[0]
        return torch.Generator().manual_seed(int(seed))

    def rng(self, *phase: object) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(repr(phase).encode())])

    def checkpoint(self, method: Any) -> None:
        if self.partial is not None:
            atomic_save(self.partial, {"method": method.state_dict(), "metrics": self.metrics,
                                       "seconds": self.seconds()})

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        self.metrics.append((series, step, values))


def _splits(train_size: int, image_size: int = 28) -> Splits:
    dataset = load_dataset("fashion-mnist")
    if image_size != 28:
        dataset = downsampled(dataset, image_size)
    return make_splits(dataset, val_size=1000, small_val_size=0, train_size=train_size)


def downsampled(dataset: Any, size: int) -> Any:
    """The same images area-averaged to size x size (uint8 again), with the same kind of augmentation (crop with
    padding 1 per 14 pixels, flip)."""
    def shrink(x: torch.Tensor) -> np.ndarray:
        return F.adaptive_avg_pool2d(x.float(), size).round().clamp(0, 255).to(torch.uint8).numpy()

    augmentation = Augmentation(crop_padding=max(1, round(size / 14)), flip=dataset.augmentation.flip)
    return from_arrays(shrink(dataset.x_train), dataset.y_train.numpy(), shrink(dataset.x_test),
                       dataset.y_test.numpy(), name=f"{dataset.name}-{size}px", num_classes=dataset.num_classes,
                       augmentation=augmentation, classes=dataset.classes)


def configs(args: argparse.Namespace) -> tuple[DartsConfig, FairDartsConfig]:
    """Both methods' paper / released-code defaults, with the benchmark's sizes and the same arch-lr factor."""
    sizes = dict(epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch_size)
    darts = DartsConfig(order=args.order, arch_lr=DartsConfig.arch_lr * args.arch_lr_scale, **sizes)
    fair = FairDartsConfig(arch_lr=FairDartsConfig.arch_lr * args.arch_lr_scale, **sizes)
    return darts, fair


def _per_epoch(ctx: _BenchContext) -> dict[str, list[float]]:
    """From the logged op weights (epoch 0 = initial): the polarised fraction, mean |w - 0.5| and the mean weight
    of skip_connect on the normal cell's edges, per epoch."""
    out: dict[str, list[float]] = {"polarized": [], "mean_distance_from_half": [], "normal_skip_weight": []}
    for series, _, values in ctx.metrics:
        if series != "alphas":
            continue
        w = np.array(list(values.values()))
        skip = [v for k, v in values.items() if k.startswith("normal_") and k.endswith("/skip_connect")]
        out["polarized"].append(round(float(np.mean((w < 0.1) | (w > 0.9))), 4))
        out["mean_distance_from_half"].append(round(float(np.mean(np.abs(w - 0.5))), 4))
        out["normal_skip_weight"].append(round(float(np.mean(skip)), 4))
    return out


def _search(method: str, seed: int, args: argparse.Namespace, splits: Splits,
            partial: Path | None = None) -> dict[str, Any]:
    space = create_space("darts", preset="quick", search_channels=args.channels, search_layers=args.layers,
                         input_size=args.image_size, stem_stride=args.stem_stride)
    ctx = _BenchContext(space, splits, seed, partial)
    darts_config, fair_config = configs(args)
    runner = Darts(darts_config, ctx) if method == "darts" else FairDarts(fair_config, ctx)
    ctx.resume(runner)
    result = runner.run()
    seconds = ctx.seconds()
    edge_weights = runner.search.edge_weights()
    weights = torch.cat([w.reshape(-1) for w in edge_weights.values()]).numpy()
    ops = list(runner.search.supernet.op_names)
    skip = ops.index("skip_connect")
    normal, reduce = result.extra["genotype"]["normal"], result.extra["genotype"]["reduce"]
    history = result.extra["history"]
    return {
        "method": method, "seed": seed, "seconds": seconds,
        "steps": args.epochs * args.steps, "arch_lr": runner.config.arch_lr,
        "normal_skips": sum(op == "skip_connect" for _, _, op in normal),
        "reduce_skips": sum(op == "skip_connect" for _, _, op in reduce),
        "normal_edges": len(normal), "reduce_edges": len(reduce),
        "supernet_val_accuracy": result.best.objectives["accuracy"],
        "polarized_fraction": float(np.mean((weights < 0.1) | (weights > 0.9))),
        "mean_distance_from_half": float(np.mean(np.abs(weights - 0.5))),
        "max_weight": float(weights.max()),
        "histogram": np.histogram(weights, bins=10, range=(0.0, 1.0))[0].tolist(),
        "normal_skip_weights": [round(float(w[skip]), 4) for k, w in edge_weights.items() if k.startswith("normal")],
        "skips_per_epoch": [int(h["normal_skips"]) for h in history],
        "val_accuracy_per_epoch": [round(float(h["val_accuracy"]), 4) for h in history],
        "per_epoch": _per_epoch(ctx),
        "normal_cell": normal,
    }


def _budget(method: str, args: argparse.Namespace) -> dict[str, Any]:
    budget = {key: getattr(args, key) for key in BUDGET_KEYS}
    if method == "darts":
        budget["order"] = args.order
    return budget


def kept_run_path(method: str, seed: int, args: argparse.Namespace) -> Path:
    """Where a finished search is kept: the name carries a checksum of everything that sets its budget."""
    checksum = zlib.crc32(json.dumps(_budget(method, args), sort_keys=True).encode())
    return KEPT / f"{method}-seed{seed}-{checksum:08x}.json"


def _search_job(method: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One search in a worker process of one thread (each loads its own copy of the data), or the kept result of
    the same search from an earlier invocation."""
    path = kept_run_path(method, seed, args)
    partial = path.with_suffix(".pt")  # the unfinished search's last epoch
    if args.fresh:
        partial.unlink(missing_ok=True)
    elif path.exists():
        return {**json.loads(path.read_text()), "kept": True}
    torch.set_num_threads(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    run = _search(method, seed, args, _splits(args.train_size, args.image_size), partial)
    written = path.with_suffix(".json.partial")
    written.write_text(json.dumps({**run, "budget": _budget(method, args)}, indent=1))
    written.replace(path)
    partial.unlink(missing_ok=True)
    return run


def _measure_supernet(queue: Any, order: int, steps: int) -> None:
    """In a fresh process: the DARTS supernet on its default CPU preset (method preset "quick")."""
    torch.set_num_threads(1)
    splits = _splits(10000)
    space = create_space("darts", preset="quick")
    preset = DartsConfig.PRESETS["quick"]
    ctx = _BenchContext(space, splits, 0)
    method = Darts(DartsConfig(**{**preset, "order": order, "epochs": 1, "steps_per_epoch": steps}), ctx)
    search = method.search
    search._setup()
    batches, arch_batches = iter(search._batches), iter(search._arch_batches)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(steps):
        (x, y), (x_val, y_val) = next(batches), next(arch_batches)
        start = time.perf_counter()
        search.arch_step(x, y, x_val, y_val)
        search.weight_step(x, y)
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"load_average": os.getloadavg()[0], "search_channels": space.search_layout.channels, "search_layers": space.search_layout.layers,
               "batch_size": preset["batch_size"], "step_seconds_median": float(np.median(times[1:])),
               "peak_rss_mb": after / 1024, "rss_growth_mb": (after - before) / 1024})


def measure_supernet(steps: int = 6) -> dict[str, Any]:
    """Step time and peak RSS per order, each in its own process (ru_maxrss is a per-process high-water mark)."""
    context = multiprocessing.get_context("spawn")
    out: dict[str, Any] = {}
    for order in (2, 1):
        queue = context.Queue()
        process = context.Process(target=_measure_supernet, args=(queue, order, steps))
        process.start()
        out[f"order{order}"] = queue.get()
        process.join()
    out.update({k: out["order2"][k] for k in ("search_channels", "search_layers", "batch_size")})
    return out


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=["darts", "fairdarts"], choices=("darts", "fairdarts"))
    parser.add_argument("--setting", choices=tuple(SETTINGS), default="default",
                        help="a named budget (below); a flag given explicitly overrides its value")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", type=int, help="search steps per epoch")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--arch-lr-scale", type=float,
                        help="multiplies BOTH methods' arch lr (paper: DARTS 3e-4, Fair DARTS 3e-3)")
    parser.add_argument("--channels", type=int, help="search supernet channels C")
    parser.add_argument("--layers", type=int, help="search supernet cells (reductions at 1/3 and 2/3)")
    parser.add_argument("--train-size", type=int, help="images split in halves for w / alpha")
    parser.add_argument("--image-size", type=int, help="images area-averaged to this size (28: as they are)")
    parser.add_argument("--stem-stride", type=int, help="supernet stem stride (2: the quick preset's)")
    parser.add_argument("--order", type=int, default=1, choices=(1, 2), help="DARTS order")
    parser.add_argument("--workers", type=int, default=1, help="searches run in this many processes (one thread each)")
    parser.add_argument("--no-measure", action="store_true", help="skip the supernet step time / memory record")
    parser.add_argument("--measure-only", action="store_true", help="only the supernet step time / memory record")
    parser.add_argument("--fresh", action="store_true",
                        help="rerun searches even where benchmarks/records/skip_collapse keeps a result")
    parser.add_argument("--tag", default="", help="write benchmarks/out/skip_collapse_<tag>.json")
    args = parser.parse_args()
    for key, value in SETTINGS[args.setting].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    out_path = OUT / (f"skip_collapse_{args.tag}.json" if args.tag else "skip_collapse.json")
    darts_config, fair_config = configs(args)
    if not args.measure_only:
        print(f"budget, equal for both: {args.epochs} epochs x {args.steps} steps x batch {args.batch_size}, supernet "
              f"C={args.channels} x {args.layers} cells, {args.train_size} training images of {args.image_size}x"
              f"{args.image_size} (setting {args.setting!r}); arch lr x "
              f"{args.arch_lr_scale:g} for both (DARTS {darts_config.arch_lr:g}, Fair DARTS {fair_config.arch_lr:g}); "
              f"weights: each method's paper lr (DARTS {darts_config.lr:g}, Fair DARTS {fair_config.lr:g})",
              flush=True)

    record = None if args.no_measure else measure_supernet()
    if record is not None:
        _print_record(record)
    runs: list[dict[str, Any]] = []
    if args.measure_only:
        out_path = OUT / "skip_collapse_supernet.json"
    else:
        jobs = []
        for i, seed in enumerate(args.seeds):  # interleaved; alternate which method goes first
            order = ("darts", "fairdarts") if i % 2 == 0 else ("fairdarts", "darts")
            jobs += [(method, seed) for method in order if method in args.methods]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            futures = [pool.submit(_search_job, method, seed, args) for method, seed in jobs]
            for future in as_completed(futures):
                run = future.result()
                runs.append(run)
                method, seed = run["method"], run["seed"]
                sigmoid = (f"polarised {run['polarized_fraction']:.2f}, mean|w-.5| "
                           f"{run['mean_distance_from_half']:.3f}, " if method == "fairdarts" else "")
                print(f"  {method:9s} seed {seed}: normal skips {run['normal_skips']} ({run['normal_edges']} edges), "
                      f"reduce skips {run['reduce_skips']}, {sigmoid}supernet val acc "
                      f"{run['supernet_val_accuracy']:.3f}, {run['seconds']:.0f} s"
                      + (" (kept from an earlier invocation)" if run.get("kept") else ""), flush=True)
                out_path.write_text(json.dumps({"args": vars(args), "runs": runs, "supernet": record}, indent=1,
                                               default=str))
        runs.sort(key=lambda r: (jobs.index((r["method"], r["seed"]))))
        _print_table(args, runs)
    out_path.write_text(json.dumps({"args": vars(args), "runs": runs, "supernet": record}, indent=1, default=str))
    if args.measure_only:
        return
    darts = [r for r in runs if r["method"] == "darts"]
    fair = [r for r in runs if r["method"] == "fairdarts"]
    result = {"darts_skips_mean": _mean(darts, "normal_skips"), "fair_skips_mean": _mean(fair, "normal_skips"),
              "fair_polarized_fraction": _mean(fair, "polarized_fraction")}
    print("RESULT " + json.dumps(result))


def _print_table(args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    print()
    print(f"DARTS (order {args.order}) vs Fair DARTS, Fashion-MNIST {args.image_size}x{args.image_size} "
          f"(setting {args.setting!r}), supernet C={args.channels} x {args.layers} "
          f"cells, {args.epochs} epochs x {args.steps} steps x batch {args.batch_size}, arch lr x "
          f"{args.arch_lr_scale:g} for both, seeds {args.seeds}")
    header = f"{'':10s} {'normal skips':>13s} {'reduce skips':>13s} {'normal edges':>13s} {'polarised':>10s} " \
             f"{'mean|w-.5|':>11s} {'val acc':>8s} {'s/search':>9s}"
    print(header)
    for label, method in (("DARTS", "darts"), ("Fair DARTS", "fairdarts")):
        rows = [r for r in runs if r["method"] == method]
        if rows:
            sigmoid = (f"{_mean(rows, 'polarized_fraction'):10.2f} {_mean(rows, 'mean_distance_from_half'):11.3f}"
                       if method == "fairdarts" else f"{'-':>10s} {'-':>11s}")  # softmax weights: not a sigmoid
            print(f"{label:10s} {_mean(rows, 'normal_skips'):13.2f} {_mean(rows, 'reduce_skips'):13.2f} "
                  f"{_mean(rows, 'normal_edges'):13.2f} {sigmoid} {_mean(rows, 'supernet_val_accuracy'):8.3f} "
                  f"{_mean(rows, 'seconds'):9.0f}")
    print("per epoch: skips in the derived normal cell (epochs 1..); mean skip_connect weight over the 14 normal "
          "edges and (Fair DARTS) the polarised fraction of all sigmoids (epochs 0 = initial, 1..)")
    for r in runs:
        e = r["per_epoch"]
        print(f"  {r['method']:9s} seed {r['seed']}: skips {r['skips_per_epoch']}")
        print(f"  {'':9s}         skip w {e['normal_skip_weight']}")
        if r["method"] == "fairdarts":
            print(f"  {'':9s}         polarised {e['polarized']}")
    fair = [r for r in runs if r["method"] == "fairdarts"]
    if fair:
        hist = np.sum([r["histogram"] for r in fair], axis=0)
        print("Fair DARTS final sigmoid values, all seeds, 10 bins over [0, 1]: " + " ".join(str(int(h)) for h in hist))


def _print_record(record: dict[str, Any]) -> None:
    print(f"DARTS supernet, default CPU preset (space 'quick': C={record['search_channels']} x "
          f"{record['search_layers']} cells, 28x28 input, batch {record['batch_size']}), one thread:")
    for order in (2, 1):
        m = record[f"order{order}"]
        print(f"  order {order}: search step (arch + weight step) {m['step_seconds_median'] * 1000:.0f} ms, "
              f"peak RSS {m['peak_rss_mb']:.0f} MB (+{m['rss_growth_mb']:.0f} MB during the search steps), "
              f"1-min load average {m['load_average']:.2f}", flush=True)


if __name__ == "__main__":
    main()
