"""Where dataset files are looked for, and the one place that may download them.

Look-up order (README, "Data"): the explicit ``data_dir`` (``--data-dir``; authoritative: if given, nothing else is
tried), ``$ARCHSEARCH_DATA``, the user cache (``$XDG_CACHE_HOME/archsearch/<name>``, default
``~/.cache/archsearch/<name>``), system directories (``/usr/share/datasets/fashion-mnist`` from the Debian package
``dataset-fashion-mnist``), then the official download into the user cache when the machine is online. Each root
is searched with the dataset's directory name appended first, then as is, so ``--data-dir ~/data`` finds
``~/data/fashion-mnist/`` and ``--data-dir ~/data/fashion-mnist`` works too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence

from archsearch.data._idx import KnownFile, find_file
from archsearch.errors import DataError

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 5.0  # per connection attempt: an offline machine fails at name resolution, in milliseconds


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archsearch"


def search_dirs(dir_names: Sequence[str], data_dir: str | os.PathLike | None,
                system_dirs: Sequence[str] = ()) -> list[Path]:
    """Directories to try, in order (see module docstring)."""
    candidates: list[Path] = []
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        candidates += [root / name for name in dir_names] + [root]
    else:
        env = os.environ.get("ARCHSEARCH_DATA")
        if env:
            root = Path(env).expanduser()
            candidates += [root / name for name in dir_names] + [root]
        candidates += [user_cache_dir() / name for name in dir_names]  # the cache holds one dir per dataset
        candidates += [Path(d) for d in system_dirs]
    dirs: list[Path] = []
    for candidate in candidates:
        if candidate not in dirs:
            dirs.append(candidate)
    return dirs


def locate(files: Sequence[KnownFile], dirs: Sequence[Path]) -> dict[str, Path] | None:
    """The first directory holding any of `files`; all of them must then be there (else a `DataError`)."""
    for directory in dirs:
        found = {known.name: find_file(directory, known) for known in files}
        present = {name: path for name, path in found.items() if path is not None}
        if not present:
            continue
        missing = [name for name, path in found.items() if path is None]
        if missing:
            raise DataError(f"{directory} holds only part of the dataset: missing "
                            f"{', '.join(m + '[.gz]' for m in missing)}")
        return present
    return None


def offline() -> bool:
    return os.environ.get("ARCHSEARCH_OFFLINE", "").lower() not in ("", "0", "false", "no")


def download_idx(files: Sequence[KnownFile], mirrors: Sequence[str], target: Path) -> dict[str, Path] | None:
    """Download the ``.gz`` files into `target` (atomic rename, md5 of the published file checked), or None.

    Returns None when the network is unreachable (the caller then explains how to get the data); a file that
    downloads but fails its checksum raises a `DataError`.
    """
    if offline():
        return None
    blobs: dict[str, bytes] = {}
    for known in files:  # fetch everything first: an interrupted download leaves no partial dataset behind
        data = _fetch_first(f"{known.name}.gz", mirrors)
        if data is None:
            return None
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if known.gz_md5 is not None and digest != known.gz_md5:
            raise DataError(f"downloaded {known.name}.gz has md5 {digest}, expected {known.gz_md5}; "
                            f"the mirror may be serving a different file")
        blobs[known.name] = data
    paths: dict[str, Path] = {}
    target.mkdir(parents=True, exist_ok=True)
    for known in files:
        data = blobs[known.name]
        final = target / f"{known.name}.gz"
        with tempfile.NamedTemporaryFile(dir=target, prefix=f".{known.name}.", delete=False) as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, final)
        paths[known.name] = final
        log.info("downloaded %s", final)
    return paths


def _fetch_first(filename: str, mirrors: Sequence[str]) -> bytes | None:
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:  # noqa: S310 (fixed https/http URLs)
                return response.read()
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            log.info("cannot download %s: %s", url, err)
    return None
