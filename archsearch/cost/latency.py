"""Latency lookup tables measured on the device at hand (ProxylessNAS sec. 3.3: "latency prediction model").

Every candidate op is timed at its input shape; an arch's latency is the sum of its ops' entries. A table is only
valid on the device it was measured on, so it carries a fingerprint (CPU model or GPU name, torch version, thread
count, clock, batch size, and the runtime when it is not eager torch) and refuses to load elsewhere unless forced.
How an op is timed (threads, clock, statistic, runtime) is in `archsearch.cost.timing`, which ops a space has in
`archsearch.cost.space_ops`.

Any space that describes its ops has a table: the built-in spaces list their blocks, and a user's space
(`LayerChoice` / `InputChoice` in a model) is traced by forward hooks, each candidate at the input it sees in the
network (`archsearch.spaces.module_ops`).

Calibration: an op timed alone does not cost what it costs inside a network (per-call overhead, caches: on one
machine the table's sum was within 3% of whole networks, on another of the same kind 23% above them, with Pearson
r 0.83). So `build_table` also times whole networks of the space, every few op sweeps (same load,
same clock), fits ``measured = offset + scale * table sum`` on networks spread over the space's MACs (least squares
on relative error) and checks it on other, random networks: the held-out error is stored with the fit in the
table's meta and reported, and a warning says when it exceeds `NOISE_BOUND` or the samples' spread `SPREAD_BOUND`.
`predict_latency` and `LatencyTable.calibrate` apply the fit; tables without one predict the raw sum.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from archsearch._atomic import atomic_write_text
from archsearch.cost.space_ops import FIXED_PREFIX, op_key, space_ops, space_tag  # noqa: F401 - imported from here too
from archsearch.cost.timing import (  # noqa: F401 - the measurement settings are imported from here too
    CLOCKS, DEFAULT_CPU_THREADS, OUTLIER_MADS, RUNTIMES, STATISTIC, THREADS_ENV, TRIM, InputSpec, OpInputs, call,
    clock_overhead, device_fingerprint, fingerprint_id, input_spec, measurement_clock, measurement_runtime,
    measurement_threads, num_threads, prepare, runtime_of, spread, summarize, time_module, time_samples,
    timer)
from archsearch.errors import ConfigError, UsageError

_prepare, _time_samples = prepare, time_samples  # build_table's timing (a test counts its calls)
CACHE_DIR = Path(os.environ.get("ARCHSEARCH_CACHE", Path.home() / ".cache" / "archsearch")) / "latency"
CALIBRATION_FIT_ARCHS = 8  # whole networks that fit the calibration, spread over the space's MACs
CALIBRATION_HELDOUT_ARCHS = 6  # random networks that check it (held out of the fit)
CALIBRATION_EVERY = 5  # op sweeps between two timings of every calibration network (20 per network by default):
#   spread over the build, so a burst of load hits few of a network's samples (one hot-loop pass per round left
#   held-out networks 20% off at random on a busy host)
CALIBRATION_WARMUP, CALIBRATION_REPEATS = 1, 1  # per timing: one untimed forward, then the timed one, hot as
#                                                 `time_module` times a network
NOISE_BOUND = 0.10  # warn when the calibrated prediction misses held-out networks by more (median)
SPREAD_BOUND = 0.25  # ... or when single op samples spread more (median over ops of MAD / median; a host with
#                      6 busy processes on 2 cores gave 12-16%, whole networks' single samples 22-32%)


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

    @property
    def scale_offset(self) -> tuple[float, float]:
        """(scale, offset ms) of the calibration from the table's sum to a whole network (1, 0 without one)."""
        fit = self.meta.get("calibration")
        if not isinstance(fit, Mapping):
            return 1.0, 0.0
        return float(fit["scale"]), float(fit["offset_ms"])

    def calibrate(self, table_sum_ms: float) -> float:
        """A whole network's latency from the sum of its ops' entries (module docstring: calibration)."""
        scale, offset = self.scale_offset
        return offset + scale * table_sum_ms

    # -- persistence --------------------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {"fingerprint": self.fingerprint, "meta": self.meta, "entries": self.entries}, indent=1, sort_keys=True
        )

    @property
    def runtime(self) -> str:
        """What the table was measured in: ``torch`` (eager) or ``onnxruntime``."""
        return runtime_of(self.fingerprint)

    def save(self, path: str | Path) -> Path:
        """Atomic write (temp file + fsync + rename): a half-written table never replaces a good one."""
        path = Path(path)
        atomic_write_text(path, self.to_json())
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
            if runtime_of(table.fingerprint) != runtime_of(expect):  # a torch fingerprint names no runtime
                diff["runtime"] = (table.runtime, runtime_of(expect))
            if diff:
                detail = ", ".join(f"{k}: table {a!r} vs here {b!r}" for k, (a, b) in diff.items())
                raise UsageError(
                    f"latency table {path} was measured on another device ({detail}); rebuild it here with "
                    "'archsearch latency build' (--threads / --clock / --batch-size / --runtime to match), or pass "
                    "force=True / "
                    "--set force_latency_table=true to use it anyway"
                )
        return table


