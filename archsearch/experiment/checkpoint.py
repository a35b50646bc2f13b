"""Atomic, checksummed checkpoints: a killed run loses at most the work since the last one, never the run.

Each checkpoint is one file ``checkpoints/ckpt-<n>.pt`` (torch.save of plain data and tensors) written to a temp
file, fsynced and renamed; its SHA-256 goes into ``checkpoints/manifest.json`` (written the same way). Loading
verifies the checksum and falls back to the previous good checkpoint, saying so. The newest `keep` are kept.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any, Callable

import torch

from archsearch._atomic import atomic_write_bytes, atomic_write_text  # re-exported: the run layer's writers
from archsearch.errors import CheckpointError

MANIFEST = "manifest.json"


def atomic_save(path: Path, obj: Any) -> None:
    """``torch.save(obj)`` to `path` atomically (weights a resumed run or `export` reads never come torn)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


class CheckpointStore:
    def __init__(self, directory: Path, *, keep: int = 2, log: Callable[[str], None] | None = None) -> None:
        self.directory = Path(directory)
        self.keep = max(1, keep)
        self._log = log or (lambda message: None)
        self.counter = max((entry["index"] for entry in self._manifest()), default=0)
        self.loaded: int | None = None  # the index of the checkpoint `load_latest` returned

    def save(self, state: dict[str, Any]) -> Path:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        self.counter += 1
        path = self.directory / f"ckpt-{self.counter:06d}.pt"
        atomic_write_bytes(path, data)
        entries = self._manifest() + [{"index": self.counter, "file": path.name,
                                       "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}]
        stale, entries = entries[:-self.keep], entries[-self.keep:]
        atomic_write_text(self.directory / MANIFEST, json.dumps(entries, indent=1) + "\n")
        for entry in stale:
            (self.directory / entry["file"]).unlink(missing_ok=True)
        return path

    def load_latest(self) -> dict[str, Any] | None:
        """The newest checkpoint that verifies; None when there is none at all. A corrupt one is reported and
        skipped; if every one is corrupt, `CheckpointError`."""
        entries = self._manifest()
        if not entries:
            return None
        problems = []
        for entry in reversed(entries):
            path = self.directory / entry["file"]
            try:
                data = path.read_bytes()
            except OSError as err:
                problems.append(f"{path.name}: {err.strerror or err}")
                continue
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                problems.append(f"{path.name}: checksum mismatch ({len(data)} of {entry['bytes']} bytes)")
                self._log(f"checkpoint {path} is corrupt or truncated (checksum mismatch); using an older one")
                continue
            try:
                state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
            except Exception as err:  # unpicklable content despite the checksum: treat as corrupt
                problems.append(f"{path.name}: {type(err).__name__}: {str(err).splitlines()[0]}")
                continue
            self.loaded = int(entry["index"])
            return dict(state)
        raise CheckpointError(f"no usable checkpoint in {self.directory}: " + "; ".join(problems))

    def _manifest(self) -> list[dict[str, Any]]:
        """The manifest's entries by index; a manifest that is not JSON, or not a list of entries of the shape
        `save` writes, is a `CheckpointError` naming it as damaged."""
        path = self.directory / MANIFEST
        if not path.is_file():
            return []
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(f"checkpoint manifest {path} is damaged ({err}); the run's checkpoints cannot be "
                                  "trusted") from None
        problem = _manifest_problem(entries)
        if problem:
            raise CheckpointError(f"checkpoint manifest {path} is damaged ({problem}); the run's checkpoints cannot "
                                  "be trusted")
        return sorted(entries, key=lambda e: e["index"])


_ENTRY_TYPES = {"index": int, "file": str, "sha256": str, "bytes": int}


def _manifest_problem(entries: Any) -> str | None:
    """What is wrong with a manifest's shape (None when it is a list of ``{index, file, sha256, bytes}``)."""
    if not isinstance(entries, list):
        return f"a {type(entries).__name__}, not a list of checkpoints"
    seen = set()
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict):
            return f"entry {number} is a {type(entry).__name__}, not an object"
        for key, kind in _ENTRY_TYPES.items():
            if not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool):
                return f"entry {number} has no {kind.__name__} {key!r}"
        if Path(entry["file"]).name != entry["file"] or entry["file"] in ("", ".", ".."):
            return f"entry {number} names a file outside the checkpoint directory: {entry['file']!r}"
        if entry["index"] in seen or entry["file"] in {e["file"] for e in entries[:number]}:
            return f"checkpoint {entry['index']} ({entry['file']}) is listed twice"
        seen.add(entry["index"])
    return None
