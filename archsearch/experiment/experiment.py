"""`Experiment`: a run directory and the `RunContext` a method sees through it, from the method's construction to
result.json.

``runs/<name>/``: ``config.yaml`` (everything needed to rebuild the run), ``ledger.db`` (Optuna storage, unless
``storage`` names another database), ``checkpoints/``, ``log.txt``, ``metrics/*.jsonl`` (series for the report),
``result.json`` (when finished), ``report/`` and ``export/`` (written by those commands). A resumed experiment
loads the method's newest good checkpoint, cuts the metric files back to where that checkpoint saw them, and
matches the ledger trials the method re-does by key instead of duplicating them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, cast

import numpy as np
import torch

from archsearch._progress import ProgressBar
from archsearch.accuracy import TEST
from archsearch.cost.constraints import Constraint, parse_constraints
from archsearch.cost.latency import needs_latency, with_latency
from archsearch.errors import ConfigError, DamagedRunError
from archsearch.experiment.accounting import MeteredExecutor, SearchClock
from archsearch.experiment.checkpoint import CheckpointStore, atomic_save
from archsearch.experiment.context import ContextServices
from archsearch.experiment.epilogue import after_search
from archsearch.experiment.final_stage import FINAL_WEIGHTS, FinalStage
from archsearch.experiment.ledger import OBJECTIVES, OptunaLedger, RankLedger, sqlite_url
from archsearch.experiment.lock import RunLock
from archsearch.experiment.run_files import (FAILED_FILE, RESULT_FILE, RunFiles, candidate_json, now, search_json,
                                             search_result)
from archsearch.experiment.settings import RunSettings, latency_build_command
from archsearch.methods import SearchResult, create_method, make_config, method_spec
from archsearch.methods.context import DataSpec, SpaceSpec
from archsearch.spaces import SearchSpace
from archsearch.train import distributed


class Experiment(ContextServices):
    """A run directory plus the services a method uses through it (the `RunContext` protocol)."""

    def __init__(self, settings: RunSettings, run_dir: Path, *, quiet: bool | None = None,
                 lock: RunLock | None = None) -> None:
        from archsearch.spaces import create_space
        from archsearch.train.device import resolve_device

        self.settings = settings
        self.run_dir: Path = Path(run_dir)
        self.main = distributed.is_main()  # under torchrun only rank 0 writes (ledger, checkpoints, files)
        # the one writer of this run holds its lock until `release` (or its process ends)
        self.lock = (lock or RunLock(self.run_dir, settings.name, command="resume").acquire()) if self.main else None
        self._quiet = (os.environ.get("ARCHSEARCH_PROGRESS", "1") == "0") if quiet is None else quiet
        self._quiet = self._quiet or not self.main
        self.files = RunFiles(self.run_dir, main=self.main, quiet=self._quiet)  # log, metrics, result.json
        self._best_seen: float | None = None  # the best accuracy recorded so far (the live progress line)
        self._live_bar: Any = None
        self.seed = int(settings.seed)
        self.preset = settings.preset
        self.device = resolve_device(settings.device)
        self.constraints: tuple[Constraint, ...] = parse_constraints(settings.constraints)
        self.latency_runtime = settings.latency_runtime
        self.space_spec: SpaceSpec = {"name": settings.space["name"],
                                      "options": dict(settings.space.get("options") or {})}
        self.data_spec: DataSpec = {"data": settings.data, "data_dir": settings.data_dir,
                                    "image_size": settings.image_size, "split": dict(settings.split)}
        # what `resolve_settings` built, or (a resumed run, another torchrun process) rebuilt from the stored fields
        self.space: SearchSpace = (settings.search_space if settings.search_space is not None
                                   else create_space(self.space_spec["name"], **self.space_spec["options"]))
        self.config = (settings.method_config if settings.method_config is not None
                       else make_config(settings.method, settings.preset, settings.budget, **settings.method_options))
        if needs_latency(self.constraints):  # a latency<= constraint: costs include this device's LUT latency
            # (measured here when missing: before the search clock starts, a one-off cost of the device), in the
            # method's latency runtime when it has one (ProxylessNAS), else the run's (`RunSettings.latency_runtime`)
            from archsearch.methods.context import latency_progress

            runtime = getattr(self.config, "latency_runtime", None) or self.latency_runtime
            self.space = cast(SearchSpace, with_latency(
                self.space, device=self.latency_device(), log=self.log, runtime=runtime,
                progress=latency_progress(self),
                build_command=latency_build_command(self.space_spec, settings.data, runtime)))
        # what the search's accuracies are ("supernet acc.", ...)
        self.accuracy = method_spec(settings.method).accuracy_of(self.config)
        self.checkpoints = CheckpointStore(self.run_dir / "checkpoints", log=self.log)
        self.clock = SearchClock()  # the search's wall and CPU seconds (continued from a checkpoint on resume)
        self._ledger_url = settings.storage or sqlite_url(self.run_dir / "ledger.db")
        self.ledger: Any = self.open_ledger(settings.name, self.accuracy["metric"], on_complete=self._saw_trial)
        self.final = FinalStage(self)
        self._executor: MeteredExecutor | None = None
        self._method: Any = None
        self._search_document: str | None = None  # the finished search (JSON), kept in every later checkpoint
        if self.lock is not None and self.lock.taken_over:
            gone = self.lock.taken_over
            self.log(f"took over the lock of pid {gone.get('pid')} on {gone.get('host')} ({gone.get('command')} "
                     f"since {gone.get('since')}): that process is gone")

    def latency_device(self) -> torch.device:
        """Where latency is measured: the run's device."""
        return torch.device("cpu") if self.device.type == "cpu" else self.device

    def release(self) -> None:
        """Give up the run's lock: another process may now resume or inspect-and-write this run."""
        if self.lock is not None:
            self.lock.release()

    # -- RunContext ---------------------------------------------------------------------------------------------------
    @property
    def executor(self) -> Any:  # type: ignore[override]  # a property here: started on first use
        if self._executor is None:  # started on first use: Ray takes seconds to come up
            from archsearch.executors import create_executor

            s = self.settings
            workers = s.workers
            if s.executor == "local" and workers is None and s.preset == "smoke":
                workers = 1  # seconds of work: starting worker processes would cost more than it saves
            if s.executor == "local" and str(self.space_spec["options"].get("source", "")).startswith("object:"):
                workers = 1  # a space that exists in this process only: its candidates train here
            self._executor = MeteredExecutor(create_executor(s.executor, workers=workers, address=s.ray_address,
                                                             log=self.log), self.clock.add_remote)
        return self._executor

    def splits(self) -> Any:
        from archsearch.train.task import cached_splits

        s = self.settings
        return cached_splits(s.data, s.data_dir, dict(s.split), s.image_size)

    def rng(self, *phase: object) -> np.random.Generator:
        return np.random.default_rng([self.seed] + [zlib.crc32(str(p).encode()) for p in phase])

    def torch_generator(self, *phase: object) -> torch.Generator:
        return torch.Generator().manual_seed(int(self.rng(*phase).integers(2**62)))

    def checkpoint(self, method: Any) -> None:
        if self.main:
            state = {"method": method.state_dict(), "metrics_sizes": self.files.metric_sizes(),
                     "saved": now(), "clock": self.clock.state()}
            snapshot = getattr(self.ledger, "snapshot", None)
            if snapshot is not None:  # what the ledger held: a resume refuses a ledger that lost any of it
                state["ledger"] = snapshot()
            if self._search_document is not None:
                state["search"] = self._search_document
            self.checkpoints.save(state)

    def save_weights(self, name: str, state: Any) -> str:
        """Write `state` (a state_dict) to ``run_dir/name`` atomically; under torchrun only rank 0 writes (every
        rank holds the same weights). Returns `name`, the path relative to the run directory."""
        if self.main:
            atomic_save(self.run_dir / name, state)
        return name

    def load_weights(self, name: str) -> Any:
        """The state_dict `save_weights(name, ...)` wrote, loaded on the CPU."""
        return torch.load(self.run_dir / name, map_location="cpu", weights_only=True)

    def end_search(self) -> None:
        """The search is over (a method calls this when it starts its own final training): its clock stops."""
        self.clock.stop()

    @contextlib.contextmanager
    def progress(self, description: str, total: int | None, *, status: str | None = None) -> Iterator[Any]:
        """A progress bar whose line ends with the best accuracy so far, named by its kind (or `status`)."""
        with ProgressBar(description, total, status=self._best_text() if status is None else status,
                         enabled=not self._quiet) as bar:
            previous, self._live_bar = self._live_bar, (bar if status is None else None)
            try:
                yield bar
            finally:
                self._live_bar = previous

    def _saw_trial(self, values: Mapping[str, float]) -> None:
        accuracy = values.get("accuracy")
        if accuracy is not None and math.isfinite(accuracy) and (self._best_seen is None or accuracy > self._best_seen):
            self._best_seen = float(accuracy)
            if self._live_bar is not None:
                self._live_bar.update(status=self._best_text())

    def _best_text(self) -> str:
        return "" if self._best_seen is None else f"best {self.accuracy['label']} {100 * self._best_seen:.2f}%"

    def log(self, message: str) -> None:
        self.files.log(message)

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        self.files.log_metrics(series, step, **values)

    # -- lifecycle ----------------------------------------------------------------------------------------------------
    def execute(self, *, resume: bool) -> SearchResult:
        """Build the method, load its newest good checkpoint when resuming, run it, write result.json; the run's
        lock is released at the end, however it ends."""
        try:
            return self._execute(resume=resume)
        finally:
            self.release()

    def prepare(self) -> Any:
        """Build the method (once): every check its constructor makes (the space it needs, its data, its own
        settings) runs before `start` writes config.yaml, so a failing one leaves no run behind."""
        if self._method is None:
            self._method = create_method(self.settings.method, self.config, self)
        return self._method

    def _execute(self, *, resume: bool) -> SearchResult:
        method = self.prepare()
        state = self._load_checkpoint() if resume else None
        started = time.perf_counter()
        try:
            if state is not None and state.get("search") is not None:
                self._search_document = str(state["search"])
                result = search_result(json.loads(self._search_document), self.arch)
                self.log("the search had finished before the interruption: on to its final training")
            else:
                result = self._failing_for_good(method.run)
                self.end_search()
                result = after_search(self, method, result)
                self._search_document = json.dumps(search_json(result), allow_nan=False, default=str)
                self.checkpoint(method)  # a kill during the final training resumes there, not in the search
            final = self._failing_for_good(lambda: self.final.run(result))
        finally:
            if self._executor is not None:
                self._executor.shutdown()
        result = dataclasses.replace(result, final=final)
        if not self.main:
            distributed.barrier()
            return result
        abandoned = self.ledger.abandon_running()
        if abandoned:
            self.log(f"{abandoned} ledger trials were still running at the end and are marked failed")
        result = dataclasses.replace(result, run_dir=self.run_dir)
        final_json = None if final is None else {**final.to_json(), "accuracy": dict(TEST)}
        if final_json is not None and (self.run_dir / FINAL_WEIGHTS).is_file():
            final_json["weights"] = FINAL_WEIGHTS
        document = {"method": self.settings.method, "name": self.settings.name, "accuracy": self.accuracy,
                    "final": final_json,
                    "search": {"seconds": self.clock.seconds, "cpu_seconds": self.clock.cpu_seconds},
                    **_without(search_json(result), "method_final"),
                    "seconds_this_session": time.perf_counter() - started,
                    "finished": now()}
        self.files.write_result(document)
        estimate, tested = result.best.objectives.get("accuracy"), None if final is None else final.test_accuracy
        self.log(f"finished: the chosen arch's {self.accuracy['label']} {_percent(estimate)}"
                 + ("" if final is None else f", {TEST['label']} {_percent(tested)} after {final.epochs} epoch(s)"))
        distributed.barrier()
        return result

    def _failing_for_good(self, step: Callable[[], Any]) -> Any:
        """Run `step`; an error that resuming would only repeat (training diverged, no candidate trained, a
        constraint found impossible, a bad setting found late) is written to ``failed.json`` and the log before it
        propagates, so the run folder says how it ended: `ls` shows it failed, `resume` refuses it with the
        reason, not a run that looks merely interrupted. The folder's ledger keeps the failed trials."""
        from archsearch.errors import ConstraintError, DivergedError

        try:
            return step()
        except (DivergedError, ConfigError, ConstraintError) as err:
            if not self.main:
                raise  # (any other error, e.g. Ray not reachable, a damaged file, may pass: a resume goes on)
            self.files.write_failed(err)
            raise

    def _check_ledger(self, expected: Mapping[str, Any] | None, index: int | None) -> None:
        """Refuse to resume on a ledger that lacks trials the checkpoint saw (emptied, replaced, another run's):
        the method would skip work whose record is gone."""
        if not expected or not self.main or not hasattr(self.ledger, "snapshot"):
            return
        have = self.ledger.snapshot()
        missing = sorted(set(expected.get("keys") or ()) - set(have["keys"]))
        if missing or have["trials"] < int(expected.get("trials") or 0):
            example = f" (e.g. {missing[0]!r})" if missing else ""
            raise DamagedRunError(
                f"run {self.settings.name!r}: its ledger holds {have['trials']} trials but checkpoint {index} was "
                f"saved with {expected.get('trials')}; {len(missing)} trial keys are missing{example}. The ledger "
                "was emptied or replaced: resuming would lose those trials (restore the ledger, or start a new run)")

    def _load_checkpoint(self) -> dict[str, Any] | None:
        """The newest good checkpoint, loaded into the method, the metric files and the search clock (None: none
        yet, start from the beginning)."""
        state = self.checkpoints.load_latest()
        if state is None:
            self.log(f"no checkpoint yet in {self.run_dir}: starting {self.settings.name} from the beginning")
            self.files.cut_metrics({})
            return None
        self._check_ledger(state.get("ledger"), self.checkpoints.loaded)
        self.prepare().load_state_dict(state["method"])
        self.files.cut_metrics(state.get("metrics_sizes") or {})
        self.clock = SearchClock(state.get("clock"))
        self.log(f"resumed {self.settings.name} from checkpoint {self.checkpoints.loaded}")
        return state

    def arch(self, values: Mapping[str, Any]) -> Any:
        return self.space.space.validate(dict(values))

    def open_ledger(self, study: str, accuracy_metric: str, **kwargs: Any) -> Any:
        """A study of this run's ledger (the search's, the final training's); ranks other than 0 write nothing."""
        if not self.main:
            return RankLedger()
        return OptunaLedger(self._ledger_url, study, spaces=[self.space.space], cost=self.space.cost,
                            metric_names=(accuracy_metric, *OBJECTIVES[1:]), **kwargs)

def _percent(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.2f}%"


def _without(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != key}


__all__ = ["Experiment", "FAILED_FILE", "RESULT_FILE", "candidate_json"]
