"""The user's own data on disk: a ``.npz`` of arrays or a folder of images; a `Dataset` saved so a run reloads it.

* ``.npz``: ``x_train, y_train, x_test, y_test`` (optional ``classes``), checked like `from_arrays`. Images
  (N, H, W), (N, C, H, W), or (N, H, W, C) when the last axis has 1, 3 or 4 entries and the second does not.
  Read with ``allow_pickle=False``: a file can hold numbers and strings only, never code.
* image folder: ``DIR/train/<class>/<image>`` and ``DIR/test/<class>/<image>`` (PNG, JPEG, anything Pillow reads);
  classes are the sorted names of ``DIR/train``'s sub-folders. Grey images stay one channel; if any image has
  colour, all become RGB. Without `image_size` every image must have the size of the first; with it, each is
  resized to ``image_size x image_size`` (bilinear, antialiased when shrinking).
* `save_dataset` writes a `Dataset` (arrays plus name, classes, normalisation and augmentation) as a ``.npz``
  that `load_dataset` turns back into an identical `Dataset`: a run on in-memory data keeps it in its directory,
  so ``archsearch resume`` and worker processes load exactly what the run started with.

This module reads and writes arrays only; `archsearch.data.datasets` makes them a `Dataset` (with `from_arrays`'
checks). Every problem with the user's files is a `UsageError` naming the file: one line, exit 2, before a run
starts.
"""

from __future__ import annotations

import hashlib
import io
import weakref
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from archsearch._atomic import atomic_write_bytes
from archsearch.errors import UsageError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same arrays give the same file
_hashes: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()  # Dataset -> its content hash


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An uncompressed ``.npz`` (what ``np.load`` reads) of `arrays`, byte-identical for identical arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME), "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def dataset_hash(dataset: Any) -> str:
    """sha256 of the dataset's content (dtype, shape and bytes of x/y train/test), computed once per object."""
    digest = _hashes.get(dataset)
    if digest is None:
        h = hashlib.sha256()
        for key in NPZ_KEYS:
            array = np.ascontiguousarray(getattr(dataset, key).numpy())
            h.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
            h.update(array)
        digest = _hashes[dataset] = h.hexdigest()
    return digest


def save_dataset(dataset: Any, path: Path) -> None:
    """Write a `Dataset` to `path` atomically, with what `load_dataset` needs to rebuild it exactly."""
    aug = dataset.augmentation
    arrays = {key: getattr(dataset, key).numpy() for key in NPZ_KEYS}
    arrays.update(classes=np.array(list(dataset.classes), dtype=str), name=np.array(dataset.name),
                  num_classes=np.array(dataset.num_classes), mean=np.array(dataset.mean, dtype=np.float64),
                  std=np.array(dataset.std, dtype=np.float64), crop_padding=np.array(aug.crop_padding),
                  flip=np.array(aug.flip), fill=np.array(aug.fill, dtype=np.float64))
    atomic_write_bytes(Path(path), npz_bytes(arrays))


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a dataset ``.npz`` (the four of `NPZ_KEYS` at least); a `UsageError` naming what is wrong."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise UsageError(f"{path} is not a readable .npz file ({err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UsageError(f"{path} holds a single array; a dataset .npz holds {', '.join(NPZ_KEYS)} (np.savez)")
    with archive:
        missing = [key for key in NPZ_KEYS if key not in archive.files]
        if missing:
            raise UsageError(f"{path} has no {', '.join(missing)} (it holds: {', '.join(archive.files) or 'nothing'}"
                             f"); a dataset .npz holds {', '.join(NPZ_KEYS)} and optionally classes")
        arrays = {}
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError as err:  # object arrays need pickle, which is refused
                raise UsageError(f"{path}: array {key!r} cannot be read without pickle ({err}); store numbers "
                                 "(uint8 pixels or floats, integer labels) and strings only") from None
    return arrays


def read_image_folder(root: Path, image_size: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """x_train, y_train, x_test, y_test (uint8 (N, C, H, W), int64) and the class names of the image folder `root`
    (see the module docstring)."""
    from PIL import Image, UnidentifiedImageError

    layout = f"expected {root}/train/<class>/<images> and {root}/test/<class>/<images>"
    for part in ("train", "test"):
        if not (root / part).is_dir():
            raise UsageError(f"{root} is not an image folder: it has no {part}/ sub-folder ({layout})")
    classes = _class_folders(root / "train", layout)
    if not classes:
        raise UsageError(f"{root}/train has no class folders ({layout})")
    test_classes = _class_folders(root / "test", layout)
    unknown = sorted(set(test_classes) - set(classes))
    if unknown:
        raise UsageError(f"{root}/test has class folders that {root}/train lacks: {', '.join(unknown)}")
    files: dict[str, list[tuple[Path, int]]] = {}
    for part, names in (("train", classes), ("test", test_classes)):
        files[part] = []
        for name in names:
            folder = root / part / name
            images = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
            if not images:
                raise UsageError(f"class folder {folder} holds no images")
            for p in images:
                if not p.is_file():
                    raise UsageError(f"{p} is not an image file (class folders hold images only)")
            files[part] += [(p, classes.index(name)) for p in images]

    def opened(path: Path):
        try:
            return Image.open(path)
        except (UnidentifiedImageError, OSError) as err:
            raise UsageError(f"{path} is not an image Pillow can read ({err})") from None

    first, grey = None, True
    for path, _ in files["train"] + files["test"]:  # headers only: the modes and sizes, before decoding anything
        with opened(path) as image:
            grey = grey and image.mode in _GREY_MODES
            if image_size is None:
                if first is None:
                    first = (path, image.size)
                elif image.size != first[1]:
                    raise UsageError(f"{path} is {image.size[0]}x{image.size[1]} but {first[0]} is "
                                     f"{first[1][0]}x{first[1][1]}: images must share one size, or pass "
                                     "--image-size N (Python: image_size=N) to resize them all")
    mode = "L" if grey else "RGB"

    def decode(part: str) -> tuple[np.ndarray, np.ndarray]:
        pixels = []
        for path, _ in files[part]:
            with opened(path) as image:
                try:
                    image = image.convert(mode)
                    if image_size is not None:
                        image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
                    array = np.asarray(image, dtype=np.uint8)
                except OSError as err:  # a truncated or corrupt file fails only when decoded
                    raise UsageError(f"{path} is not an image Pillow can read ({err})") from None
            pixels.append(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))
        return np.stack(pixels), np.array([label for _, label in files[part]], dtype=np.int64)

    (x_train, y_train), (x_test, y_test) = decode("train"), decode("test")
    return x_train, y_train, x_test, y_test, tuple(classes)


def _class_folders(directory: Path, layout: str) -> list[str]:
    names = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            raise UsageError(f"{entry} is a file where class folders belong ({layout})")
        names.append(entry.name)
    return names
