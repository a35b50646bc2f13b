"""The Python API behind the CLI: ``archsearch.run("random", space="hierarchical", preset="quick")``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from archsearch.experiment.run import resume as _resume
from archsearch.experiment.run import run as _run
from archsearch.experiment.study import compare as _compare
from archsearch.experiment.study import is_study as _is_study
from archsearch.experiment.study import resume_study as _resume_study
from archsearch.methods import SearchResult
from archsearch.report.study import write_study_report


def run(method: str, **options: Any) -> SearchResult:
    """Run a search to the end. Options: the fields of `archsearch.experiment.RunRequest` (space, preset, data,
    budget, constraints, seed, executor, workers, name, runs_dir, device, ...); any other keyword is a field of the
    method's config (``final_epochs``: the chosen arch's final training, 0 skips it; ``final_seeds``).

    The run ends with its chosen arch trained from scratch: ``result.final`` (test accuracy), result.json's
    ``final`` block. `archsearch.export.export_best(run_dir)` writes it as ``best/`` (as the CLI does)."""
    return _run(method, **options)


def resume(run_dir: str | Path, **overrides: Any) -> SearchResult:
    """Continue an interrupted run from its newest good checkpoint."""
    return _resume(run_dir, **overrides)


def compare(methods: Sequence[str] | str, **options: Any) -> dict[str, Any]:
    """A comparison study (`archsearch.experiment.study`): every method searches the same problem at the same search
    CPU-seconds; each chosen net and K random nets are retrained with one recipe and judged on the test set.
    Options: space, data, data_dir, image_size, preset, constraints, seeds, cpu_budget (one target or several),
    budgets, final_epochs, retrain_seeds, random_archs, train_images, reference_epochs, reference_archs, recipe,
    executor, workers, ray_address, device, name, runs_dir. Returns the compare.json document."""
    return _with_report(_compare(methods, **options), options.get("runs_dir"))


def resume_study(study_dir: str | Path, **options: Any) -> dict[str, Any]:
    """Continue a killed study, or extend it (`add_methods`, `cpu_budget`): finished searches and retrainings are
    not repeated."""
    document = _resume_study(study_dir, **options)
    write_study_report(Path(study_dir), document)
    return document


def is_study(directory: str | Path) -> bool:
    return _is_study(directory)


def _with_report(document: dict[str, Any], runs_dir: str | Path | None) -> dict[str, Any]:
    from archsearch.experiment.run import default_runs_dir

    write_study_report((Path(runs_dir) if runs_dir is not None else default_runs_dir()) / document["study"], document)
    return document


__all__ = ["compare", "is_study", "resume", "resume_study", "run"]
