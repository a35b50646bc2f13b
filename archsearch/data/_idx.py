"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian header, then raw uint8 data.

Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then one big-endian uint32
per dimension. ``train-images-idx3-ubyte`` is (60000, 28, 28), ``train-labels-idx1-ubyte`` is (60000,).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archsearch.errors import DataError

_UBYTE = 0x08


@dataclass(frozen=True)
class KnownFile:
    """A published file, identified by its *uncompressed* content (size + hash).

    Hashing the uncompressed bytes accepts every faithful copy: the original ``.gz`` from the authors, a copy
    re-compressed by a distribution (Debian's ``dataset-fashion-mnist`` strips the gzip file-name header, so its
    ``.gz`` md5 differs from the published one while the content is identical), or an already unpacked file.
    ``gz_md5`` is the md5 of the authors' own ``.gz``, used to check a fresh download before it is stored.
    """

    name: str  # without ".gz"
    raw_size: int
    raw_md5: str
    raw_sha256: str | None = None
    gz_md5: str | None = None


def find_file(directory: Path, known: KnownFile) -> Path | None:
    """``name.gz`` or the unpacked ``name`` in `directory`, or None."""
    for candidate in (directory / f"{known.name}.gz", directory / known.name):
        if candidate.is_file():
            return candidate
    return None


def read_verified(path: Path, known: KnownFile) -> bytes:
    """The uncompressed bytes of `path`, after checking size and hash; a `DataError` naming the file otherwise."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror}") from None
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path} is corrupt or truncated (not a complete gzip file: {err}); "
                            f"delete it and get the file again") from None
    if len(data) != known.raw_size:
        raise DataError(f"{path} is corrupt or truncated: {len(data)} bytes uncompressed, expected "
                        f"{known.raw_size}; delete it and get the file again")
    if known.raw_sha256 is not None:
        digest, expected, algo = hashlib.sha256(data).hexdigest(), known.raw_sha256, "sha256"
    else:
        digest, expected, algo = hashlib.md5(data, usedforsecurity=False).hexdigest(), known.raw_md5, "md5"
    if digest != expected:
        raise DataError(f"{path} is corrupt or not the published file ({algo} of its content {digest}, expected "
                        f"{expected}); delete it and get the file again")
    return data


def parse_idx(data: bytes, *, source: str) -> np.ndarray:
    """An IDX byte string as a read-only uint8 array of the shape its header declares (no copy)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _UBYTE:
        raise DataError(f"{source} is not an unsigned-byte IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: IDX header truncated")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape)) if shape else 0
    if len(data) != header + count:
        raise DataError(f"{source}: IDX header declares shape {shape} ({count} bytes) but holds "
                        f"{len(data) - header} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
