"""Datasets as in-memory uint8 tensors (N, C, H, W), loaded from their original file formats without torchvision.

* ``fashion-mnist`` (default; Xiao et al. 2017): the four original IDX ``.gz`` files, looked up as described in
  `archsearch.data._locate` (the Debian package ``dataset-fashion-mnist`` installs them under
  ``/usr/share/datasets/fashion-mnist``), downloaded only when none is found and the machine is online.
* ``mnist``: the same IDX format; local files (or the download mirror) only.
* ``cifar10``: the original ``cifar-10-batches-py`` directory. Its batches are Python pickles of numpy arrays; they
  are unpickled only *after* their md5 matched the published one, so only the authors' files are ever unpickled.
* ``digits``: scikit-learn's bundled 8x8 digits (1797 images, no download): tiny, for tests.
* ``fashion-mnist-subset``: a class-balanced subset of the real Fashion-MNIST shipped in the package
  (`archsearch.data.fashion_subset`); ``fashion-mnist`` falls back to it when the full set is not found.
* a path: a ``.npz`` of arrays or a folder of images (`archsearch.data.files`).
* `from_arrays`: the user's own numpy arrays.

Every file is checked for size and hash before use; a missing or corrupt file raises a `DataError` that names it
and says how to get a good copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from archsearch.data import _locate, fashion_subset, files
from archsearch.data._idx import KnownFile, parse_idx, read_verified
from archsearch.data.augment import Augmentation
from archsearch.errors import ConfigError, DataError, UsageError, unknown_name


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images `x_*` (N, C, H, W) uint8 (or float for user data), labels `y_*` (N,) int64.

    `mean` / `std` are per channel, in the units `normalise` divides into: pixel / 255 for uint8 images.
    `augmentation` is what makes sense for this data (see `Augmentation`).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augmentation: Augmentation
    classes: tuple[str, ...] = ()
    source: str = ""  # where it was read from (a directory, a file, the bundled subset); "" for arrays

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """float32 ``(x * scale - mean) / std`` per channel; a new tensor (the uint8 original stays untouched)."""
        out = x.to(torch.float32)  # copies: x is uint8 here, or we clone below
        if out.data_ptr() == x.data_ptr():
            out = out.clone()
        if x.dtype == torch.uint8:
            out.mul_(1.0 / 255.0)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        out.sub_(torch.tensor(self.mean, dtype=torch.float32).reshape(shape))
        out.div_(torch.tensor(self.std, dtype=torch.float32).reshape(shape))
        return out

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
                f"input_shape={self.input_shape}, num_classes={self.num_classes})")


# -- the published files -------------------------------------------------------------------------------------------
# Fashion-MNIST (github.com/zalandoresearch/fashion-mnist). raw_md5: md5 of the uncompressed files as published
# alongside the .gz md5s (e.g. torchvision/other loaders); raw_sha256 computed here from the Debian package's files
# (/usr/share/datasets/fashion-mnist, dataset-fashion-mnist 0.0~git20200523.55506a9-1), whose uncompressed md5s
# equal the published ones. gz_md5: the md5s zalandoresearch publishes for its own .gz files.
FASHION_MNIST_FILES = (
    KnownFile("train-images-idx3-ubyte", 47040016, "f4a8712d7a061bf5bd6d2ca38dc4d50a",
              "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    KnownFile("train-labels-idx1-ubyte", 60008, "9018921c3c673c538a1fc5bad174d6f9",
              "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", "25c81989df183df01b3e8a0aad5dffbe"),
    KnownFile("t10k-images-idx3-ubyte", 7840016, "8181f5470baa50b63fa0f6fddb340f0a",
              "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", "bef4ecab320f06d8554ea6380940ec79"),
    KnownFile("t10k-labels-idx1-ubyte", 10008, "15d484375f8d13e6eb1aabb0c3f46965",
              "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", "bb300cfdad3c16e7a12a480ee83cd310"),
)
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # the official host (zalandoresearch README)
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
FASHION_MNIST_SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)  # Debian's dataset-fashion-mnist
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")

# MNIST (LeCun et al.): published md5s of the uncompressed files and of the .gz files.
MNIST_FILES = (
    KnownFile("train-images-idx3-ubyte", 47040016, "6bbc9ace898e44ae57da46a324031adb",
              gz_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    KnownFile("train-labels-idx1-ubyte", 60008, "a25bea736e30d166cdddb491f175f624",
              gz_md5="d53e105ee54ea40749a09fcbcd1e9432"),
    KnownFile("t10k-images-idx3-ubyte", 7840016, "2646ac647ad5339dbf082846283269ea",
              gz_md5="9fb629c4189551a2d022fa330f9573f3"),
    KnownFile("t10k-labels-idx1-ubyte", 10008, "27ae3e4e09519cfbb04c329615203637",
              gz_md5="ec29112dd5afa0611ce80d1b7f02629c"),
)
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # the PyTorch project's mirror
    "http://yann.lecun.com/exdb/mnist/",
)

# CIFAR-10 python version (www.cs.toronto.edu/~kriz/cifar.html): md5 of each pickled batch as published.
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_TRAIN = (("data_batch_1", "c99cafc152244af753f735de768cd75f"),
                 ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
                 ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
                 ("data_batch_4", "634d18415352ddfa80567beed471001a"),
                 ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"))
CIFAR10_TEST = (("test_batch", "40351d587109b95175f43aff81a1287e"),)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# -- public API ----------------------------------------------------------------------------------------------------
def load_dataset(name: str | os.PathLike = "fashion-mnist", *, data_dir: str | os.PathLike | None = None,
                 download: bool = True, image_size: int | None = None) -> Dataset:
    """Load a dataset into memory: a built-in name ("fashion-mnist", "fashion-mnist-subset", "mnist", "cifar10",
    "digits"), or the path of a ``.npz`` file or an image folder (`archsearch.data.files`).

    `data_dir` (``--data-dir``), when given, is the only place a built-in dataset is looked for; otherwise the
    look-up order of `archsearch.data._locate` applies, ending with a download (if `download` and online) and, for
    Fashion-MNIST, the bundled subset; other datasets then raise a `DataError` saying how to get the files.
    `image_size` resizes the images of an image folder to ``image_size x image_size``.
    """
    path = data_path(name)
    if image_size is not None and (path is None or not path.is_dir()):
        raise UsageError(f"image_size / --image-size resizes an image folder's images; {str(name)!r} is not an "
                         "image folder")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or image_size < 1):
        raise UsageError(f"image_size / --image-size must be a whole number of pixels >= 1, got {image_size!r}")
    if path is None:
        return _LOADERS[str(name)](data_dir, download)
    if path.is_dir():
        x_train, y_train, x_test, y_test, classes = files.read_image_folder(path, image_size)
        dataset = from_arrays(x_train, y_train, x_test, y_test, name=path.name, num_classes=len(classes),
                              classes=classes)
    else:
        dataset = _from_npz(path, files.read_npz_arrays(path))
    return dataclasses.replace(dataset, source=str(path))


def data_path(data: str | os.PathLike) -> Path | None:
    """The absolute file or folder `data` names, or None when it is a built-in dataset name; a `UsageError` when
    it is neither (a missing path, or an unknown name with the closest built-in one)."""
    if isinstance(data, str) and data in _LOADERS:
        return None
    if not isinstance(data, (str, os.PathLike)):
        raise UsageError(f"data must be a dataset name, a path or a Dataset, got {type(data).__name__}")
    path = Path(data).expanduser()
    if path.exists():
        return path.resolve()
    text = str(data)
    if isinstance(data, os.PathLike) or "/" in text or os.sep in text or path.suffix:
        raise UsageError(f"no such file or folder: {text} (data is a dataset name ({', '.join(dataset_names())}), "
                         "a .npz file or an image folder)")
    raise UsageError(f"{unknown_name('dataset', data, _LOADERS)}; or give the path of a .npz file or an image "
                     "folder")


def dataset_names() -> list[str]:
    return sorted(_LOADERS)


def from_arrays(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                name: str = "arrays", num_classes: int | None = None, channels_last: bool = False,
                augmentation: Augmentation | None = None, classes: tuple[str, ...] = ()) -> Dataset:
    """A `Dataset` from the user's numpy arrays.

    Images may be (N, H, W) (one channel), (N, C, H, W), or (N, H, W, C) with ``channels_last=True``; uint8 arrays
    are scaled by 1/255, float arrays are used as they are. Labels are integers in [0, num_classes). Without an
    `augmentation`, images get a random crop with padding ~H/14 (2 for 28x28, 4 for 32+) and no flip (flipping is
    only safe when the classes are mirror-symmetric; pass ``Augmentation(..., flip=True)`` if they are).
    """
    xs = [_image_tensor(x, channels_last, f"{name} x_{part}") for x, part in ((x_train, "train"), (x_test, "test"))]
    if xs[0].shape[1:] != xs[1].shape[1:]:
        raise ConfigError(f"{name}: x_train images are {tuple(xs[0].shape[1:])} but x_test images are "
                          f"{tuple(xs[1].shape[1:])}")
    if xs[0].dtype != xs[1].dtype:
        raise ConfigError(f"{name}: x_train is {xs[0].dtype} but x_test is {xs[1].dtype}; use one dtype")
    if len(xs[0]) == 0:
        raise ConfigError(f"{name}: x_train holds no images")
    ys = [_label_tensor(y, len(x), f"{name} y_{part}") for y, x, part in
          ((y_train, xs[0], "train"), (y_test, xs[1], "test"))]
    observed = int(max(int(ys[0].max()), int(ys[1].max()) if len(ys[1]) else 0)) + 1
    if num_classes is None:
        num_classes = observed
    elif observed > num_classes:
        raise ConfigError(f"{name}: labels go up to {observed - 1} but num_classes={num_classes}")
    if augmentation is None:
        height = xs[0].shape[2]
        augmentation = Augmentation(crop_padding=4 if height >= 32 else max(1, round(height / 14)), flip=False)
    return _make(name, xs[0], ys[0], xs[1], ys[1], num_classes, augmentation, classes)


def _from_npz(path: Path, arrays: dict[str, np.ndarray]) -> Dataset:
    """A `Dataset` from a ``.npz``'s arrays: the user's (channels-last when the last axis has 1, 3 or 4 entries and
    the second does not), or one `files.save_dataset` wrote (its name, normalisation and augmentation kept)."""
    classes = tuple(str(c) for c in np.asarray(arrays.get("classes", ())).reshape(-1))
    num_classes = int(arrays["num_classes"]) if "num_classes" in arrays else (len(classes) or None)
    x_train = arrays["x_train"]
    channels_last = x_train.ndim == 4 and x_train.shape[-1] in (1, 3, 4) and x_train.shape[1] not in (1, 3, 4)
    saved = "mean" in arrays and "crop_padding" in arrays
    augmentation = (Augmentation(int(arrays["crop_padding"]), bool(arrays["flip"]),
                                 tuple(float(v) for v in arrays["fill"])) if saved else None)
    name = str(arrays["name"]) if "name" in arrays else path.stem
    dataset = from_arrays(x_train, arrays["y_train"], arrays["x_test"], arrays["y_test"], name=name,
                          num_classes=num_classes, channels_last=channels_last, augmentation=augmentation,
                          classes=classes)
    if saved:
        std = tuple(float(v) for v in arrays["std"])
        dataset = dataclasses.replace(dataset, mean=tuple(float(v) for v in arrays["mean"]), std=std,
                                      augmentation=dataclasses.replace(dataset.augmentation, std=std)
                                      if dataset.augmentation else None)
    return dataset


# -- loaders -------------------------------------------------------------------------------------------------------
def load_fashion_mnist_files(data_dir, download, *, missing_ok: bool = False):
    """The four published Fashion-MNIST files as tensors plus the directory they came from (None if not found
    and `missing_ok`)."""
    return _idx_files(
        "fashion-mnist", "Fashion-MNIST", FASHION_MNIST_FILES, FASHION_MNIST_MIRRORS, data_dir, download,
        system_dirs=FASHION_MNIST_SYSTEM_DIRS, dir_names=("fashion-mnist", "FashionMNIST/raw"), missing_ok=missing_ok,
        how_to=("Get it with `sudo apt-get install dataset-fashion-mnist` (installs /usr/share/datasets/"
                "fashion-mnist), or put the 4 files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz from "
                "https://github.com/zalandoresearch/fashion-mnist in a directory and pass --data-dir DIR "
                "(Python: data_dir=DIR; or set ARCHSEARCH_DATA=DIR)."))


# Fashion-MNIST: crop padding 2 at 28x28 and flips (garments are left/right symmetric).
FASHION_MNIST_AUGMENTATION = Augmentation(crop_padding=2, flip=True)


def _load_fashion_mnist(data_dir, download) -> Dataset:
    """The full set; when it is found nowhere (and no `data_dir` was given, which is authoritative), the bundled
    subset, whose name and `source` say so."""
    found = load_fashion_mnist_files(data_dir, download, missing_ok=data_dir is None)
    if found is None:
        return _load_fashion_mnist_subset(data_dir, download, source=fashion_subset.NOT_FOUND_NOTE)
    images, labels, test_images, test_labels, directory = found
    return _make("fashion-mnist", images, labels, test_images, test_labels, 10, FASHION_MNIST_AUGMENTATION,
                 FASHION_MNIST_CLASSES, source=str(directory))


def _load_fashion_mnist_subset(data_dir, download, *, source: str | None = None) -> Dataset:
    arrays = fashion_subset.load_subset_arrays()
    tensors = [torch.from_numpy(arrays[key].astype(np.uint8 if key.startswith("x") else np.int64))
               for key in ("x_train", "y_train", "x_test", "y_test")]
    tensors[0], tensors[2] = tensors[0][:, None], tensors[2][:, None]
    return _make(fashion_subset.SUBSET_NAME, *tensors, 10, FASHION_MNIST_AUGMENTATION, FASHION_MNIST_CLASSES,
                 source=source or f"the bundled subset of Fashion-MNIST ({fashion_subset.SUBSET_FILE})")


def _load_mnist(data_dir, download) -> Dataset:
    images, labels, test_images, test_labels, directory = _idx_files(
        "mnist", "MNIST", MNIST_FILES, MNIST_MIRRORS, data_dir, download,
        system_dirs=(), dir_names=("mnist", "MNIST/raw"),
        how_to=("Put the 4 files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                "t10k-labels-idx1-ubyte.gz (from https://ossci-datasets.s3.amazonaws.com/mnist/) in a directory "
                "and pass --data-dir DIR (Python: data_dir=DIR; or set ARCHSEARCH_DATA=DIR)."))
    # MNIST: crop padding 2, no flip (a mirrored digit is not the same digit).
    return _make("mnist", images, labels, test_images, test_labels, 10, Augmentation(crop_padding=2, flip=False),
                 tuple(str(d) for d in range(10)), source=str(directory))


def _load_cifar10(data_dir, download) -> Dataset:
    names = [n for n, _ in CIFAR10_TRAIN + CIFAR10_TEST]
    dirs = _locate.search_dirs((CIFAR10_DIR, f"cifar10/{CIFAR10_DIR}", "cifar10"), data_dir)
    how_to = ("Download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extract it "
              f"(tar xzf) and pass --data-dir DIR where DIR contains {CIFAR10_DIR}/ (Python: data_dir=DIR).")
    directory = next((d for d in dirs if any((d / n).is_file() for n in names)), None)
    if directory is None:
        raise DataError(f"CIFAR-10 not found (looked in: {', '.join(map(str, dirs))}). {how_to}")
    missing = [n for n in names if not (directory / n).is_file()]
    if missing:
        raise DataError(f"{directory} holds only part of CIFAR-10: missing {', '.join(missing)}. {how_to}")

    def read(batches) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for file_name, md5 in batches:
            path = directory / file_name
            raw = path.read_bytes()
            digest = hashlib.md5(raw, usedforsecurity=False).hexdigest()
            if digest != md5:
                raise DataError(f"{path} is corrupt or not the published file (md5 {digest}, expected {md5}); "
                                f"it is not unpickled. {how_to}")
            batch = pickle.loads(raw, encoding="bytes")  # verified published file: numpy arrays and lists only
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    x_train, y_train = read(CIFAR10_TRAIN)
    x_test, y_test = read(CIFAR10_TEST)
    # CIFAR-10: the standard pad-4 random crop and horizontal flip (He et al. 2016; DARTS).
    return _make("cifar10", torch.from_numpy(x_train), torch.from_numpy(y_train), torch.from_numpy(x_test),
                 torch.from_numpy(y_test), 10, Augmentation(crop_padding=4, flip=True), CIFAR10_CLASSES,
                 source=str(directory))


def _load_digits(data_dir, download) -> Dataset:
    """scikit-learn's 8x8 digits. It has no official test split: the test set is a fixed 20% (360 images) chosen
    by a permutation with seed 0 (*interpretation*), so it never changes with the experiment seed."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the 'digits' dataset comes with scikit-learn: pip install scikit-learn") from None
    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]  # 0..16 -> 0..255
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))
    test, train = np.sort(order[:360]), np.sort(order[360:])
    # 8x8 digits: crop padding 1 (interpretation: ~H/14 like 2 at 28x28), no flip.
    return _make("digits", torch.from_numpy(images[train]), torch.from_numpy(labels[train]),
                 torch.from_numpy(images[test]), torch.from_numpy(labels[test]), 10,
                 Augmentation(crop_padding=1, flip=False), tuple(str(d) for d in range(10)),
                 source="scikit-learn's bundled digits")


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "fashion-mnist": _load_fashion_mnist,
    fashion_subset.SUBSET_NAME: _load_fashion_mnist_subset,
    "mnist": _load_mnist,
    "cifar10": _load_cifar10,
    "digits": _load_digits,
}


