"""Stop the local Ray instance of a driver that died without shutting it down.

A driver's ``ray.init()`` starts a Ray instance as its child processes. Killed with SIGKILL (or by the OOM killer),
the driver cannot stop them, and Ray's agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) outlive it.
`RayExecutor` starts this watcher next to a local instance: it follows the driver's process tree (``/proc``) while
the driver lives, and when the driver is gone it ends the processes of that tree still running (SIGTERM, then
SIGKILL). Linux only (elsewhere, or if the watcher itself is killed: ``ray stop`` ends every local Ray instance).

    python -m archsearch.executors._reaper DRIVER_PID
"""

from __future__ import annotations

import os
import signal
import sys
import time

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, None when it is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    return int(fields[1]), fields[19]


def _processes() -> dict[int, tuple[int, str]]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                table[int(entry)] = stat
    return table


def descendants(root: int, table: dict[int, tuple[int, str]] | None = None) -> dict[int, str]:
    """The processes below `root` in the process tree: pid -> start time (which tells a reused pid apart)."""
    table = _processes() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = {}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found[child] = table[child][1]
                stack.append(child)
    return found


def watch(driver: int) -> list[int]:
    """Follow `driver`'s tree until the driver is gone, then end what is left of it; returns the pids ended."""
    me = os.getpid()
    started = (_stat(driver) or (0, ""))[1]
    tracked: dict[int, str] = {}
    while (_stat(driver) or (0, None))[1] == started:
        tracked.update({pid: start for pid, start in descendants(driver).items() if pid != me})
        time.sleep(POLL_SECONDS)
    left = [pid for pid, start in tracked.items() if (_stat(pid) or (0, None))[1] == start]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and any((_stat(p) or (0, None))[1] == tracked[p] for p in left):
            time.sleep(0.1)
    return left


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the driver, which stops Ray itself
    watch(int(sys.argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
