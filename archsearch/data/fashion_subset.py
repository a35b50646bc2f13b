"""The offline default: a class-balanced subset of the real Fashion-MNIST, shipped inside the package.

``fashion_mnist_subset.npz.xz`` (beside this module; Fashion-MNIST is MIT licensed, see ``FASHION_MNIST_LICENSE``)
holds 1,600 training images per class (16,000, from the official training file) and 200 test images per class
(2,000, from the official test file), unchanged uint8 28x28 pixels, plus the index of each image in its original
file. `scripts/make_fashion_mnist_subset.py` made it from the published files with `select_balanced` (seed 0), so
it is reproducible bit for bit. It is used only when the full set is not found by the usual look-up
(`archsearch.data._locate`), and a run then records ``data: fashion-mnist-subset``.

Why this size. It is 6.5 MiB (xz, ~370 bytes an image); the full training set would take ~21 MiB. The subset
cannot keep the full set's hold-outs (10,000 validation + 1,000 small validation would leave 5,000 to train on),
so its default split (`SUBSET_SPLIT`, used by `archsearch.run`) holds out 2,000 + 1,000 and trains on 13,000.
Every ``quick`` preset then keeps its sizes: ProxylessNAS its 100 steps of 128 images an epoch (12,800 <= 13,000),
random / mobilenet evolution their 1,024 / 4,096 training and 1,000 / 2,000 validation images, DARTS its 40 steps
of 32 on each half, GreedyNAS its 1,000-image small validation set and 1,000 search-validation images. Budgets
counted in epochs (GreedyNAS ``supernet_epochs``, NARS ``epochs``) are passes over the training split, so they
take 13,000 / 49,000 of the steps they take on the full set; ProxylessNAS ranks its children on 2,000 validation
images instead of 10,000.
"""

from __future__ import annotations

import hashlib
import io
import lzma
from pathlib import Path

import numpy as np

from archsearch.errors import DataError

SUBSET_NAME = "fashion-mnist-subset"
SUBSET_FILE = Path(__file__).with_name("fashion_mnist_subset.npz.xz")
TRAIN_PER_CLASS = 1600
TEST_PER_CLASS = 200
SELECTION_SEED = 0
# sha256 of the uncompressed .npz (the script writes it deterministically; the xz layer has its own CRC64 check)
SUBSET_SHA256 = "9f3e022a19254329c8ab70880235266262d519d4094d7119d7b1ee98d279e084"
# the subset's default hold-out sizes (see the module docstring)
SUBSET_SPLIT = {"val_size": 2000, "small_val_size": 1000}
NOT_FOUND_NOTE = (f"the full Fashion-MNIST was not found, so this run uses the bundled subset of it "
                  f"({10 * TRAIN_PER_CLASS} training / {10 * TEST_PER_CLASS} test images, class-balanced; "
                  "for the full set: sudo apt-get install dataset-fashion-mnist, or --data-dir DIR)")


def select_balanced(labels: np.ndarray, per_class: int, seed: int = SELECTION_SEED) -> np.ndarray:
    """Indices of `per_class` images of each class, drawn without replacement by a seeded permutation, sorted (so
    the subset keeps the original file order)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    chosen = [order[labels[order] == c][:per_class] for c in np.unique(labels)]
    short = [int(c) for c, idx in zip(np.unique(labels), chosen) if len(idx) < per_class]
    if short:
        raise ValueError(f"classes {short} have fewer than {per_class} images")
    return np.sort(np.concatenate(chosen))


def load_subset_arrays() -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test (and train_index, test_index into the official files), checked."""
    try:
        raw = lzma.decompress(SUBSET_FILE.read_bytes())
    except OSError as err:
        raise DataError(f"cannot read the bundled Fashion-MNIST subset {SUBSET_FILE}: {err}; reinstall archsearch "
                        "or get the full set (sudo apt-get install dataset-fashion-mnist)") from None
    except lzma.LZMAError as err:
        raise DataError(f"the bundled Fashion-MNIST subset {SUBSET_FILE} is corrupt ({err}); reinstall "
                        "archsearch") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SUBSET_SHA256:
        raise DataError(f"the bundled Fashion-MNIST subset {SUBSET_FILE} is not the shipped file (sha256 {digest}, "
                        f"expected {SUBSET_SHA256}); reinstall archsearch")
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