# -- helpers -------------------------------------------------------------------------------------------------------
def _idx_files(name, title, files, mirrors, data_dir, download, *, system_dirs, dir_names, how_to, missing_ok=False):
    dirs = _locate.search_dirs(dir_names, data_dir, system_dirs)
    try:
        paths = _locate.locate(files, dirs)
    except DataError as err:
        raise DataError(f"{err}. {how_to}") from None
    tried_download = ""
    if paths is None and data_dir is None and download:
        paths = _locate.download_idx(files, mirrors, _locate.user_cache_dir() / name)
        tried_download = "; download: no network" if paths is None else ""
    if paths is None and missing_ok:
        return None
    if paths is None:
        where = (f"in {Path(data_dir).expanduser()} (an explicit data_dir is the only place looked at)"
                 if data_dir is not None else f"(looked in: {', '.join(map(str, dirs))}{tried_download})")
        raise DataError(f"{title} not found {where}. {how_to}")
    arrays = []
    for known in files:
        try:
            raw = read_verified(paths[known.name], known)
        except DataError as err:
            raise DataError(f"{err}. {how_to}") from None
        arrays.append(parse_idx(raw, source=str(paths[known.name])))
    images, labels, test_images, test_labels = arrays
    for x, y, part in ((images, labels, "train"), (test_images, test_labels, "t10k")):
        if len(x) != len(y):
            raise DataError(f"{title} {part}: {len(x)} images but {len(y)} labels")
    return (torch.from_numpy(images.copy())[:, None], torch.from_numpy(labels.astype(np.int64)),
            torch.from_numpy(test_images.copy())[:, None], torch.from_numpy(test_labels.astype(np.int64)),
            paths[files[0].name].parent)


