"""One writer per run: ``run``, ``resume`` and anything else that writes a run directory hold its lock.

The lock is ``<run>/.lock``, locked with ``flock`` (released by the kernel when its process dies, however it dies)
and holding the owner's pid and host, so a second writer is refused with one line naming them. A lock file left by
a process that died is taken over, and the takeover is reported. Where the file system has no ``flock`` (some
network mounts), the pid/host text alone decides: a holder on this host whose pid is gone is stale; a holder on
another host is trusted.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from archsearch.errors import RunInUseError

LOCK_FILE = ".lock"

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: the pid/host text alone
    fcntl = None  # type: ignore[assignment]

_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def _owner(command: str) -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
            "since": _dt.datetime.now().isoformat(timespec="seconds")}


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host (a process of another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(run_dir: Path) -> dict[str, Any] | None:
    """The pid/host text of the run's lock file (None when there is none or it is unreadable). Read only: it never
    touches the lock itself, so a reader cannot make a starting writer fail."""
    try:
        holder = json.loads((Path(run_dir) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def holder_alive(holder: dict[str, Any] | None) -> bool | None:
    """True / False for a holder on this host; None when it is on another host (cannot tell from here)."""
    if not holder:
        return False
    if holder.get("host") != socket.gethostname():
        return None
    try:
        return pid_alive(int(holder.get("pid", 0)))
    except (TypeError, ValueError):
        return False


def _describe(name: str, holder: dict[str, Any] | None) -> str:
    if not holder:
        return f"run {name} is in use by another process (its lock file names no owner yet)"
    return f"run {name} is in use by pid {holder.get('pid')} on {holder.get('host')}"


class RunLock:
    """The lock of one run directory, held from `acquire` until `release` (or the process's end)."""

    def __init__(self, run_dir: Path, name: str | None = None, *, command: str = "run") -> None:
        self.run_dir = Path(run_dir)
        self.name = name or self.run_dir.name
        self.command = command
        self.path = self.run_dir / LOCK_FILE
        self.taken_over: dict[str, Any] | None = None  # the stale holder this lock replaced, if any
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "RunLock":
        """Take the lock or raise `RunInUseError` ("run X is in use by pid N on HOST"). The run directory must
        exist."""
        if self._fd is not None:
            return self
        for _ in range(20):  # a holder releasing (unlinking) between our open and flock: open the new file
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not self._flock(fd):
                    return self._acquire_by_text(fd)
                if not self._same_file(fd):
                    os.close(fd)
                    continue
            except BaseException:
                os.close(fd)
                raise
            previous = self._read(fd)
            if previous and previous.get("pid") is not None:
                self.taken_over = previous
            self._write(fd)
            self._fd = fd
            return self
        raise RunInUseError(_describe(self.name, read_holder(self.run_dir)))

    def release(self) -> None:
        """Remove the lock file, then drop the lock (in that order: a waiting opener sees the file gone and retries
        on a new one)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._same_file(fd):
                self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def __del__(self) -> None:  # an Experiment dropped without finishing (tests, notebooks) frees its run
        try:
            self.release()
        except Exception:
            pass

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- internals -------------------------------------------------------------------------------------------------
    def _flock(self, fd: int) -> bool:
        """True when locked; raises `RunInUseError` when another process holds it; False without flock support."""
        if fcntl is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            raise RunInUseError(_describe(self.name, self._holder_soon(fd))) from None
        except OSError as err:
            if err.errno in _NO_FLOCK:
                return False
            raise

    def _holder_soon(self, fd: int) -> dict[str, Any] | None:
        """The holder's text; a holder that has just locked writes it a moment later."""
        for _ in range(10):
            holder = self._read(fd)
            if holder:
                return holder
            time.sleep(0.05)
        return None

    def _acquire_by_text(self, fd: int) -> "RunLock":
        """No flock here: the pid/host text decides. A live holder (or one on another host) refuses."""
        holder = self._read(fd)
        if holder and holder.get("pid") is not None and holder_alive(holder) is not False \
                and holder.get("pid") != os.getpid():
            raise RunInUseError(_describe(self.name, holder))
        self.taken_over = holder if holder and holder.get("pid") is not None else None
        self._write(fd)
        self._fd = fd
        return self

    def _same_file(self, fd: int) -> bool:
        try:
            here, there = os.fstat(fd), os.stat(self.path)
        except FileNotFoundError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    @staticmethod
    def _read(fd: int) -> dict[str, Any] | None:
        try:
            data = os.pread(fd, 4096, 0)
            holder = json.loads(data.decode("utf-8")) if data.strip() else None
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def _write(self, fd: int) -> None:
        data = (json.dumps(_owner(self.command)) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)


__all__ = ["LOCK_FILE", "RunLock", "holder_alive", "pid_alive", "read_holder"]
