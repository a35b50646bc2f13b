"""Make archsearch/data/fashion_mnist_subset.npz.xz: the class-balanced subset of the real Fashion-MNIST that
archsearch uses when the full set is not installed (see archsearch/data/fashion_subset.py for the sizes and why).

    python scripts/make_fashion_mnist_subset.py [--data-dir DIR]

Reads the four published IDX files (checked by size and sha256, found by the usual look-up or in DIR), picks
1,600 training and 200 test images per class with a seeded permutation, and writes an uncompressed .npz with fixed
zip timestamps, compressed with xz: the same input gives the same bytes. Prints the sha256 to pin in
fashion_subset.SUBSET_SHA256 and the file size.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archsearch.data import fashion_subset  # noqa: E402
from archsearch.data.datasets import load_fashion_mnist_files  # noqa: E402
from archsearch.data.files import npz_bytes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="directory with the 4 Fashion-MNIST .gz files (default: the usual look-up)")
    parser.add_argument("--out", type=Path, default=fashion_subset.SUBSET_FILE)
    args = parser.parse_args()
    x_train, y_train, x_test, y_test, _ = load_fashion_mnist_files(args.data_dir, download=True)
    train_index = fashion_subset.select_balanced(y_train.numpy(), fashion_subset.TRAIN_PER_CLASS)
    test_index = fashion_subset.select_balanced(y_test.numpy(), fashion_subset.TEST_PER_CLASS)
    arrays = {"x_train": x_train[train_index, 0].numpy(), "y_train": y_train[train_index].numpy().astype(np.uint8),
              "x_test": x_test[test_index, 0].numpy(), "y_test": y_test[test_index].numpy().astype(np.uint8),
              "train_index": train_index.astype(np.int32), "test_index": test_index.astype(np.int32)}
    raw = npz_bytes(arrays)
    packed = lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=9 | lzma.PRESET_EXTREME)
    args.out.write_bytes(packed)
    digest = hashlib.sha256(raw).hexdigest()
    print(f"wrote {args.out}: {len(packed)} bytes ({len(packed) / 2**20:.2f} MiB), "
          f"{len(train_index)} train / {len(test_index)} test images")
    print(f"sha256 of the .npz: {digest}" + ("" if digest == fashion_subset.SUBSET_SHA256
                                              else "  (differs from fashion_subset.SUBSET_SHA256: update it)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
