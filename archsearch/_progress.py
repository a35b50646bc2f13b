"""The one progress bar of archsearch, below every layer: a run's bars (a method's ``ctx.progress``) and the CLI's
(`archsearch train`, `latency build`) are this class."""

from __future__ import annotations

import os
import sys
from typing import Any


def progress_enabled() -> bool:
    """False with ARCHSEARCH_PROGRESS=0 (tests, worker processes, logs)."""
    return os.environ.get("ARCHSEARCH_PROGRESS", "1") != "0"


class ProgressBar:
    """A progress bar on stderr, with ETA and a status at the end of its line; a no-op when not `enabled` (default:
    `progress_enabled`). ``with ProgressBar("train", epochs) as bar: bar.update(advance=1, status=...)``."""

    def __init__(self, description: str, total: int | None, *, status: str = "", enabled: bool | None = None) -> None:
        self.description, self.total, self.status = description, total, status
        self.enabled = progress_enabled() if enabled is None else enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            console = Console(file=sys.stderr, width=None if sys.stderr.isatty() else 160, soft_wrap=False)
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                      TextColumn("{task.fields[status]}"), console=console, refresh_per_second=2)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, status=self.status)
        return self

    def advance(self, n: float = 1) -> None:
        self.update(advance=n)

    def update(self, **fields: Any) -> None:
        """rich's `Progress.update` fields: ``completed``, ``advance``, ``status`` (the text at the end)."""
        if self._progress is not None:
            self._progress.update(self._task, **fields)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


__all__ = ["ProgressBar", "progress_enabled"]
