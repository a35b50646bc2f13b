"""What a search cost: its wall time and CPU time, across sessions, without the final training.

CPU time is the driver process's own (every thread: with the in-process executor that includes the evaluations)
plus, with an executor whose tasks run elsewhere (Ray), the CPU seconds each task measured in its worker
(`EvalResult.cpu_seconds`). The clock lives in the checkpoints, so a resumed run adds its sessions up; work
redone after a resume is counted again, as it was done again. The clock stops when the search ends (the method
returns, or tells the context it has begun its final training), so the final training is never search cost.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping


class SearchClock:
    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        state = state or {}
        self._seconds = float(state.get("seconds", 0.0))
        self._cpu = float(state.get("cpu_seconds", 0.0))
        self.stopped = bool(state.get("stopped", False))
        self._wall_start, self._cpu_start, self._remote = time.perf_counter(), time.process_time(), 0.0

    def add_remote(self, cpu_seconds: float) -> None:
        """CPU seconds a task spent in another process (ignored once the clock has stopped)."""
        if not self.stopped:
            self._remote += float(cpu_seconds)

    @property
    def seconds(self) -> float:
        return self._seconds if self.stopped else self._seconds + time.perf_counter() - self._wall_start

    @property
    def cpu_seconds(self) -> float:
        if self.stopped:
            return self._cpu
        return self._cpu + time.process_time() - self._cpu_start + self._remote

    def stop(self) -> None:
        if not self.stopped:
            self._seconds, self._cpu, self.stopped = self.seconds, self.cpu_seconds, True

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (and `SearchClock(state)` continues from)."""
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "stopped": self.stopped}


class MeteredExecutor:
    """An executor whose results' worker CPU seconds go to a clock when its tasks run in other processes."""

    def __init__(self, inner: Any, on_cpu: Callable[[float], None]) -> None:
        self.inner, self._on_cpu = inner, on_cpu
        self.in_process = bool(getattr(inner, "in_process", False))

    @property
    def workers(self) -> int:
        return int(getattr(self.inner, "workers", 1))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.inner.submit(fn, *args)

    def wait_any(self, handles: list[Any]) -> tuple[Any, Any]:
        handle, result = self.inner.wait_any(handles)
        self._count(result)
        return handle, result

    def map(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]:
        results: list[Any] = list(self.inner.map(fn, items))
        for result in results:
            self._count(result)
        return results

    def shutdown(self) -> None:
        if hasattr(self.inner, "shutdown"):
            self.inner.shutdown()

    def _count(self, result: Any) -> None:
        cpu = getattr(result, "cpu_seconds", None)
        if not self.in_process and isinstance(cpu, (int, float)):
            self._on_cpu(float(cpu))


__all__ = ["MeteredExecutor", "SearchClock"]