def measure_table(
    ops: Iterable[tuple[str, Callable[[], nn.Module], tuple[int, ...]]],
    *,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    warmup: int = 10,
    repeats: int = 30,
    rounds: int = 1,
    on_op: Callable[[str, float], None] | None = None,
    threads: int | None = None,
    interleave: bool = True,
    seed: int = 0,
    on_sweep: Callable[[int, int], None] | None = None,
    clock: str | None = None,
    after_sweep: Callable[[int, str], None] | None = None,
    runtime: str | None = None,
) -> LatencyTable:
    """Time every ``(key, make_module, input_shape)`` with `threads` torch threads (default: 1 on CPU, see
    `measurement_threads`) on `clock` (`measurement_clock`) in `runtime` (`measurement_runtime`); ops sharing a key
    are timed once; an op's input is a shape without the batch or an `OpInputs`. Each entry is the
    trimmed mean (`summarize`) of its ``rounds * repeats`` single-forward samples.

    ``interleave`` (default): every sweep times each op once, in a fresh shuffled order, so each sample runs right
    after some *other* op, as inside a network. Timing one op in a hot loop instead (``interleave=False``: caches,
    branch predictors and the allocator all primed for that op) under-predicted end-to-end latency of whole
    `mobilenet` quick networks by 14-22% on this CPU; interleaved sweeps came within ~5% (benchmarks/latency_lut.py).
    `warmup` untimed sweeps come first; `rounds` only groups the sweeps (one extra warm-up sweep per round).
    ``after_sweep(sweep_index, clock)`` runs after each timed sweep (each round without `interleave`), with the
    measurement's threads (build_table times whole networks there, under the same load as the ops). The meta's
    ``noise`` is the median over ops of their samples' `spread`."""
    if rounds < 1 or repeats < 1 or warmup < 0:
        raise ConfigError(f"measure_table: need rounds >= 1, repeats >= 1, warmup >= 0 (got {rounds}, {repeats}, "
                          f"{warmup})")
    device = torch.device(device)
    threads = measurement_threads(device, threads)
    clock = measurement_clock(device, threads, clock)
    runtime = measurement_runtime(runtime, device)
    fingerprint = device_fingerprint(device, batch_size, threads, clock, runtime)
    table = LatencyTable(fingerprint, meta={"runtime": runtime, "warmup": warmup, "repeats": repeats,
                                            "rounds": rounds, "interleaved": bool(interleave), "statistic": STATISTIC,
                                            "unit": "ms", "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    prepared: dict[str, tuple[Any, Any]] = {}
    samples: dict[str, list[float]] = {}
    frames: dict[str, list[str]] = {}  # ONNX Runtime: op key -> the keys of its frame's two sides
    with num_threads(threads):
        for key, make_module, input_shape in ops:
            if key not in prepared:
                module, spec = make_module(), input_spec(input_shape)
                if runtime == "onnxruntime":
                    module = _framed(module, spec, batch_size, device, frames.setdefault(key, []), prepared, samples,
                                     threads)
                prepared[key] = _prepare(module, spec, batch_size, device, runtime=runtime, threads=threads)
                samples[key] = []
        keys = list(prepared)
        if interleave:
            _interleaved_sweeps(prepared, keys, samples, device=device, warmup=warmup, repeats=repeats,
                                rounds=rounds, rng=np.random.default_rng(seed), on_sweep=on_sweep, clock=clock,
                                after_sweep=after_sweep)
        else:
            for round_index in range(rounds):
                for key in keys:
                    samples[key] += _time_samples(prepared[key][0], (), device=device, warmup=warmup,
                                                  repeats=repeats, prepared=prepared[key], clock=clock)
                if on_sweep is not None:
                    on_sweep(round_index + 1, rounds)
                if after_sweep is not None:
                    after_sweep(round_index, clock)
    frame_ms = {key: summarize(samples[key]) for key in keys if key.startswith(FRAME_PREFIX)}
    for key in keys:
        if key in frame_ms:
            continue
        table.entries[key] = summarize(samples[key])
        if frames.get(key):  # the op in its frame, less the frame's two sides (each half a frame alone)
            table.entries[key] = max(0.0, table.entries[key] - sum(frame_ms[f] for f in frames[key]) / 2)
        if on_op is not None:
            on_op(key, table.entries[key])
    if frame_ms:
        table.meta["onnxruntime_frames_ms"] = frame_ms
    table.meta["noise"] = statistics.median(spread(samples[key]) for key in keys) if keys else 0.0
    return table


FRAME_PREFIX = "frame:"


def _framed(module: nn.Module, spec: InputSpec, batch_size: int, device: torch.device, sides: list[str],
            prepared: dict[str, tuple[Any, Any]], samples: dict[str, list[float]], threads: int) -> nn.Module:
    """For ONNX Runtime: `module` between two 1x1 convolutions when it maps one 4-d tensor to another
    (`onnx_runtime.Framed`), each side's frame added to the sweeps once per shape (its key into `sides`)."""
    from archsearch.cost import onnx_runtime

    if isinstance(spec, OpInputs) or len(spec) != 3:
        return module
    result = onnx_runtime.framed(module, torch.randn(batch_size, *spec))
    if result is None:
        return module
    wrapped, shapes = result
    for shape in shapes:
        key = f"{FRAME_PREFIX}{'x'.join(map(str, shape))}"
        if key not in prepared:
            prepared[key] = _prepare(onnx_runtime.frame(shape), shape, batch_size, device, runtime="onnxruntime",
                                     threads=threads)
            samples[key] = []
        sides.append(key)
    return wrapped


def _interleaved_sweeps(prepared: Mapping[str, tuple[Any, Any]], keys: list[str],
                        samples: dict[str, list[float]], *, device: torch.device, warmup: int, repeats: int,
                        rounds: int, rng: np.random.Generator,
                        on_sweep: Callable[[int, int], None] | None, clock: str,
                        after_sweep: Callable[[int, str], None] | None = None) -> None:
    """`warmup` untimed sweeps, then `rounds` x `repeats` timed sweeps over all ops in shuffled orders
    (`after_sweep` after each)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    clock_fn, overhead = timer(clock), clock_overhead(clock)
    total = rounds * repeats
    with torch.inference_mode():
        for _ in range(warmup):
            for key in keys:
                module, x = prepared[key]
                call(module, x)
        sync()
        done = 0
        for _ in range(rounds):
            for key in keys:  # one untimed sweep per round: a pause between rounds leaves nothing cold
                module, x = prepared[key]
                call(module, x)
            for _ in range(repeats):
                for index in rng.permutation(len(keys)):
                    key = keys[int(index)]
                    module, x = prepared[key]
                    sync()
                    start = clock_fn()
                    call(module, x)
                    sync()
                    samples[key].append(max(0.0, (clock_fn() - start) * 1e3 - overhead))
                if after_sweep is not None:
                    after_sweep(done, clock)
                done += 1
                if on_sweep is not None:
                    on_sweep(done, total)


def default_table_path(space_name: str, space_tag: str, fingerprint: Mapping[str, object]) -> Path:
    return CACHE_DIR / f"{space_name}-{space_tag}-{fingerprint_id(fingerprint)}.json"


# -- arch latency, and a space whose cost carries latency ----------------------------------------------------------
def table_sum(table: LatencyTable, arch: Mapping[str, object]) -> float:
    """ProxylessNAS sec. 3.3: the sum of `arch`'s ops' table entries (fixed parts included), uncalibrated.

    Choices of `arch` that are not searchable blocks of the table (e.g. a joint recipe choice) add nothing."""
    fixed = sum(v for k, v in table.entries.items() if k.startswith(FIXED_PREFIX))
    blocks = {k.rsplit(":", 1)[0] for k in table.entries if not k.startswith(FIXED_PREFIX)}
    return fixed + sum(table[op_key(name, value)] for name, value in arch.items() if name in blocks)


def predict_latency(table: LatencyTable, arch: Mapping[str, object]) -> float:
    """An arch's latency: its `table_sum`, through the table's calibration when it has one."""
    return table.calibrate(table_sum(table, arch))


def fit_calibration(table_sums: Sequence[float], measured: Sequence[float]) -> tuple[float, float]:
    """(scale, offset ms) of ``measured = offset + scale * table sum``, by least squares on the relative error. A
    scale alone (the median ratio) when the sums do not vary, or the fit's scale is not positive, or it would predict
    no time for the smallest network. A network whose ops all timed at zero (ops cheaper than the timer's noise, on a
    busy machine) has a zero sum: the scale comes from the others and the offset carries its time."""
    sums, times = np.asarray(table_sums, dtype=float), np.asarray(measured, dtype=float)
    if len(sums) == 0 or np.any(sums < 0) or np.any(times <= 0):
        raise ConfigError("latency calibration needs non-negative table sums and positive measured latencies")
    if len(sums) >= 2 and np.ptp(sums) > 1e-6 * sums.max():
        weight = 1.0 / times
        (offset, scale), *_ = np.linalg.lstsq(np.stack([weight, weight * sums], 1), weight * times, rcond=None)
        if scale > 0 and offset + scale * sums.min() > 0:
            return float(scale), float(offset)
    timed = sums > 0
    if timed.all():
        return float(np.median(times / sums)), 0.0
    scale = float(np.median(times[timed] / sums[timed])) if timed.any() else 1.0
    return scale, float(max(np.median(times - scale * sums), 0.0))


def calibrate_table(table: LatencyTable, fit: Sequence[tuple[Mapping[str, object], float]],
                    heldout: Sequence[tuple[Mapping[str, object], float]] = ()) -> dict[str, object]:
    """Fit the table's calibration on `fit` ((arch, measured ms) pairs), check it on `heldout`, and store both in
    ``table.meta["calibration"]`` (scale, offset, and per network: arch key, table sum, measured, predicted)."""
    def rows(pairs: Sequence[tuple[Mapping[str, object], float]]) -> list[dict[str, object]]:
        return [{"arch": _arch_key(arch), "table_sum_ms": table_sum(table, arch), "measured_ms": float(measured)}
                for arch, measured in pairs]

    fit_rows, heldout_rows = rows(fit), rows(heldout)
    scale, offset = fit_calibration([r["table_sum_ms"] for r in fit_rows], [r["measured_ms"] for r in fit_rows])
    for row in fit_rows + heldout_rows:
        row["predicted_ms"] = offset + scale * row["table_sum_ms"]
    calibration: dict[str, object] = {"scale": scale, "offset_ms": offset, "form": "offset + scale * table sum",
                                      "fit": fit_rows, "heldout": heldout_rows}
    if heldout_rows:
        calibration["heldout_median_error"] = statistics.median(
            abs(r["predicted_ms"] - r["measured_ms"]) / r["measured_ms"] for r in heldout_rows)
        calibration["heldout_median_error_raw"] = statistics.median(
            abs(r["table_sum_ms"] - r["measured_ms"]) / r["measured_ms"] for r in heldout_rows)
    table.meta["calibration"] = calibration
    return calibration


def _arch_key(arch: Mapping[str, object]) -> str:
    key = getattr(arch, "key", None)
    return key if isinstance(key, str) else json.dumps({k: str(v) for k, v in arch.items()}, sort_keys=True)


def noise_warnings(table: LatencyTable) -> list[str]:
    """Why the table's numbers may be off: a held-out calibration error above `NOISE_BOUND`, or a per-op sample
    spread above `SPREAD_BOUND` (another process competing for the core or its caches, or a throttling CPU)."""
    out = []
    calibration = table.meta.get("calibration")
    error = calibration.get("heldout_median_error") if isinstance(calibration, Mapping) else None
    if error is not None and error > NOISE_BOUND:
        out.append(f"latency table: whole networks differ from the calibrated prediction by {error:.0%} (median over "
                   f"{len(calibration['heldout'])} held-out networks; bound {NOISE_BOUND:.0%})")
    noise = table.meta.get("noise")
    if isinstance(noise, (int, float)) and noise > SPREAD_BOUND:
        out.append(f"latency table: the ops' timings spread by {noise:.0%} (median MAD / median; bound "
                   f"{SPREAD_BOUND:.0%})")
    if out:
        out.append("latency table: the machine was probably busy; rebuild it when it is quieter "
                   "(archsearch latency build --force)")
    return out


class LatencyNoiseWarning(UserWarning):
    """A latency table measured with more noise than `NOISE_BOUND` (see `noise_warnings`)."""


def table_path(search_space: object, *, device: torch.device | str = "cpu", batch_size: int = 1,
               threads: int | None = None, clock: str | None = None, runtime: str | None = None) -> Path:
    """Where this device's table for this space (at this batch size, thread count, clock, runtime) lives in the
    cache."""
    return default_table_path(str(getattr(search_space, "name", "space")), space_tag(search_space),
                              device_fingerprint(device, batch_size, threads, clock, runtime))


BUILD_WARMUP, BUILD_REPEATS, BUILD_ROUNDS = 5, 20, 5  # 100 single-forward samples per op over 100 shuffled sweeps:
#   on a shared host a burst of load spreads over all ops instead of skewing a few (measured: one hot-loop pass of
#   30 had same-shape ops 2x apart; 100 interleaved samples predicted whole networks within ~5%)


def calibration_archs(search_space: object, fit: int = CALIBRATION_FIT_ARCHS,
                      heldout: int = CALIBRATION_HELDOUT_ARCHS, seed: int = 0) -> tuple[list, list]:
    """Archs whose whole networks calibrate a table: `fit` spread evenly over the MACs of 20 x `fit` random draws
    (small and large networks, so scale and offset separate), and `heldout` other random draws (as a search meets
    them). Empty when the space cannot sample and build networks."""
    space = getattr(search_space, "space", None)
    if fit < 1 or not hasattr(search_space, "build") or not hasattr(space, "sample"):
        return [], []
    rng = np.random.default_rng(seed)
    pool = {}
    for _ in range(20 * fit):
        arch = space.sample(rng)
        pool.setdefault(_arch_key(arch), arch)
    ordered = list(pool.values())
    cost = getattr(search_space, "cost", None)
    if callable(cost):
        ordered.sort(key=lambda a: float(cost(a).macs))
    picks = sorted({round(i * (len(ordered) - 1) / max(1, fit - 1)) for i in range(fit)})
    fit_archs = [ordered[i] for i in picks]
    taken = {_arch_key(a) for a in fit_archs}
    heldout_archs = []
    for _ in range(50 * max(1, heldout)):
        if len(heldout_archs) >= heldout:
            break
        arch = space.sample(rng)
        if _arch_key(arch) not in taken:
            taken.add(_arch_key(arch))
            heldout_archs.append(arch)
    return fit_archs, heldout_archs


def build_table(search_space: object, *, batch_size: int = 1, device: torch.device | str = "cpu",
                warmup: int = BUILD_WARMUP, repeats: int = BUILD_REPEATS, rounds: int = BUILD_ROUNDS,
                on_op: Callable[[str, float], None] | None = None, threads: int | None = None,
                on_sweep: Callable[[int, int], None] | None = None, clock: str | None = None,
                calibration: int = CALIBRATION_FIT_ARCHS, heldout: int | Sequence = CALIBRATION_HELDOUT_ARCHS,
                warn: Callable[[str], None] | None = None, runtime: str | None = None) -> LatencyTable:
    """Measure every op of `search_space` on `device` in `runtime` (see `space_ops`, `measure_table`) and calibrate
    the table on whole networks, timed in the same runtime
    (module docstring): `calibration` fit archs, `heldout` checking archs (a count, or the archs themselves). Every
    `CALIBRATION_EVERY` op sweeps, every network is timed (a warm-up forward, then a timed one), in a new order, so
    ops and networks share the load. Warnings (`noise_warnings`) go to `warn`, else `warnings.warn`. The meta
    names the space."""
    fit_archs, heldout_archs = calibration_archs(search_space, calibration,
                                                 heldout if isinstance(heldout, int) else 0)
    if not isinstance(heldout, int):
        heldout_archs = list(heldout)
    archs = fit_archs + heldout_archs
    device = torch.device(device)
    runtime = measurement_runtime(runtime, device)
    ops = space_ops(search_space)
    shape = tuple(int(s) for s in getattr(search_space, "input_shape", ()))
    with num_threads(measurement_threads(device, threads)):
        networks = [_prepare(search_space.build(arch), shape, batch_size, device, runtime=runtime,
                             threads=measurement_threads(device, threads)) for arch in archs]
    samples: list[list[float]] = [[] for _ in archs]
    order = np.random.default_rng(1)

    def time_networks(sweep_index: int, clock: str) -> None:
        if (sweep_index + 1) % CALIBRATION_EVERY and sweep_index + 1 != rounds * repeats:
            return
        for i in order.permutation(len(networks)):
            samples[i] += _time_samples(networks[i][0], (), device=device, warmup=CALIBRATION_WARMUP,
                                        repeats=CALIBRATION_REPEATS, prepared=networks[i], clock=clock)

    table = measure_table(ops, batch_size=batch_size, device=device, warmup=warmup, repeats=repeats, rounds=rounds,
                          on_op=on_op, threads=threads, on_sweep=on_sweep, clock=clock,
                          after_sweep=time_networks if networks else None, runtime=runtime)
    table.meta.update(space=str(getattr(search_space, "name", "space")), space_tag=space_tag(search_space))
    table.meta["calibration"] = None  # none possible: the space cannot build whole networks
    if fit_archs:
        measured = [summarize(x) for x in samples]
        calibrate_table(table, list(zip(fit_archs, measured)), list(zip(heldout_archs, measured[len(fit_archs):])))
    for message in noise_warnings(table):
        if warn is not None:
            warn(message)
        else:
            warnings.warn(message, LatencyNoiseWarning, stacklevel=2)
    return table


def build_table_file(search_space: object, *, path: str | Path | None = None, force: bool = False,
                     device: torch.device | str = "cpu", batch_size: int = 1, warmup: int = BUILD_WARMUP,
                     repeats: int = BUILD_REPEATS, rounds: int = BUILD_ROUNDS, threads: int | None = None,
                     clock: str | None = None, meta: Mapping[str, object] | None = None,
                     on_start: Callable[[int, Mapping[str, object]], Callable[[int, int], None] | None] | None = None,
                     warn: Callable[[str], None] | None = None,
                     runtime: str | None = None) -> tuple[Path, LatencyTable, bool]:
    """What ``archsearch latency build`` does: measure this device's table for `search_space` (`build_table`) into
    `path` (default: the per-device cache, where methods with a latency objective or a ``latency<=`` constraint
    find it), with `meta` (the space's options) in its meta. A table already there is loaded and kept unless
    `force`. Returns (path, table, measured now). `on_start(op count, device fingerprint)` hears that measuring
    begins and may return the `on_sweep(done, total)` callback of `build_table` (a progress bar); `warn` hears
    `noise_warnings`."""
    ops = space_ops(search_space)  # a clear error for spaces without per-op blocks
    fingerprint = device_fingerprint(device, batch_size, threads, clock, runtime)
    path = Path(path) if path else table_path(search_space, device=device, batch_size=batch_size, threads=threads,
                                              clock=clock, runtime=runtime)
    if path.exists() and not force:
        return path, LatencyTable.load(path, expect=fingerprint), False
    on_sweep = on_start(len({key for key, _, _ in ops}), fingerprint) if on_start is not None else None
    table = build_table(search_space, batch_size=batch_size, device=device, warmup=warmup, repeats=repeats,
                        rounds=rounds, on_sweep=on_sweep, threads=threads, clock=clock, warn=warn, runtime=runtime)
    table.meta.update(meta or {})
    table.save(path)
    return path, table, True


def ensure_table(search_space: object, *, path: str | Path | None = None, device: torch.device | str = "cpu",
                 batch_size: int = 1, force: bool = False, build_if_missing: bool = True,
                 log: Callable[[str], None] | None = None, threads: int | None = None,
                 clock: str | None = None, runtime: str | None = None,
                 progress: Callable[[int], ContextManager[Callable[[int, int], None] | None]] | None = None,
                 build_command: str = "archsearch latency build") -> LatencyTable:
    """This device's table for `search_space`: loaded from `path` (default: the user cache), refused if it was
    measured on another device, thread count or runtime unless `force`; measured and cached first when missing and
    `build_if_missing` (`progress(total sweeps)` may give a bar for it), else a one-line error naming
    `build_command`, the command that builds it."""
    expect = device_fingerprint(device, batch_size, threads, clock, runtime)
    path = Path(path) if path is not None else table_path(search_space, device=device, batch_size=batch_size,
                                                          threads=threads, clock=clock, runtime=runtime)
    if not path.exists() and not build_if_missing:
        raise UsageError(f"no latency table for space {getattr(search_space, 'name', '?')!r} on this device at "
                         f"{path}; build it with: {build_command}")
    if not path.exists():
        if log is not None:
            log(f"measuring a latency table for space {getattr(search_space, 'name', '?')!r} on this device "
                f"({expect['threads']} thread(s), {runtime_of(expect)}) -> {path}; to build it ahead of a run: "
                f"{build_command}")
        with progress(BUILD_ROUNDS * BUILD_REPEATS) if progress is not None else nullcontext() as on_sweep:
            table = build_table(search_space, batch_size=batch_size, device=device, threads=threads, clock=clock,
                                warn=log, runtime=runtime, on_sweep=on_sweep, warmup=BUILD_WARMUP,
                                repeats=BUILD_REPEATS, rounds=BUILD_ROUNDS)
        table.save(path)
    table = LatencyTable.load(path, expect=expect, force=force)
    if "calibration" not in table.meta and log is not None:
        log(f"latency table {path} has no whole-network calibration (built by an older archsearch); its sums may be "
            "off by a constant factor on this machine: rebuild it with: archsearch latency build --force")
    missing = [key for key, _, _ in space_ops(search_space) if key not in table]
    if missing:
        raise UsageError(f"latency table {path} lacks {len(missing)} op(s) of this space (e.g. {missing[0]!r}); "
                         "rebuild it with: archsearch latency build")
    return table


def table_timing(table: LatencyTable) -> dict[str, object]:
    """How `table` was measured, as `time_module` takes it (threads, clock, runtime, batch size): a network timed
    this way compares with the table's prediction."""
    fingerprint = table.fingerprint
    return {"threads": int(fingerprint.get("threads", DEFAULT_CPU_THREADS)),
            "clock": str(fingerprint.get("clock", "wall")), "runtime": table.runtime,
            "batch_size": int(fingerprint.get("batch_size", 1))}


def measure_network(search_space: object, arch: Mapping[str, object], table: LatencyTable, *,
                    device: torch.device | str = "cpu", rounds: int = 3) -> float:
    """`arch`'s standalone network timed end to end as `table` was measured: the median of `rounds` timings of 15
    forwards each, so a burst of load on a shared host lands in one of them."""
    net = search_space.build(arch)
    shape = tuple(int(s) for s in search_space.input_shape)
    samples = [time_module(net, shape, device=device, warmup=5, repeats=15, **table_timing(table))
               for _ in range(rounds)]
    return float(sorted(samples)[len(samples) // 2])


class LatencyCostSpace:
    """A `SearchSpace` whose `cost(arch)` also carries ``latency_ms`` predicted from a lookup table, so
    ``latency<=5ms`` constraints work for every method. Everything else is delegated to the wrapped space."""

    # the members of the space protocols (archsearch.spaces: SearchSpace, WeightSharingSpace, MotifSpace, ...):
    # copied onto the wrapper when the wrapped space has them, because isinstance() on a protocol reads attributes
    # statically from Python 3.12 on and would not see them through __getattr__
    PROTOCOL_MEMBERS = ("name", "space", "input_shape", "num_classes", "build", "supernet", "inherit", "hierarchy",
                        "default_arch", "recipe_of", "architecture", "recipes")

    def __init__(self, search_space: object, table: LatencyTable) -> None:
        self._inner = search_space
        self.latency_table = table
        for member in self.PROTOCOL_MEMBERS:
            if hasattr(search_space, member):
                setattr(self, member, getattr(search_space, member))

    def cost(self, arch: Mapping[str, object]):
        from dataclasses import replace

        return replace(self._inner.cost(arch), latency_ms=predict_latency(self.latency_table, arch))

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"LatencyCostSpace({self._inner!r})"


def with_latency(search_space: object, table: LatencyTable | None = None, **ensure_options: object) -> object:
    """Wrap `search_space` so its costs include LUT latency (the table is loaded or built when not given)."""
    if isinstance(search_space, LatencyCostSpace):
        search_space = search_space._inner
    if table is None:
        table = ensure_table(search_space, **ensure_options)  # type: ignore[arg-type]
    return LatencyCostSpace(search_space, table)


def needs_latency(constraints: Iterable[object]) -> bool:
    """True when any constraint bounds latency (the experiment then wraps its space `with_latency`)."""
    return any(getattr(c, "metric", None) == "latency" for c in constraints)
