"""Checks of a run's settings, all made before anything is written: a bad seed, device, storage URL, worker count,
run name or runs directory, a value past any machine, data too small for the method's sizes, a space that does not
fit the data or cannot meet the constraints: each is a usage error (exit 2) that leaves no run directory behind."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path
from typing import Any

from archsearch.errors import ConstraintError, UsageError

MAX_SEED = 2**63 - 1  # torch.manual_seed and numpy's SeedSequence take any non-negative int64
MAX_WORKERS = 4096  # Ray's documented scale: clusters of thousands of CPUs; past that a typo, not a cluster
MAX_THREADS = 4096  # torch threads per task: past the cores of any machine a typo (1e12 overflows in torch)
MAX_BATCH = 2**20  # images per batch: past a million a typo (1e12 would fail in the first allocation)
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


def default_runs_dir() -> Path:
    """Where runs live when none is named: ``$ARCHSEARCH_RUNS``, else ``runs/`` here."""
    import os

    return Path(os.environ.get("ARCHSEARCH_RUNS", "runs"))


def check_runs_dir(path: str | Path) -> Path:
    """Where run directories go: a directory, or a path one can be made at (its nearest existing ancestor is a
    directory). A file (``/dev/null``, ``/etc/passwd``) is a usage error, not a failed ``mkdir`` deep in a run."""
    if isinstance(path, str) and not path.strip():  # Path("") would be the current directory
        raise UsageError("--runs-dir must not be empty (leave it out for ./runs)")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--runs-dir {str(path)!r} is not a directory")
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"--runs-dir {str(path)!r} cannot be made: {str(ancestor)!r} is not a directory")
    return path


def make_runs_dir(path: Path) -> None:
    """Create the runs directory (and its parents); the OS's refusal (``/proc/forbidden``, no permission) is a
    usage error naming it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create the runs directory {str(path)!r}: {err.strerror or err}") from None


def cost_extremes(search_space: Any, *, seconds: float = 2.0, seed: int = 0) -> dict[str, tuple[float, float]] | None:
    """The lowest and highest MACs and params found in `search_space`: a few random archs, then, from the cheapest
    and the dearest, coordinate moves (each choice to each of its values, a numeric one to its ends) while they
    lower (raise) the cost, within `seconds`. A search, not a proof: the true range may be a little wider. None
    when the space cannot be costed this way."""
    import time

    import numpy as np

    from archsearch.spaces import SearchSpace

    if not isinstance(search_space, SearchSpace):
        return None
    space = search_space.space
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + seconds

    def cost(arch: Any) -> tuple[float, float]:
        value = search_space.cost(arch)
        return float(value.macs), float(value.params)

    try:
        archs = [space.sample(rng) for _ in range(16)]
        costs = [cost(a) for a in archs]
    except Exception:  # a space that cannot be sampled or costed alone: the run's own checks decide
        return None
    extremes: dict[str, tuple[float, float]] = {}
    for metric, column in (("flops", 0), ("params", 1)):
        found = []
        for sign in (1.0, -1.0):  # 1: down to the lowest; -1: up to the highest
            start = min(range(len(archs)), key=lambda i: sign * costs[i][column])
            arch, best = archs[start], sign * costs[start][column]
            improved = True
            while improved and time.perf_counter() < deadline:
                improved = False
                for name, choice in space.choices.items():
                    values = getattr(choice, "values", None) or [choice.from_unit(0.0), choice.from_unit(1.0)]
                    for value in values:
                        try:
                            candidate = space.validate({**arch.to_dict(), name: value})
                            score = sign * cost(candidate)[column]
                        except Exception:
                            continue
                        if score < best:
                            arch, best, improved = candidate, score, True
            found.append(sign * best)
        extremes[metric] = (found[0], found[1])
    return extremes