def _make(name, x_train, y_train, x_test, y_test, num_classes, augmentation, classes, source="") -> Dataset:
    mean, std = _channel_stats(x_train)
    if augmentation.fill == (0.0,):  # pad with black (pixel value 0), expressed in normalised units per channel
        augmentation = dataclasses.replace(augmentation, fill=tuple(float(-m / s) for m, s in zip(mean, std)))
    augmentation = dataclasses.replace(augmentation, std=tuple(float(s) for s in std))  # pixels for AutoAugment
    return Dataset(name, x_train.contiguous(), y_train.to(torch.int64), x_test.contiguous(), y_test.to(torch.int64),
                   num_classes, mean, std, augmentation, tuple(classes), source)


def _channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of the training images (uint8: exact, via a 256-bin histogram, in pixel/255)."""
    means, stds = [], []
    for c in range(x.shape[1]):
        channel = x[:, c]
        if x.dtype == torch.uint8:
            counts = torch.bincount(channel.reshape(-1), minlength=256).to(torch.float64)
            values = torch.arange(256, dtype=torch.float64) / 255.0
            total = counts.sum()
            mean = float((counts * values).sum() / total)
            var = float((counts * (values - mean) ** 2).sum() / total)
        else:
            channel = channel.to(torch.float64)
            mean, var = float(channel.mean()), float(channel.var(unbiased=False))
        means.append(mean)
        stds.append(max(var, 1e-12) ** 0.5)
    return tuple(means), tuple(stds)


def _image_tensor(x: np.ndarray, channels_last: bool, what: str) -> torch.Tensor:
    array = np.asarray(x)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if channels_last:
            array = array.transpose(0, 3, 1, 2)
    else:
        raise ConfigError(f"{what}: expected images (N, H, W) or (N, C, H, W), got shape {array.shape}")
    if array.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(array))
    if not np.issubdtype(array.dtype, np.floating):
        raise ConfigError(f"{what}: dtype {array.dtype} not supported (use uint8 pixels or floats)")
    if not np.isfinite(array).all():
        raise ConfigError(f"{what}: images hold NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _label_tensor(y: np.ndarray, n: int, what: str) -> torch.Tensor:
    array = np.asarray(y)
    if array.ndim != 1 or len(array) != n:
        raise ConfigError(f"{what}: expected {n} labels (shape ({n},)), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ConfigError(f"{what}: labels must be integers, got {array.dtype}")
    if len(array) and array.min() < 0:
        raise ConfigError(f"{what}: labels must be >= 0, got {array.min()}")
    return torch.from_numpy(array.astype(np.int64))
