"""Skip-connection collapse: DARTS vs Fair DARTS on Fashion-MNIST, same seeds, same budget (issue 6).

Fair DARTS (Chu et al. 2020) claims that softmax competition lets skip connections crowd the DARTS normal cell
(their count of the authors' DARTS_V2 cell: 2 skips in the normal cell) while sigmoid weights plus the zero-one
loss keep few skips (0.29 per normal cell on average over their 7 searches) and end with sigmoids polarised at 0/1.

For each seed, interleaved, this runs a DARTS search and a Fair DARTS search on the same data with the same
supernet, batch size and number of steps, and reports the skip connections in the derived normal cell and the
fraction of final Fair DARTS sigmoid weights below 0.1 or above 0.9. DARTS runs first-order by default, so both
spend the same compute per step (Fair DARTS is first-order); ``--order 2`` runs second-order DARTS.

It also prints, for the record, the search step time and peak memory (RSS) of the DARTS supernet on its default
CPU preset (space preset "quick", method preset "quick", second order), measured in a fresh process.

    python benchmarks/skip_collapse.py            # default budget: about 12-15 min on one core
    python benchmarks/skip_collapse.py --epochs 2 --steps 5 --seeds 0   # a smoke run

Ends with ``RESULT {"darts_skips_mean": a, "fair_skips_mean": b, "fair_polarized_fraction": c}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import resource
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from archsearch.data.datasets import load_dataset  # noqa: E402
from archsearch.data.splits import Splits, make_splits  # noqa: E402
from archsearch.methods.darts import Darts, DartsConfig, FairDarts, FairDartsConfig  # noqa: E402
from archsearch.spaces import create_space  # noqa: E402

OUT = ROOT / "benchmarks" / "out"


class _BenchContext:
    """The slice of a RunContext the two methods use, in memory (no run directory: this measures the search)."""

    def __init__(self, space: Any, splits: Splits, seed: int) -> None:
        self.space, self._splits, self.seed = space, splits, seed
        self.device = torch.device("cpu")
        self.ledger = None
        self.metrics: list[tuple[str, int, dict[str, float]]] = []

    def torch_generator(self, *phase: object) -> torch.Generator:
        seed = np.random.SeedSequence([self.seed, zlib.crc32(repr(phase).encode())]).generate_state(1)[0]
        return torch.Generator().manual_seed(int(seed))

    def rng(self, *phase: object) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(repr(phase).encode())])

    def splits(self) -> Splits:
        return self._splits

    def checkpoint(self, method: Any) -> None:
        pass

    def progress(self, description: str, total: int | None):
        class _Bar:
            def advance(self, n: int = 1) -> None:
                pass

        return contextlib.nullcontext(_Bar())

    def log(self, message: str) -> None:
        pass

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        self.metrics.append((series, step, values))


def _splits(train_size: int) -> Splits:
    return make_splits(load_dataset("fashion-mnist"), val_size=1000, small_val_size=0, train_size=train_size)


def _search(method: str, seed: int, args: argparse.Namespace, splits: Splits) -> dict[str, Any]:
    space = create_space("darts", preset="quick", search_channels=args.channels, search_layers=args.layers)
    sizes = dict(epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch_size)
    ctx = _BenchContext(space, splits, seed)
    runner = (Darts(DartsConfig(order=args.order, **sizes), ctx) if method == "darts"
              else FairDarts(FairDartsConfig(**sizes), ctx))
    start = time.perf_counter()
    result = runner.run()
    seconds = time.perf_counter() - start
    weights = torch.cat([w.reshape(-1) for w in runner.search.edge_weights().values()]).numpy()
    normal, reduce = result.extra["genotype"]["normal"], result.extra["genotype"]["reduce"]
    skips_per_epoch = [int(v["normal_skips"]) for s, _, v in ctx.metrics if s == "search"]
    return {
        "method": method, "seed": seed, "seconds": seconds,
        "steps": args.epochs * args.steps,
        "normal_skips": sum(op == "skip_connect" for _, _, op in normal),
        "reduce_skips": sum(op == "skip_connect" for _, _, op in reduce),
        "normal_edges": len(normal), "reduce_edges": len(reduce),
        "supernet_val_accuracy": result.best.objectives["accuracy"],
        "polarized_fraction": float(np.mean((weights < 0.1) | (weights > 0.9))),
        "mean_distance_from_half": float(np.mean(np.abs(weights - 0.5))),
        "max_weight": float(weights.max()),
        "skips_per_epoch": skips_per_epoch,
        "normal_cell": normal,
    }


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
        search.trainer.step(x, y)
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"search_channels": space.search_layout.channels, "search_layers": space.search_layout.layers,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50, help="search steps per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=4, help="search supernet channels C")
    parser.add_argument("--layers", type=int, default=5, help="search supernet cells (N-R-N-R-N)")
    parser.add_argument("--train-size", type=int, default=10000, help="images split in halves for w / alpha")
    parser.add_argument("--order", type=int, default=1, choices=(1, 2), help="DARTS order")
    parser.add_argument("--no-measure", action="store_true", help="skip the supernet step time / memory record")
    args = parser.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)

    record = None if args.no_measure else measure_supernet()
    splits = _splits(args.train_size)
    runs: list[dict[str, Any]] = []
    for i, seed in enumerate(args.seeds):  # interleaved; alternate which method goes first
        for method in (("darts", "fairdarts") if i % 2 == 0 else ("fairdarts", "darts")):
            run = _search(method, seed, args, splits)
            runs.append(run)
            print(f"  {method:9s} seed {seed}: normal skips {run['normal_skips']} ({run['normal_edges']} edges), "
                  f"reduce skips {run['reduce_skips']}, polarised {run['polarized_fraction']:.2f}, "
                  f"supernet val acc {run['supernet_val_accuracy']:.3f}, {run['seconds']:.0f} s", flush=True)

    darts = [r for r in runs if r["method"] == "darts"]
    fair = [r for r in runs if r["method"] == "fairdarts"]
    print()
    print(f"DARTS (order {args.order}) vs Fair DARTS, Fashion-MNIST, supernet C={args.channels} x {args.layers} "
          f"cells, {args.epochs} epochs x {args.steps} steps x batch {args.batch_size}, seeds {args.seeds}")
    header = f"{'':10s} {'normal skips':>13s} {'reduce skips':>13s} {'normal edges':>13s} {'polarised':>10s} " \
             f"{'mean|w-.5|':>11s} {'val acc':>8s} {'s/search':>9s}"
    print(header)
    for label, rows in (("DARTS", darts), ("Fair DARTS", fair)):
        print(f"{label:10s} {np.mean([r['normal_skips'] for r in rows]):13.2f} "
              f"{np.mean([r['reduce_skips'] for r in rows]):13.2f} {np.mean([r['normal_edges'] for r in rows]):13.2f} "
              f"{np.mean([r['polarized_fraction'] for r in rows]):10.2f} "
              f"{np.mean([r['mean_distance_from_half'] for r in rows]):11.3f} "
              f"{np.mean([r['supernet_val_accuracy'] for r in rows]):8.3f} {np.mean([r['seconds'] for r in rows]):9.0f}")
    print("skips in the derived normal cell per epoch:")
    for r in runs:
        print(f"  {r['method']:9s} seed {r['seed']}: {r['skips_per_epoch']}")
    if record is not None:
        print(f"DARTS supernet, default CPU preset (space 'quick': C={record['search_channels']} x "
              f"{record['search_layers']} cells, 28x28 input, batch {record['batch_size']}):")
        for order in (2, 1):
            m = record[f"order{order}"]
            print(f"  order {order}: search step (arch + weight step) {m['step_seconds_median'] * 1000:.0f} ms, "
                  f"peak RSS {m['peak_rss_mb']:.0f} MB (+{m['rss_growth_mb']:.0f} MB during the search steps)")
    (OUT / "skip_collapse.json").write_text(json.dumps({"args": vars(args), "runs": runs, "supernet": record},
                                                       indent=1, default=str))
    result = {"darts_skips_mean": float(np.mean([r["normal_skips"] for r in darts])),
              "fair_skips_mean": float(np.mean([r["normal_skips"] for r in fair])),
              "fair_polarized_fraction": float(np.mean([r["polarized_fraction"] for r in fair]))}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
