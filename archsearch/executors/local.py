"""The local executor: evaluations on this machine, in this process (one worker) or in worker processes (several).

Results come back in submission order whatever the worker count: `wait_any` hands back the oldest pending task
once it is done, so a search records its trials in the same order, proposes from the same results, and ends with
the same leaderboard and chosen architecture with one worker or eight (tests/integration/test_local_parallel.py). With one
worker, tasks run lazily in this process when the driver waits for them; with more, in `ProcessExecutor` workers,
one torch thread each.
"""

from __future__ import annotations

from typing import Any, Callable

from archsearch.executors.processes import ProcessExecutor, call_task, default_workers


class _Handle:
    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args


class LocalExecutor:
    """`workers` evaluations at once (None: one per core); see the module docstring."""

    def __init__(self, workers: int | None = 1) -> None:
        self.workers = int(workers or default_workers())
        self._pool = ProcessExecutor(self.workers) if self.workers > 1 else None

    @property
    def in_process(self) -> bool:
        """Whether tasks share the driver's process (their CPU time is then the driver's own)."""
        return self._pool is None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return _Handle(fn, args) if self._pool is None else self._pool.submit(fn, *args)

    def wait_any(self, handles: list[Any]) -> tuple[Any, Any]:
        if not handles:
            raise ValueError("wait_any needs at least one handle")
        handle = handles[0]  # the oldest: the order of results does not depend on the workers
        if self._pool is None:
            return handle, call_task(handle.fn, handle.args)
        return self._pool.wait_any([handle])

    def map(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]:
        if self._pool is None:
            return [fn(item) for item in items]
        return self._pool.map(fn, items)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


__all__ = ["LocalExecutor"]
