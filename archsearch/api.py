"""The Python API behind the CLI: ``archsearch.run("random", space="hierarchical", preset="quick")``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from archsearch.cost.latency import BUILD_REPEATS, BUILD_ROUNDS, BUILD_WARMUP, LatencyTable
from archsearch.errors import UsageError
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


def find_study(run: str | Path, runs_dir: str | Path | None = None) -> Path | None:
    """The study directory `run` names (a path, or a name under `runs_dir`); None when it names none (a run)."""
    from archsearch.experiment.checks import default_runs_dir

    for candidate in (Path(run), (Path(runs_dir) if runs_dir else default_runs_dir()) / run):
        if _is_study(candidate):
            return candidate
    return None


def build_latency_table(space: str = "mobilenet", *, space_options: Mapping[str, Any] | None = None,
                        preset: str | None = None, data: Any = None, data_dir: str | None = None,
                        runtime: str | None = None, device: str = "cpu", batch_size: int = 1,
                        warmup: int = BUILD_WARMUP, repeats: int = BUILD_REPEATS, rounds: int = BUILD_ROUNDS,
                        threads: int | None = None, **measuring: Any) -> tuple[Path, LatencyTable, bool]:
    """Measure every candidate op of `space` on this device (ProxylessNAS sec. 3.3), the space built as a run with
    `preset` on `data` builds it (`latency_space`), so that run finds the table. `runtime`: torch (default, or
    $ARCHSEARCH_LATENCY_RUNTIME) or onnxruntime. `measuring`: the rest of `cost.latency.build_table_file`'s options
    (path, default: the per-device cache; force, clock, on_start, warn). Returns (path, table, measured now)."""
    from archsearch.cost.latency import build_table_file, measurement_runtime
    from archsearch.experiment.options import latency_space

    if min(batch_size, repeats, rounds) < 1 or warmup < 0 or (threads is not None and threads < 1):
        raise UsageError("--batch-size, --repeats, --rounds and --threads must be >= 1 and --warmup >= 0")
    runtime = measurement_runtime(runtime, device)
    if runtime == "onnxruntime":
        from archsearch.cost import onnx_runtime

        onnx_runtime.require()
    search_space, options = latency_space(space, dict(space_options or {}), preset, data, data_dir)
    return build_table_file(search_space, device=device, runtime=runtime, meta={"space_options": options},
                            batch_size=batch_size, warmup=warmup, repeats=repeats, rounds=rounds, threads=threads,
                            **measuring)


def _with_report(document: dict[str, Any], runs_dir: str | Path | None) -> dict[str, Any]:
    from archsearch.experiment.checks import default_runs_dir

    write_study_report((Path(runs_dir) if runs_dir is not None else default_runs_dir()) / document["study"], document)
    return document


__all__ = ["build_latency_table", "compare", "find_study", "is_study", "resume", "resume_study", "run"]
