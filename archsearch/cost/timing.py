"""How one op or one network is timed for a latency table: threads, clock, statistic, inputs and runtime.

How ops are timed, and why (all measured with benchmarks/latency_lut.py on this shared 2-core host):
* Threads: CPU measurements run with ONE torch thread unless asked otherwise (`threads=`, ``archsearch latency build
  --threads N``, ``$ARCHSEARCH_LATENCY_THREADS``): with 2 threads torch's intra-op pool turned tiny ops into
  scheduler waits (64-80 ms per op vs 0.26 ms with 1); the paper's latencies are batch-1 numbers of one phone core.
* Clock: with one CPU thread the work runs in the calling thread, so its CPU time (``time.thread_time``) is the
  op's cost without the time other processes held the core. Under load 6 on 2 cores, wall-clock medians
  under-predicted whole networks by 65%, thread-CPU-time trimmed means came within 3%. CPU time still grows when
  other processes share the caches (the same network read 3.1 ms and 4.8 ms at different moments here), so compare
  numbers measured at the same time. Elsewhere (GPU, several threads) the wall clock, synchronised. The per-sample
  cost of reading the clock is subtracted.
* Context: each sweep times every op once, in a fresh shuffled order, so each sample follows some other op as inside
  a network; timing one op in a hot loop under-predicted networks by 14-22%.
* Statistic: samples further than 5 MADs from their median are dropped (a preemption or page fault), then the mean
  of the middle 80%. A mean is additive (E[sum] = sum E), as the released code's table, which stores each op's mean
  latency.
* Runtime: ``torch`` (eager PyTorch, channels_last on CPU) or ``onnxruntime`` (each op and network exported to ONNX
  and run in a one-thread ONNX Runtime session, `archsearch.cost.onnx_runtime`): people deploy small nets through
  an inference runtime, which ranks ops differently from eager PyTorch. A one-thread session runs in the calling
  thread, so the CPU clock applies to it too.
`time_module` measures whole networks the same way (same threads, clock, statistic and runtime), so the two compare.

An op's input is a shape without the batch (one tensor), or an `OpInputs` (several arguments, or a list of tensors:
a user space's `InputChoice`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

import torch
import torch.nn as nn

from archsearch.errors import ConfigError, UsageError, unknown_name

DEFAULT_CPU_THREADS = 1  # measured: 2 threads on a busy 2-core host gave 64-80 ms per tiny op, 1 thread 0.26 ms
THREADS_ENV = "ARCHSEARCH_LATENCY_THREADS"
RUNTIME_ENV = "ARCHSEARCH_LATENCY_RUNTIME"
RUNTIMES = ("torch", "onnxruntime")
CLOCKS = ("cpu", "wall")
TRIM = 0.1  # fraction of samples dropped at each end before averaging
OUTLIER_MADS = 5.0  # samples further than this many (normal-scaled) MADs from the median are dropped first
STATISTIC = "mad5_trimmed_mean_10"
_TIMERS = {"cpu": time.thread_time, "wall": time.perf_counter}
_OVERHEAD: dict[str, float] = {}

Shape = tuple[int, ...]


@dataclass(frozen=True)
class OpInputs:
    """The input of an op called with several arguments: per argument a shape (a tensor) or a tuple of shapes (a
    list of tensors), each without the batch."""

    args: tuple[Union[Shape, tuple[Shape, ...]], ...]

    def to_json(self) -> list:
        return [list(a) if _is_shape(a) else [list(s) for s in a] for a in self.args]


InputSpec = Union[Shape, OpInputs]


def _is_shape(value: Sequence) -> bool:
    return all(isinstance(s, int) for s in value)


def input_spec(value: Any) -> InputSpec:
    """A shape as a tuple of ints, or an `OpInputs` as it is."""
    return value if isinstance(value, OpInputs) else tuple(int(s) for s in value)


def spec_json(spec: InputSpec) -> list:
    return spec.to_json() if isinstance(spec, OpInputs) else list(spec)


class _Args(tuple):
    """Several call arguments (``module(*args)``), as opposed to one tensor."""


def example_input(spec: InputSpec, batch_size: int, device: torch.device) -> torch.Tensor | _Args:
    """Random inputs of `spec` at `batch_size`, channels_last where 4-d on CPU (as the networks run)."""
    def tensor(shape: Shape) -> torch.Tensor:
        x = torch.randn(batch_size, *shape, device=device)
        return x.contiguous(memory_format=torch.channels_last) if device.type == "cpu" and x.dim() == 4 else x

    if not isinstance(spec, OpInputs):
        return tensor(spec)
    return _Args(tensor(a) if _is_shape(a) else [tensor(s) for s in a] for a in spec.args)


def call(module: Any, x: torch.Tensor | _Args) -> Any:
    return module(*x) if isinstance(x, _Args) else module(x)


def measurement_threads(device: torch.device | str = "cpu", threads: int | None = None) -> int:
    """The torch thread count a latency measurement on `device` uses: `threads` when given, else
    ``$ARCHSEARCH_LATENCY_THREADS``, else 1 on CPU (the host's current count for GPU timing, where it matters
    little)."""
    if threads is None:
        env = os.environ.get(THREADS_ENV, "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError:
                raise ConfigError(f"{THREADS_ENV}={env!r} must be a positive integer") from None
    if threads is None:
        return DEFAULT_CPU_THREADS if torch.device(device).type == "cpu" else torch.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"latency threads must be a positive integer, got {threads!r}")
    return threads


def measurement_runtime(runtime: str | None = None, device: torch.device | str = "cpu") -> str:
    """``"torch"`` (eager) or ``"onnxruntime"``: `runtime` when given, else ``$ARCHSEARCH_LATENCY_RUNTIME``, else
    torch. ONNX Runtime is timed on the CPU only."""
    if runtime is None:
        runtime = os.environ.get(RUNTIME_ENV, "").strip() or "torch"
    if runtime not in RUNTIMES:
        raise unknown_name("latency runtime", runtime, RUNTIMES)
    if runtime == "onnxruntime" and torch.device(device).type != "cpu":
        raise UsageError(f"latency runtime onnxruntime is timed on the CPU; got device {torch.device(device).type}")
    return runtime


def measurement_clock(device: torch.device | str = "cpu", threads: int | None = None,
                      clock: str | None = None) -> str:
    """``"cpu"`` (the calling thread's CPU time) for one-thread CPU measurements, else ``"wall"``; `clock` forces
    one (``"cpu"`` only where it is valid: CPU device, one thread)."""
    device = torch.device(device)
    threads = measurement_threads(device, threads)
    valid_cpu = device.type == "cpu" and threads == 1
    if clock is None:
        return "cpu" if valid_cpu else "wall"
    if clock not in CLOCKS:
        raise ConfigError(f"latency clock {clock!r} is not one of {', '.join(CLOCKS)}")
    if clock == "cpu" and not valid_cpu:
        raise ConfigError(f"latency clock 'cpu' needs device cpu and 1 thread (got {device.type}, {threads} threads); "
                          "use clock 'wall'")
    return clock


def summarize(samples: list[float]) -> float:
    """Outliers (beyond `OUTLIER_MADS` MADs of the median) dropped, then the mean of the middle 80% (module
    docstring: additive like a mean, robust like a median)."""
    if not samples:
        raise ConfigError("no latency samples to summarize")
    median = statistics.median(samples)
    bound = OUTLIER_MADS * 1.4826 * statistics.median(abs(x - median) for x in samples)
    ordered = sorted(x for x in samples if abs(x - median) <= bound)
    cut = int(len(ordered) * TRIM)
    kept = ordered[cut:len(ordered) - cut] or ordered
    return sum(kept) / len(kept)


def spread(samples: list[float]) -> float:
    """The samples' relative spread: normal-scaled MAD over the median (0 when the median is 0)."""
    median = statistics.median(samples)
    return 1.4826 * statistics.median(abs(x - median) for x in samples) / median if median > 0 else 0.0


def clock_overhead(clock: str) -> float:
    """Milliseconds one empty timed interval reads on `clock` (subtracted from every sample; cached)."""
    if clock not in _OVERHEAD:
        timer = _TIMERS[clock]
        gaps = []
        for _ in range(301):
            start = timer()
            gaps.append(timer() - start)
        _OVERHEAD[clock] = statistics.median(gaps) * 1e3
    return _OVERHEAD[clock]


def timer(clock: str):
    return _TIMERS[clock]


@contextmanager
def num_threads(threads: int):
    """Run the body with `threads` torch threads, restoring the caller's count afterwards."""
    previous = torch.get_num_threads()
    if threads != previous:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_fingerprint(device: torch.device | str = "cpu", batch_size: int = 1, threads: int | None = None,
                       clock: str | None = None, runtime: str | None = None) -> dict[str, object]:
    """What makes a measurement valid: the same processor, torch build, thread count (as `measurement_threads`
    resolves it), clock (`measurement_clock`), batch size and runtime (an ONNX Runtime table also records its
    version; a torch table names no runtime, as tables did before there was a choice)."""
    device = torch.device(device)
    runtime = measurement_runtime(runtime, device)
    if device.type == "cuda":
        processor = torch.cuda.get_device_name(device)
    else:
        processor = _cpu_model()
    fingerprint: dict[str, object] = {
        "device": device.type,
        "processor": processor,
        "torch": torch.__version__,
        "threads": measurement_threads(device, threads),
        "clock": measurement_clock(device, threads, clock),
        "batch_size": int(batch_size),
    }
    if runtime != "torch":
        from archsearch.cost import onnx_runtime

        fingerprint.update(runtime=runtime, onnxruntime=onnx_runtime.version(),
                           graph_optimization=onnx_runtime.OPTIMIZATION)
    return fingerprint


def runtime_of(fingerprint: Mapping[str, object]) -> str:
    """The runtime a table (or a fingerprint) was measured in."""
    return str(fingerprint.get("runtime") or "torch")


def fingerprint_id(fingerprint: Mapping[str, object]) -> str:
    blob = json.dumps(dict(fingerprint), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def time_module(
    module: nn.Module,
    input_shape: InputSpec,
    *,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    warmup: int = 10,
    repeats: int = 30,
    threads: int | None = None,
    clock: str | None = None,
    runtime: str | None = None,
) -> float:
    """Latency in milliseconds of one inference forward at ``(batch_size, *input_shape)``, measured as a table with
    the same `threads` / `clock` / `runtime` measures its ops (defaults: 1 thread and its CPU time on CPU, eager
    torch; see the module docstring)."""
    threads = measurement_threads(device, threads)
    clock = measurement_clock(device, threads, clock)
    runtime = measurement_runtime(runtime, device)
    with num_threads(threads):
        prepared = prepare(module, input_spec(input_shape), batch_size, torch.device(device), runtime=runtime,
                           threads=threads)
        return summarize(time_samples(module, (), device=device, warmup=warmup, repeats=repeats, clock=clock,
                                      prepared=prepared))


def prepare(module: nn.Module, input_shape: InputSpec, batch_size: int, device: torch.device, *,
            runtime: str = "torch", threads: int = 1) -> tuple[Any, torch.Tensor | _Args]:
    """(what to call, its input): the module in eval mode (channels_last on CPU for 4-d inputs), or, for
    ``onnxruntime``, a one-thread session of its ONNX export at this input."""
    x = example_input(input_spec(input_shape), batch_size, device)
    module = module.to(device).eval()
    if runtime == "onnxruntime":
        from archsearch.cost import onnx_runtime

        return onnx_runtime.Runner(module, x, threads=threads), x
    tensors = list(x) if isinstance(x, _Args) else [x]
    if device.type == "cpu" and any(isinstance(t, torch.Tensor) and t.dim() == 4 for t in tensors):
        module = module.to(memory_format=torch.channels_last)
    return module, x


def time_samples(module: nn.Module, input_shape: InputSpec, *, batch_size: int = 1,
                 device: torch.device | str = "cpu", warmup: int = 10, repeats: int = 30, clock: str = "wall",
                 prepared: tuple[Any, torch.Tensor | _Args] | None = None) -> list[float]:
    """Times (ms, on `clock`, its reading cost subtracted) of `repeats` inference forwards after `warmup` untimed
    ones (of `prepared`, else of `module` prepared for eager torch)."""
    device = torch.device(device)
    module, x = prepared if prepared is not None else prepare(module, input_shape, batch_size, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    clock_fn, overhead = _TIMERS[clock], clock_overhead(clock)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            call(module, x)
        sync()
        for _ in range(repeats):
            start = clock_fn()
            call(module, x)
            sync()
            times.append(max(0.0, (clock_fn() - start) * 1e3 - overhead))
    return times
