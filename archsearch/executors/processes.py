"""`ProcessExecutor`: tasks in worker processes on this machine, one per core, each with one torch thread.

Two cores run two trainings at once only when each keeps to its own core: every worker sets its torch threads to
`threads` (1 by default) before its first task. Workers are started with ``spawn`` (a forked torch process can
deadlock in its thread pools) and, on Linux, ask the kernel to kill them when the process that started them dies
(``PR_SET_PDEATHSIG``), so a SIGKILLed driver leaves no worker training on; they ignore Ctrl-C, which the driver
handles (its executor's shutdown ends them). Results come back in the order the tasks
finish: callers key them (a study's searches and retrainings), so the finishing order changes nothing they record.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def _start_worker(threads: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG: die with the driver
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it ends the workers
    os.environ["ARCHSEARCH_PROGRESS"] = "0"  # no progress bars from workers
    import torch

    torch.set_num_threads(threads)


def call_task(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except Exception as err:  # a task that fails is a result; interrupts propagate
        return err


class ProcessExecutor:
    """``submit(fn, *args)`` / ``wait_any(handles)`` / ``map`` over `workers` processes (see the module docstring)."""

    in_process = False

    def __init__(self, workers: int | None = None, *, threads: int = 1) -> None:
        self.workers = int(workers or default_workers())
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker, initargs=(threads,))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(call_task, fn, args)

    def wait_any(self, handles: list[Any]) -> tuple[Any, Any]:
        if not handles:
            raise ValueError("wait_any needs at least one handle")
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        handle = next(h for h in handles if h in done)  # the first in the caller's order among the finished
        error = handle.exception()
        return handle, error if error is not None else handle.result()

    def map(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]:
        """Results in order; a task that raised raises here (as in this process)."""
        return [future.result() for future in [self._pool.submit(fn, item) for item in items]]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["ProcessExecutor", "call_task", "default_workers"]
