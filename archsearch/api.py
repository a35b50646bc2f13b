"""The Python API behind the CLI: ``archsearch.run("random", space="hierarchical", preset="quick")``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archsearch.experiment.run import resume as _resume
from archsearch.experiment.run import run as _run
from archsearch.methods import SearchResult


def run(method: str, **options: Any) -> SearchResult:
    """Run a search to the end. Options: space (name or {"name", "options"}), preset (paper | quick | smoke), data
    (a dataset name, the path of a .npz file or an image folder, or a `Dataset` such as `from_arrays` returns),
    data_dir, image_size (resize an image folder's images), budget, constraints (["flops<=300M"]), seed, executor
    (local | ray), workers, ray_address, storage (database URL), name, runs_dir, device; any other keyword is a
    field of the method's config."""
    return _run(method, **options)


def resume(run_dir: str | Path, **overrides: Any) -> SearchResult:
    """Continue an interrupted run from its newest good checkpoint."""
    return _resume(run_dir, **overrides)


__all__ = ["resume", "run"]
