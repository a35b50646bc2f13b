"""Checks of a run's settings, all made before anything is written: a bad seed, device, storage URL, worker count
or run name is a usage error (exit 2) that leaves no run directory behind."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from archsearch.errors import UsageError

MAX_SEED = 2**63 - 1  # torch.manual_seed and numpy's SeedSequence take any non-negative int64
MAX_WORKERS = 4096  # Ray's documented scale: clusters of thousands of CPUs; past that a typo, not a cluster
MAX_NAME_CHARS = 200  # a file name (255 bytes on common file systems) with room for suffixes
DEVICE_TYPES = ("cpu", "cuda", "mps")


def check_seed(seed: int | None) -> int:
    seed = 0 if seed is None else seed
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"seed must be between 0 and 2**63-1, got {seed}")
    return seed


def check_workers(workers: int | None) -> int | None:
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"workers must be between 1 and {MAX_WORKERS}, got {workers}")
    return workers


def check_budget_value(budget: float | None) -> float | None:
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise UsageError(f"budget must be a finite positive number, got {budget}")
    return budget


def check_name(name: str) -> str:
    """A run name is one plain file name: not blank, no path separators, control characters or leading dot."""
    if not name.strip():
        raise UsageError("run name must not be blank")
    if name != name.strip():
        raise UsageError(f"run name {name!r} must not start or end with a space")
    bad = [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    if bad:
        raise UsageError(f"run name {name!r} must not hold control characters (found {bad[0]!r})")
    if "/" in name or "\\" in name or name.startswith("."):
        raise UsageError(f"run name {name!r} must be a plain file name (no '/', '\\' or leading '.')")
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8")) > 255:
        raise UsageError(f"run name is {len(name)} characters long; at most {MAX_NAME_CHARS}")
    return name


def check_device(device: str | None) -> str | None:
    """A device this host has: ``cuda`` on a CPU-only host is a usage error now, not a crash in training."""
    import torch

    if device is None:
        return None
    text = str(device).strip()
    try:
        parsed = torch.device(text)
    except (RuntimeError, ValueError):
        raise UsageError(f"unknown device {text!r} (allowed: cpu, cuda, cuda:N, mps)") from None
    if parsed.type not in DEVICE_TYPES:
        raise UsageError(f"device {text!r} is not supported (allowed: cpu, cuda, cuda:N, mps)")
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {text!r}: this host has no CUDA device (torch {torch.__version__}); "
                             "use --device cpu")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise UsageError(f"device {text!r}: this host has {torch.cuda.device_count()} CUDA device(s) "
                             f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    if parsed.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise UsageError(f"device {text!r}: MPS is not available on this host; use --device cpu")
    return text


def check_executor(executor: str, ray_address: str | None) -> None:
    import importlib.util

    if ray_address and executor != "ray":
        raise UsageError("--ray-address is for the ray executor: add --executor ray")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise UsageError("the ray executor needs Ray: pip install 'archsearch[ray]'")


def check_storage(url: str | None) -> None:
    """A ledger URL SQLAlchemy can parse, of a kind it knows, whose driver is installed (nothing is connected)."""
    from archsearch.experiment.ledger import resolve_storage_url

    if url is None:
        return
    resolve_storage_url(url)


def check_run_inputs(*, seed: Any, workers: Any, budget: Any, name: Any, device: Any, executor: str,
                     ray_address: Any, storage: Any) -> None:
    """Every check above, in the order a user reads the flags."""
    check_seed(seed)
    check_workers(workers)
    check_budget_value(budget)
    if name is not None:
        check_name(name)
    check_device(device)
    check_executor(executor, ray_address)
    check_storage(storage)


def check_data_sizes(method: str, config: Any, split: dict[str, Any], train_images: int, data_name: str) -> None:
    """Every size the method will take from the data, checked against the data before anything is written: the
    run's hold-out, the method's own `val_size` (which replaces the run's) and `train_size` (which caps the training
    images of each candidate), and, for a method that trains on full batches only (`FULL_BATCHES`), one
    `batch_size`. A data set too small for them would otherwise fail every trial; here it is one line naming each
    size and the ``--set`` key that changes it."""
    val, small = int(split.get("val_size") or 0), int(split.get("small_val_size") or 0)
    if train_images - val - small < 1:
        raise UsageError(f"data {data_name!r} has {train_images} training images, too few for the run's hold-out "
                         f"(val_size={val} + small_val_size={small}); give it more images")
    run_train = split.get("train_size")
    own_val, own_train = getattr(config, "val_size", None), getattr(config, "train_size", None)
    if own_val is not None:
        val = int(own_val)
    available = train_images - val - small
    if run_train is not None and own_train is None:
        available = min(available, int(run_train))
    problems, fixes = [], []
    if available < 1:
        suggested = max(1, (train_images - small) // 5)
        problems.append(f"val_size={val} leaves none to train on")
        fixes.append(f"--set val_size={suggested}")
        available = train_images - small - suggested
    if own_train is not None and int(own_train) > available:
        problems.append(f"train_size={own_train} needs more than the {available} left after validation")
        fixes.append(f"--set train_size={available}")
        available = min(available, int(own_train))
    else:
        available = min(available, int(own_train)) if own_train is not None else available
    batch = getattr(config, "batch_size", None)
    if getattr(config, "FULL_BATCHES", False) and batch is not None and int(batch) > available:
        problems.append(f"batch_size={batch} is more than the {available} training images")
        fixes.append(f"--set batch_size={max(1, available)}")
    if problems:
        raise UsageError(f"{method}: data {data_name!r} has {train_images} training images ({small} held out for "
                         f"small validation): {'; '.join(problems)}; lower with {' '.join(fixes)}, or use more data")


__all__ = ["MAX_WORKERS", "check_budget_value", "check_data_sizes", "check_device", "check_executor", "check_name", "check_run_inputs",
           "check_seed", "check_storage", "check_workers"]