def check_constraints_reachable(search_space: Any, constraints: Any) -> None:
    """Refuse, before anything is written, a FLOPs or params constraint no network of the space can meet: its bound
    lies beyond the space's cost range (`cost_extremes`) by more than a factor of 2, the margin for a range found by
    search (``flops>=5M`` on a space of 100K-MAC networks, ``params<=1e-9``). A bound just outside is left to the
    method, which reports an impossible constraint when it finds no network meeting it."""
    from archsearch.spaces import space_label

    bounds = [c for c in constraints if c.metric in ("flops", "macs", "params")]
    if not bounds:
        return
    extremes = cost_extremes(search_space)
    if extremes is None:
        return
    for c in bounds:
        low, high = extremes["params" if c.metric == "params" else "flops"]
        below = c.op in ("<=", "<") and c.bound < low / 2
        above = c.op in (">=", ">") and c.bound > 2 * high
        if below or above:
            unit = "params" if c.metric == "params" else "MACs"
            raise ConstraintError(f"constraint {c} cannot be met: the networks of space "
                                  f"{space_label(search_space)!r} have {low:,.0f} to {high:,.0f} {unit}")


def check_space_fits(search_space: Any, input_shape: Any, constraints: Any) -> None:
    """The space built for the run takes the data's images (a ``--space-option input_size=...`` that does not match
    would only fail at the final training) and can meet its constraints: a latency bound needs a space a latency
    table can be built for, and a FLOPs or params bound must be within reach (`check_constraints_reachable`)."""
    from archsearch.cost.latency import needs_latency
    from archsearch.cost.space_ops import space_ops
    from archsearch.spaces import LatencyCostedSpace, SearchSpace, space_label

    expected = search_space.input_shape if isinstance(search_space, SearchSpace) else None
    if expected is not None and tuple(int(s) for s in expected) != tuple(int(s) for s in input_shape):
        raise UsageError(f"the data's images have shape {tuple(input_shape)} but space "
                         f"{space_label(search_space)!r} was made for {tuple(expected)}; drop the "
                         "--space-option that sets its input (input_size, in_channels) or make it match")
    if needs_latency(constraints) and not isinstance(search_space, LatencyCostedSpace):
        space_ops(search_space)  # a space without per-op blocks: the one-line error a latency table would give
    check_constraints_reachable(search_space, constraints)


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


def check_method_values(method: str, config: Any, given: Any = None) -> None:
    """Values a method's config cannot check alone, read by their field names, for every method: thread counts
    and batch sizes (the recipe's too) past any machine (`MAX_THREADS`, `MAX_BATCH`) are typos that would fail
    in a worker, after the run folder exists. `given`: the options as the user gave them (a value the config
    then replaces, GreedyNAS's ``recipe.batch_size``, is still refused, not dropped in silence)."""
    import dataclasses

    def fields(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
        out = []
        if isinstance(obj, dict):
            items = list(obj.items())
        elif dataclasses.is_dataclass(obj):
            items = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
        else:
            items = []
        for name, value in items:
            if dataclasses.is_dataclass(value) or isinstance(value, dict):
                out += fields(value, f"{prefix}{name}.")
            else:
                out.append((f"{prefix}{name}", value))
        return out

    for name, value in fields(config) + fields(dict(given or {})):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        leaf = name.rsplit(".", 1)[-1]
        limit = MAX_THREADS if leaf.endswith("threads") else MAX_BATCH if leaf.endswith("batch_size") else None
        if limit is not None and value > limit:
            raise UsageError(f"{method}: {name}={value} is more than any machine takes (at most {limit:,}); "
                             f"set a smaller one with --set {name.split('.')[0]}=...")


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
    if own_train is not None:
        if int(own_train) > available:
            problems.append(f"train_size={own_train} needs more than the {available} left after validation")
            fixes.append(f"--set train_size={available}")
        available = min(available, int(own_train))
    batch = getattr(config, "batch_size", None)
    if getattr(config, "FULL_BATCHES", False) and batch is not None and int(batch) > available:
        problems.append(f"batch_size={batch} is more than the {available} training images")
        fixes.append(f"--set batch_size={max(1, available)}")
    if problems:
        raise UsageError(f"{method}: data {data_name!r} has {train_images} training images ({small} held out for "
                         f"small validation): {'; '.join(problems)}; lower with {' '.join(fixes)}, or use more data")


__all__ = ["MAX_BATCH", "MAX_THREADS", "MAX_WORKERS", "check_budget_value", "check_constraints_reachable",
           "check_data_sizes", "check_device", "check_executor", "check_method_values", "check_name",
           "check_run_inputs", "check_runs_dir", "check_seed", "check_space_fits", "check_storage", "check_workers",
           "cost_extremes", "make_runs_dir"]
