"""Where evaluations run: `local` (this machine: worker processes, one per core, or this process with one worker) or
`ray` (workers on a local or remote Ray cluster).

Both take picklable module-level functions and plain-value arguments (an `EvalTask`) and hand results back to
the driver, which alone writes the ledger. ``wait_any`` returns ``(handle, result)``, where a task that raised
returns the exception as its result: a failed evaluation is a failed trial, not a failed search.
"""

from __future__ import annotations

from archsearch.errors import unknown_name
from archsearch.executors.local import LocalExecutor

EXECUTORS = ("local", "ray")


def create_executor(name: str = "local", *, workers: int | None = None, address: str | None = None,
                    log=None):
    if name == "local":
        return LocalExecutor(workers)  # None: one worker per core
    if name == "ray":
        from archsearch.executors.ray import RayExecutor

        return RayExecutor(workers=workers, address=address, log=log)
    raise unknown_name("executor", name, EXECUTORS)


__all__ = ["EXECUTORS", "LocalExecutor", "create_executor"]
