"""Latency lookup tables measured on the device at hand (ProxylessNAS sec. 3.3: "latency prediction model").

Every candidate op is timed at its input shape (warm-up, then the median of repeats); an arch's latency is the sum
of its ops' entries. A table is only valid on the device it was measured on, so it carries a fingerprint (CPU model
or GPU name, torch version, thread count, batch size) and refuses to load elsewhere unless forced.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import torch
import torch.nn as nn

from archsearch.errors import ConfigError, UsageError

CACHE_DIR = Path(os.environ.get("ARCHSEARCH_CACHE", Path.home() / ".cache" / "archsearch")) / "latency"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_fingerprint(device: torch.device | str = "cpu", batch_size: int = 1) -> dict[str, object]:
    """What makes a measurement valid: the same processor, torch build, thread count and batch size."""
    device = torch.device(device)
    if device.type == "cuda":
        processor = torch.cuda.get_device_name(device)
    else:
        processor = _cpu_model()
    return {
        "device": device.type,
        "processor": processor,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch_size": int(batch_size),
    }


def fingerprint_id(fingerprint: Mapping[str, object]) -> str:
    blob = json.dumps(dict(fingerprint), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def time_module(
    module: nn.Module,
    input_shape: tuple[int, ...],
    *,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    warmup: int = 10,
    repeats: int = 30,
) -> float:
    """Median wall time in milliseconds of one inference forward at ``(batch_size, *input_shape)``."""
    device = torch.device(device)
    module = module.to(device).eval()
    x = torch.randn(batch_size, *input_shape, device=device)
    if device.type == "cpu" and x.dim() == 4:
        module = module.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            module(x)
        sync()
        for _ in range(repeats):
            start = time.perf_counter()
            module(x)
            sync()
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


@dataclass
class LatencyTable:
    """op key -> milliseconds, with the fingerprint of the device that measured it."""

    fingerprint: dict[str, object]
    entries: dict[str, float] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        try:
            return self.entries[key]
        except KeyError:
            raise ConfigError(
                f"latency table has no entry {key!r}; it was built for another space or preset "
                "(rebuild with: archsearch latency build)"
            ) from None

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def total(self, keys: Iterable[str]) -> float:
        return sum(self[k] for k in keys)

    # -- persistence --------------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {"fingerprint": self.fingerprint, "meta": self.meta, "entries": self.entries}, indent=1, sort_keys=True
        )

    def save(self, path: str | Path) -> Path:
        """Atomic write (temp file + fsync + rename): a half-written table never replaces a good one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_json())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(
        cls, path: str | Path, *, expect: Mapping[str, object] | None = None, force: bool = False
    ) -> "LatencyTable":
        """Load a table; refuse it when `expect` (this device's fingerprint) differs, unless `force`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            table = cls(dict(data["fingerprint"]), {k: float(v) for k, v in data["entries"].items()},
                        dict(data.get("meta", {})))
        except FileNotFoundError:
            raise UsageError(f"no latency table at {path} (build one with: archsearch latency build)") from None
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise UsageError(f"latency table {path} is corrupt ({err}); rebuild it with: archsearch latency build") \
                from None
        if expect is not None and not force:
            diff = {k: (table.fingerprint.get(k), v) for k, v in expect.items() if table.fingerprint.get(k) != v}
            if diff:
                detail = ", ".join(f"{k}: table {a!r} vs here {b!r}" for k, (a, b) in diff.items())
                raise UsageError(
                    f"latency table {path} was measured on another device ({detail}); rebuild it here with "
                    "'archsearch latency build', or pass force=True / --force-latency-table to use it anyway"
                )
        return table


def measure_table(
    ops: Iterable[tuple[str, Callable[[], nn.Module], tuple[int, ...]]],
    *,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    warmup: int = 10,
    repeats: int = 30,
    on_op: Callable[[str, float], None] | None = None,
) -> LatencyTable:
    """Time every ``(key, make_module, input_shape)``; ops sharing a key are timed once."""
    fingerprint = device_fingerprint(device, batch_size)
    table = LatencyTable(fingerprint, meta={"warmup": warmup, "repeats": repeats, "statistic": "median",
                                            "unit": "ms", "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    for key, make_module, input_shape in ops:
        if key in table.entries:
            continue
        table.entries[key] = time_module(make_module(), input_shape, batch_size=batch_size, device=device,
                                         warmup=warmup, repeats=repeats)
        if on_op is not None:
            on_op(key, table.entries[key])
    return table


def default_table_path(space_name: str, space_tag: str, fingerprint: Mapping[str, object]) -> Path:
    return CACHE_DIR / f"{space_name}-{space_tag}-{fingerprint_id(fingerprint)}.json"
