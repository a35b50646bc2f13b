"""Helpers for tests (ours and users' own methods): a real `Experiment` over a temporary directory.

``ctx = make_context(tmp_path, method="random", space="hierarchical", space_options={"preset": "smoke"})`` gives a
full `RunContext` (SQLite ledger, checkpoints, metric files) on scikit-learn's `digits` by default;
`run_with_crash` kills a run after N checkpoints and resumes it, for resume-equals-uninterrupted tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archsearch.experiment.run import (Experiment, SimulatedCrash, resolve_settings, resume, run, start)
from archsearch.methods._base import SearchResult


def make_context(tmp_path: str | Path, *, method: str = "random", space: str | None = None,
                 space_options: dict[str, Any] | None = None, data: str = "digits", seed: int = 0,
                 constraints: tuple[str, ...] | list[str] = (), preset: str = "smoke", executor: str = "local",
                 name: str = "test", **options: Any) -> Experiment:
    space_arg: Any = {"name": space, "options": dict(space_options or {})} if space else None
    settings = resolve_settings(method, space=space_arg, data=data, seed=seed, constraints=list(constraints),
                                preset=preset, executor=executor, name=name, **options)
    return start(settings, Path(tmp_path), quiet=True)


def run_with_crash(method: str, crash_after_checkpoints: int, *, runs_dir: str | Path, name: str = "crashed",
                   **run_kwargs: Any) -> SearchResult:
    """Run `method`, crash it right after `crash_after_checkpoints` checkpoints, resume it to the end."""
    run_kwargs.setdefault("quiet", True)
    try:
        run(method, runs_dir=runs_dir, name=name, crash_after_checkpoints=crash_after_checkpoints, **run_kwargs)
    except SimulatedCrash:
        pass
    else:
        raise AssertionError(f"the run finished before its checkpoint {crash_after_checkpoints}: crash earlier")
    return resume(name, runs_dir=runs_dir, quiet=run_kwargs["quiet"])


__all__ = ["SimulatedCrash", "die_once", "make_context", "run_with_crash"]


def die_once(marker: str, fn: Any, *args: Any) -> Any:
    """Fault injection for executor tests: the first call (no `marker` file yet) kills the process it runs in, as
    an OOM kill or a lost node would; later calls run ``fn(*args)``. Importable by Ray workers."""
    import os

    if not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return fn(*args)
