"""Images/s of `archsearch.train.train` vs a bare PyTorch loop over the same tensors and model.

Setup: Fashion-MNIST, 10,240 training images (80 batches of 128), a small MobileNet-like CNN (stride-2 stem,
depthwise-separable blocks: the kind of network a `quick` search trains). Both sides start from the same initial
weights, use the same batch size, the same memory format (channels_last, which the trainer picks on CPU) and the
same data path (random permutation + index_select, batched augmentation when on); the bare loop is
``zero_grad / forward / cross_entropy / backward / SGD(momentum, weight decay).step`` with a constant lr, the
trainer runs the default recipe (cosine schedule, no decay on BN/bias, NaN guard, metrics). One epoch per
measurement, interleaved (train, bare, train, bare, ...) in this process, for augmentation off and on.

    python benchmarks/train_throughput.py [--repeats 5] [--images 10240] [--threads 0]

Ends with ``RESULT {"throughput_ratio": x}``: the smaller of the two (augment off / on) median ratios of
per-pair throughputs (trainer / bare). Goal: x >= 0.9.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.data import Batches, load_dataset, make_splits  # noqa: E402
from archsearch.data.augment import augment_batch  # noqa: E402
from archsearch.train import Recipe, train  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True)]


def small_cnn() -> nn.Module:
    """Stem 3x3 s2 (28 -> 14), two depthwise-separable blocks (one s2: 14 -> 7), 1x1 head, pool, classifier."""
    layers = conv_bn(1, 16, 3, 2)
    for c_in, c_out, stride in ((16, 32, 1), (32, 64, 2), (64, 64, 1)):
        layers += conv_bn(c_in, c_in, 3, stride, groups=c_in) + conv_bn(c_in, c_out, 1)
    layers += conv_bn(64, 128, 1) + [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)]
    return nn.Sequential(*layers)


def bare_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, augmentation,
               generator: torch.Generator, recipe: Recipe) -> float:
    """The reference: the plainest correct PyTorch epoch. Returns seconds."""
    start = time.perf_counter()
    model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                weight_decay=recipe.weight_decay)
    order = torch.randperm(len(y), generator=generator)
    for first in range(0, len(y) - batch_size + 1, batch_size):
        index = order[first:first + batch_size]
        xb, yb = x.index_select(0, index), y.index_select(0, index)
        if augmentation is not None:
            xb = augment_batch(xb, augmentation, generator)
        xb = xb.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def trainer_epoch(model: nn.Module, splits, recipe: Recipe, generator: torch.Generator) -> float:
    start = time.perf_counter()
    history = train(model, splits, recipe, 1, device="cpu", generator=generator)
    seconds = time.perf_counter() - start
    assert history[0]["val_accuracy"] is None  # no evaluation inside the timed epoch: like the bare loop
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=10240)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    dataset = load_dataset("fashion-mnist", data_dir=args.data_dir)
    splits = make_splits(dataset, val_size=0, small_val_size=0, train_size=args.images, seed=0)
    torch.manual_seed(0)  # benchmark script, not library code: one fixed initialisation for both sides
    initial = small_cnn()
    x, y = splits.train.x, splits.train.y

    rows, raw = [], {}
    for augment in (False, True):
        recipe = Recipe(batch_size=args.batch_size, augment=augment)
        augmentation = splits.train.augmentation if augment else None
        # warm-up (oneDNN primitive creation, allocator) for both paths, not timed
        trainer_epoch(copy.deepcopy(initial), splits, recipe, torch.Generator().manual_seed(99))
        bare_epoch(copy.deepcopy(initial), x, y, args.batch_size, augmentation, torch.Generator().manual_seed(99),
                   recipe)
        ours, bare, ratios = [], [], []
        for repeat in range(args.repeats):
            t_ours = trainer_epoch(copy.deepcopy(initial), splits, recipe, torch.Generator().manual_seed(repeat))
            t_bare = bare_epoch(copy.deepcopy(initial), x, y, args.batch_size, augmentation,
                                torch.Generator().manual_seed(repeat), recipe)
            steps = len(Batches(splits.train, args.batch_size, drop_last=True))
            images = steps * args.batch_size
            ours.append(images / t_ours)
            bare.append(images / t_bare)
            ratios.append(t_bare / t_ours)
            print(f"  augment={augment!s:5} repeat {repeat}: train {images / t_ours:8.0f} img/s   "
                  f"bare {images / t_bare:8.0f} img/s   ratio {t_bare / t_ours:.3f}", flush=True)
        rows.append((augment, statistics.median(ours), statistics.median(bare), statistics.median(ratios)))
        raw[f"augment={augment}"] = {"train_img_s": ours, "bare_img_s": bare, "ratios": ratios}

    print()
    print(f"{'augment':>8} | {'train img/s':>12} | {'bare img/s':>11} | {'ratio (median)':>14}")
    print("-" * 56)
    for augment, ours, bare, ratio in rows:
        print(f"{augment!s:>8} | {ours:12.0f} | {bare:11.0f} | {ratio:14.3f}")
    print(f"\n{args.images} images, batch {args.batch_size}, {torch.get_num_threads()} threads, "
          f"{args.repeats} interleaved repeats; model params {sum(p.numel() for p in initial.parameters())}")
    ratio = min(r for *_, r in rows)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "train_throughput.json").write_text(json.dumps({"ratio": ratio, "raw": raw}, indent=1))
    print("RESULT " + json.dumps({"throughput_ratio": round(ratio, 4)}))


if __name__ == "__main__":
    main()
