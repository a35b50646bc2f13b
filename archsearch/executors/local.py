"""The in-process executor: tasks run one at a time, in submission order, when the driver waits for them."""

from __future__ import annotations

from typing import Any, Callable


class _Handle:
    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args


class LocalExecutor:
    """Runs a submitted task lazily, in `wait_any`: the oldest pending handle finishes first, so a search run
    locally is deterministic (with Ray the finishing order depends on the workers)."""

    workers = 1
    in_process = True  # tasks share the driver's process: their CPU time is the driver's own

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Handle:
        return _Handle(fn, args)

    def wait_any(self, handles: list[Any]) -> tuple[Any, Any]:
        if not handles:
            raise ValueError("wait_any needs at least one handle")
        handle = handles[0]
        return handle, _call(handle.fn, handle.args)

    def map(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]:
        return [fn(item) for item in items]

    def shutdown(self) -> None:
        pass


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    try:
        return fn(*args)
    except Exception as err:  # an evaluation that fails is a result (a failed trial); interrupts still propagate
        return err
