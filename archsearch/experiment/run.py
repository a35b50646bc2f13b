"""Starting and resuming runs: `run()` checks every input, creates the run directory and its config.yaml, and
executes the `Experiment` to its end; `resume()` continues one from its newest good checkpoint, so a run killed at
any point and resumed ends as an uninterrupted one would (local executor; with Ray the finishing order of parallel
evaluations may differ).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import yaml

from archsearch._json import json_value
from archsearch.errors import ConfigError, DamagedRunError, UsageError
from archsearch._atomic import atomic_write_text
from archsearch.experiment.checkpoint import CheckpointStore
from archsearch.experiment.checks import default_runs_dir
from archsearch.experiment.experiment import FAILED_FILE, RESULT_FILE, Experiment
from archsearch.experiment.lock import RunLock
from archsearch.experiment.settings import (CONFIG_FILE, RunRequest, RunSettings, _check_overrides, read_settings,
                                            resolve_settings)
from archsearch.methods import SearchResult
from archsearch.train import distributed

DATA_FILE = "data.npz"  # an in-memory dataset, saved into the run directory


# -- starting and resuming ----------------------------------------------------------------------------------------------
def start(settings: RunSettings, runs_dir: str | Path | None = None, **experiment_kwargs: Any) -> Experiment:
    """Create the run directory (refusing to overwrite a run) and its config.yaml."""
    from archsearch.experiment.checks import check_runs_dir, make_runs_dir

    root = check_runs_dir(runs_dir if runs_dir is not None else default_runs_dir())
    run_dir = root / settings.name
    if not distributed.is_main():
        distributed.barrier()  # rank 0 creates the run directory and its config
        return Experiment(_data_saved(settings, run_dir, write=False), run_dir, **experiment_kwargs)
    if (run_dir / CONFIG_FILE).exists():
        _refuse_existing(settings.name, root, run_dir)
    root_created = not root.is_dir()
    make_runs_dir(root)
    try:
        run_dir.mkdir()
        created = True
    except FileExistsError:
        created = False
    before = set(os.listdir(run_dir))
    lock = RunLock(run_dir, settings.name, command="run")
    lock.acquire()  # a second `run --name X` started at the same moment stops here (and leaves the dir alone)
    try:
        if (run_dir / CONFIG_FILE).exists():  # written by a run that held the lock a moment ago
            _refuse_existing(settings.name, root, run_dir)
        settings = _data_saved(settings, run_dir, write=True)
        experiment = Experiment(settings, run_dir, lock=lock, **experiment_kwargs)
        source = "" if settings.data_source in (None, settings.data) else f": {settings.data_source}"
        experiment.log(f"data: {settings.data}{source}")  # a file is its own source: named once
        if experiment.constraints:  # as read: `flops <= 5 M` is flops<=5M, `latency<=5s` latency<=5000ms
            experiment.log(f"constraints: {', '.join(map(str, experiment.constraints))}")
        experiment.prepare()
        document = settings.stored()
        document["space_options"] = settings.space["options"]
        document["method_config"] = json_value(dataclasses.asdict(experiment.config))
        document["accuracy"] = experiment.accuracy  # what the search's accuracies are (reports name them)
        document["created"] = _dt.datetime.now().isoformat(timespec="seconds")
        document["study_name"] = settings.name
        atomic_write_text(run_dir / CONFIG_FILE, yaml.safe_dump(document, sort_keys=False))
    except BaseException:  # no half-created run: what this call made goes (a failing ledger URL, a bad space)
        lock.release()
        if not (run_dir / CONFIG_FILE).exists():
            _remove_new_entries(run_dir, before, remove_dir=created)
            if root_created:
                with contextlib.suppress(OSError):
                    root.rmdir()
        raise
    distributed.barrier()
    return experiment


def _refuse_existing(name: str, root: Path, run_dir: Path) -> None:
    finished = (run_dir / RESULT_FILE).exists()
    raise UsageError(f"run {name!r} already exists in {root} ({'finished' if finished else 'unfinished'}"
                     f"); {'see it with: archsearch show ' if finished else 'continue it with: archsearch resume '}"
                     f"{name}, or pick another --name")


def _remove_new_entries(run_dir: Path, before: set[str], *, remove_dir: bool) -> None:
    """Undo a start that failed: the entries it added to `run_dir` (and the directory, when it made it)."""
    import shutil

    for entry in set(os.listdir(run_dir)) - before if run_dir.is_dir() else ():
        path = run_dir / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if remove_dir:
        with contextlib.suppress(OSError):
            run_dir.rmdir()


def _data_saved(settings: RunSettings, run_dir: Path, *, write: bool) -> RunSettings:
    """`settings` with an in-memory `Dataset` replaced by its copy in the run directory (written when `write`):
    resume and worker processes load it from there."""
    from archsearch.data.datasets import Dataset
    from archsearch.data.files import save_dataset
    from archsearch.train.task import install_dataset

    dataset = settings.data
    if not isinstance(dataset, Dataset):
        return settings
    path = (run_dir / DATA_FILE).resolve()
    if write:
        save_dataset(dataset, path)
    install_dataset((str(path), settings.data_dir, None), lambda: dataset)
    return dataclasses.replace(settings, data=str(path), data_source=f"{settings.data_source}, saved as {path}")


def _check_data(settings: RunSettings, run_dir: Path) -> RunSettings:
    """Refuse to resume on data other than the run's (content hash); follow a moved run directory's data.npz."""
    from archsearch.data.files import dataset_hash
    from archsearch.train.task import cached_dataset, forget_dataset

    recorded = Path(str(settings.data))
    if recorded.name == DATA_FILE and recorded.parent.name == run_dir.name and not recorded.exists():
        settings = dataclasses.replace(settings, data=str((run_dir / DATA_FILE).resolve()))
    if settings.data_sha256 is None:  # a run from before content hashes were recorded
        return settings
    key = (settings.data, settings.data_dir, settings.image_size)
    forget_dataset(key)  # read it again: a copy cached earlier in this process may predate a change
    dataset = cached_dataset(*key)
    digest = dataset_hash(dataset)
    if digest != settings.data_sha256:
        raise UsageError(f"the data of run {settings.name!r} changed since it started: {settings.data} "
                         f"({dataset.source or 'arrays'}) now has content sha256 {digest[:16]}..., the run started "
                         f"on {settings.data_sha256[:16]}...; restore that data to resume, or start a new run")
    return settings


def run(method: str | RunRequest, *, quiet: bool | None = None, **options: Any) -> SearchResult:
    """Start a run and execute it to the end: a `RunRequest`, or a method name with the request's fields and the
    method's config fields as keywords (`RunRequest.of`)."""
    from archsearch.experiment.checks import check_runs_dir

    request = method if isinstance(method, RunRequest) else RunRequest.of(method, **options)
    distributed.init_from_env()  # under torchrun: join the process group; rank 0's settings (run name) for all
    check_runs_dir(request.runs_dir if request.runs_dir is not None else default_runs_dir())  # before the data
    settings = resolve_settings(request) if distributed.is_main() else None
    shared = distributed.broadcast_object(settings.portable() if settings is not None else None)
    experiment = start(settings or shared, request.runs_dir, quiet=quiet)
    return experiment.execute(resume=False)


