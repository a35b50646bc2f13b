"""Write a small image-classification dataset as a .npz file, for trying `--data FILE.npz` and your own space.

    python examples/make_npz.py                    # writes examples/small.npz
    python examples/make_npz.py data.npz --size 28

The file holds x_train, y_train, x_test, y_test and classes, the arrays `--data FILE.npz` reads. The images are
grey gratings (size x size, uint8): class k is the orientation k * 18 degrees, with a random spatial frequency, phase
and contrast and pixel noise, so a small convnet learns them in a few epochs but not from one pixel. Made with numpy
alone, from a seed: no download, no extra package, the same file every time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLASSES = 10


def gratings(count: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` images (uint8, count x size x size) and their labels (int64, balanced over the classes)."""
    labels = np.arange(count) % CLASSES
    rng.shuffle(labels)
    angle = labels * np.pi / CLASSES + rng.normal(0, 0.05, count)  # 18 degrees apart, slightly jittered
    frequency = rng.uniform(0.12, 0.25, count)  # cycles per pixel
    phase = rng.uniform(0, 2 * np.pi, count)
    contrast = rng.uniform(0.5, 1.0, count)
    yy, xx = np.mgrid[0:size, 0:size] - (size - 1) / 2
    along = np.cos(angle)[:, None, None] * xx + np.sin(angle)[:, None, None] * yy
    wave = contrast[:, None, None] * np.sin(2 * np.pi * frequency[:, None, None] * along + phase[:, None, None])
    images = 0.5 + 0.4 * wave + rng.normal(0, 0.15, (count, size, size))
    return np.clip(images * 255, 0, 255).round().astype(np.uint8), labels.astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path(__file__).with_name("small.npz"))
    parser.add_argument("--size", type=int, default=16, help="image height and width (default 16)")
    parser.add_argument("--train", type=int, default=2000, help="training images (default 2000)")
    parser.add_argument("--test", type=int, default=500, help="test images (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    x_train, y_train = gratings(args.train, args.size, rng)
    x_test, y_test = gratings(args.test, args.size, rng)
    classes = np.array([f"{k * 180 // CLASSES}deg" for k in range(CLASSES)])
    np.savez_compressed(args.out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=classes)
    print(f"wrote {args.out}: {len(x_train)} training and {len(x_test)} test images of {args.size}x{args.size}, "
          f"{CLASSES} classes")


if __name__ == "__main__":
    main()