def resume(run: str | Path, *, runs_dir: str | Path | None = None,
           quiet: bool | None = None, **overrides: Any) -> SearchResult:
    """Continue an interrupted run from its newest good checkpoint (``overrides``: executor, workers, ray_address,
    device: where it runs, never what it computes)."""
    distributed.init_from_env()
    run_dir = Path(run)
    if not (run_dir / CONFIG_FILE).is_file():
        run_dir = (Path(runs_dir) if runs_dir is not None else default_runs_dir()) / str(run)
    if not (run_dir / CONFIG_FILE).is_file():
        raise UsageError(f"no run {str(run)!r} (no {CONFIG_FILE} there)")
    allowed = {"executor", "workers", "ray_address", "device"}
    for key in overrides:
        if key not in allowed:
            raise ConfigError(f"resume can change only {sorted(allowed)}, not {key!r}")
    _check_overrides({k: v for k, v in overrides.items() if k in ("workers", "device")})
    lock = RunLock(run_dir, run_dir.name, command="resume").acquire() if distributed.is_main() else None
    try:  # a second `resume X` at the same moment was refused by the lock; this one checks the run now
        if (run_dir / RESULT_FILE).is_file():
            raise UsageError(f"run {run_dir.name!r} already finished; see it with: archsearch show {run_dir}")
        failure = _failure(run_dir)
        if failure is not None:
            raise UsageError(f"run {run_dir.name!r} failed ({failure}); resuming would repeat it: start a new run "
                             "with other settings")
        settings = read_settings(run_dir)
        _check_ledger_file(run_dir, settings)
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        _check_overrides({k: getattr(settings, k) for k in allowed})  # a run made on cuda, resumed on a CPU host
        settings = _check_data(settings, run_dir)
        experiment = Experiment(settings, run_dir, quiet=quiet,
                                lock=lock)
        experiment.prepare()
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return experiment.execute(resume=True)


def _failure(run_dir: Path) -> str | None:
    """Why the run failed for good (its ``failed.json``), None when it did not."""
    path = run_dir / FAILED_FILE
    if not path.is_file():
        return None
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("error") or "see log.txt")
    except (OSError, ValueError, AttributeError):
        return "see log.txt"


def _check_ledger_file(run_dir: Path, settings: RunSettings) -> None:
    """Before the ledger is opened for writing (which would give an emptied file a fresh, empty schema): a run
    with checkpoints needs its SQLite ledger intact. (A database URL's ledger is checked against the checkpoint
    once open.)"""
    from archsearch.experiment.ledger import check_sqlite_ledger

    if settings.storage is not None or not CheckpointStore(run_dir / "checkpoints").counter:
        return
    path = run_dir / "ledger.db"
    if not path.is_file():
        raise DamagedRunError(f"run {settings.name!r} has checkpoints but no ledger.db: its trials are gone "
                              "(restore the ledger, or start a new run)")
    try:
        check_sqlite_ledger(path)
    except DamagedRunError as err:
        raise DamagedRunError(f"run {settings.name!r}: {err}; resuming would lose its trials (restore the ledger, "
                              "or start a new run)") from None


__all__ = ["CONFIG_FILE", "RESULT_FILE", "default_runs_dir", "resume", "run", "start"]
