"""`Experiment`: the run directory around a method, and the `RunContext` the method sees.

``runs/<name>/``: ``config.yaml`` (everything needed to rebuild the run), ``ledger.db`` (Optuna storage, unless
``storage`` names another database), ``checkpoints/``, ``log.txt``, ``metrics/*.jsonl`` (series for the report),
``result.json`` (when finished), ``report/`` and ``export/`` (written by those commands).

`run()` starts a run, `resume()` continues one from its newest good checkpoint: the method is rebuilt from the
same config, its state loaded, the metric files cut back to where that checkpoint saw them, and the ledger trials
the method re-does are matched by key instead of duplicated. So a run killed at any point and resumed ends as an
uninterrupted one would (local executor; with Ray the finishing order of parallel evaluations may differ).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
import yaml

from archsearch._json import json_value
from archsearch.cost.constraints import Constraint, parse_constraints
from archsearch.cost.latency import needs_latency, with_latency
from archsearch.accuracy import TEST, accuracy_spec
from archsearch.errors import CheckpointError, ConfigError, DamagedRunError, UsageError
from archsearch.experiment.accounting import MeteredExecutor, SearchClock
from archsearch.experiment.checkpoint import CheckpointStore, atomic_save, atomic_write_text
from archsearch.experiment.context import ContextServices
from archsearch.experiment.ledger import OBJECTIVES, OptunaLedger, sqlite_url
from archsearch.experiment.lock import RunLock
from archsearch.methods import Candidate, SavedWeights, SearchResult, create_method, make_config, method_spec
from archsearch.methods.context import DataSpec, SpaceSpec
from archsearch.train import distributed
from archsearch.tasks.final import FinalResult

CONFIG_FILE = "config.yaml"
RESULT_FILE = "result.json"
FAILED_FILE = "failed.json"  # a run that ended in an error resuming would repeat (diverged, no candidate trained)
DATA_FILE = "data.npz"  # an in-memory dataset, saved into the run directory
FINAL_WEIGHTS = "final/model.pt"  # the final training's weights (its first seed), exported to best/model.pt
DEFAULT_DATA = "fashion-mnist"  # the default dataset (README, "Data")


class SimulatedCrash(RuntimeError):
    """Raised by a context built with ``crash_after_checkpoints`` right after that many checkpoints (tests)."""


@dataclasses.dataclass
class RunSettings:
    """Everything that defines a run; written to config.yaml, read back by `resume`."""

    method: str
    name: str
    space: dict[str, Any]  # {"name": ..., "options": {...}} (options resolved against the data)
    preset: str = "quick"
    data: Any = DEFAULT_DATA  # a built-in name or an absolute path (a `Dataset` only until `start` saves it)
    data_dir: str | None = None
    image_size: int | None = None
    data_sha256: str | None = None  # content hash (`dataset_hash`); `resume` refuses data that changed
    data_source: str | None = None  # where the data was read from, for the reader of config.yaml
    split: dict[str, Any] = dataclasses.field(default_factory=dict)
    budget: float | None = None
    constraints: list[str] = dataclasses.field(default_factory=list)
    seed: int = 0
    executor: str = "local"
    workers: int | None = None
    ray_address: str | None = None
    storage: str | None = None
    device: str | None = None
    method_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    proxy_archs: list[dict[str, Any]] | None = None  # scored with the method's own estimate at the end (a study)


class Experiment(ContextServices):
    """A run directory plus the services a method uses through it (the `RunContext` protocol)."""

    def __init__(self, settings: RunSettings, run_dir: Path, *, crash_after_checkpoints: int | None = None,
                 quiet: bool | None = None, lock: RunLock | None = None) -> None:
        from archsearch.spaces import create_space
        from archsearch.train.device import resolve_device

        self.settings = settings
        self.run_dir = Path(run_dir)
        self.main = distributed.is_main()  # under torchrun only rank 0 writes (ledger, checkpoints, files)
        # the one writer of this run holds its lock until `release` (or its process ends)
        self.lock = (lock or RunLock(self.run_dir, settings.name, command="resume").acquire()) if self.main else None
        self._quiet = (os.environ.get("ARCHSEARCH_PROGRESS", "1") == "0") if quiet is None else quiet
        self._quiet = self._quiet or not self.main
        self._best_seen: float | None = None  # the best accuracy recorded so far (the live progress line)
        self._live_bar: Any = None
        self.seed = int(settings.seed)
        self.preset = settings.preset
        self.device = resolve_device(settings.device)
        self.constraints: tuple[Constraint, ...] = parse_constraints(settings.constraints)
        self.space_spec: SpaceSpec = {"name": settings.space["name"],
                                      "options": dict(settings.space.get("options") or {})}
        self.data_spec: DataSpec = {"data": settings.data, "data_dir": settings.data_dir,
                                    "image_size": settings.image_size, "split": dict(settings.split)}
        self.space = create_space(self.space_spec["name"], **self.space_spec["options"])
        self.config = make_config(settings.method, settings.preset, settings.budget, **settings.method_options)
        if needs_latency(self.constraints):  # a latency<= constraint: costs include this device's LUT latency
            # (measured here when missing: before the search clock starts, a one-off cost of the device), in the
            # method's latency runtime when it has one (ProxylessNAS), else $ARCHSEARCH_LATENCY_RUNTIME or torch
            from archsearch.methods.context import latency_progress

            runtime = getattr(self.config, "latency_runtime", None)
            self.space = with_latency(self.space, device=self._latency_device(), log=self.log, runtime=runtime,
                                      progress=latency_progress(self),
                                      build_command=latency_build_command(self.space_spec, settings.data, runtime))
        self.accuracy = accuracy_spec(self.config)  # what the search's accuracies are ("supernet acc.", ...)
        self._crash_after = crash_after_checkpoints
        self._checkpoints_written = 0
        self.checkpoints = CheckpointStore(self.run_dir / "checkpoints", log=self.log)
        self.clock = SearchClock()  # the search's wall and CPU seconds (continued from a checkpoint on resume)
        self._ledger_url = settings.storage or sqlite_url(self.run_dir / "ledger.db")
        self.ledger: Any = self._open_ledger(settings.name, self.accuracy["metric"], on_complete=self._saw_trial)
        self._final_ledger: Any = None
        self._executor = None
        self._method: Any = None
        self._search_document: str | None = None  # the finished search (JSON), kept in every later checkpoint
        if self.lock is not None and self.lock.taken_over:
            gone = self.lock.taken_over
            self.log(f"took over the lock of pid {gone.get('pid')} on {gone.get('host')} ({gone.get('command')} "
                     f"since {gone.get('since')}): that process is gone")

    def _latency_device(self) -> torch.device:
        return torch.device("cpu") if self.device.type == "cpu" else self.device

    def _with_measured_latency(self, method: Any, result: SearchResult) -> SearchResult:
        """A search under a ``latency<=`` constraint, or one that costed its space by a table itself (GreedyNAS's
        latency objective): the chosen net timed end-to-end as its table was measured (runtime, threads, clock,
        batch), beside the table's prediction, in ``extra`` and the log. A method that timed it itself
        (ProxylessNAS) has done so already."""
        table = getattr(self.space, "latency_table", None) or getattr(getattr(method, "space", None),
                                                                      "latency_table", None)
        best = getattr(result, "best", None)
        if table is None or best is None or result.extra.get("measured_latency_ms") is not None:
            return result
        from archsearch.cost.latency import measure_network, predict_latency, table_timing

        timing = table_timing(table)
        measured = measure_network(self.space, best.arch, table, device=self._latency_device())
        predicted = float(predict_latency(table, best.arch))
        self.log(f"chosen arch: latency {predicted:.4g} ms by the table, {measured:.4g} ms measured "
                 f"({timing['runtime']}, {timing['threads']} thread(s), {timing['clock']} clock)")
        return dataclasses.replace(result, extra={**result.extra, "measured_latency_ms": measured,
                                                  "table_latency_ms": predicted, "latency_runtime": timing["runtime"],
                                                  "latency_threads": timing["threads"]})

    def release(self) -> None:
        """Give up the run's lock: another process may now resume or inspect-and-write this run."""
        if self.lock is not None:
            self.lock.release()

    # -- RunContext ---------------------------------------------------------------------------------------------------
    @property
    def executor(self) -> Any:
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
            state = {"method": method.state_dict(), "metrics_sizes": self._metric_sizes(),
                     "saved": _dt.datetime.now().isoformat(timespec="seconds"), "clock": self.clock.state()}
            snapshot = getattr(self.ledger, "snapshot", None)
            if snapshot is not None:  # what the ledger held: a resume refuses a ledger that lost any of it
                state["ledger"] = snapshot()
            if self._search_document is not None:
                state["search"] = self._search_document
            self.checkpoints.save(state)
        self._checkpoints_written += 1
        if self._crash_after is not None and self._checkpoints_written >= self._crash_after:
            raise SimulatedCrash(f"simulated crash after {self._checkpoints_written} checkpoints")

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
        if self._quiet:
            yield _SilentBar()
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[status]}")]
        with Progress(*columns, transient=False, refresh_per_second=2) as progress:
            task = progress.add_task(description, total=total,
                                     status=self._best_text() if status is None else status)
            bar = _RichBar(progress, task)
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
        if not self.main:
            return
        line = f"{_dt.datetime.now().isoformat(timespec='seconds')} {message}"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        if not self._quiet:
            print(message, file=sys.stderr)

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        if not self.main:
            return
        directory = self.run_dir / "metrics"
        directory.mkdir(parents=True, exist_ok=True)
        row = {"step": step, **{k: json_value(v) for k, v in values.items()}}
        with open(directory / f"{series}.jsonl", "a", encoding="utf-8") as handle:  # one line per write
            handle.write(json.dumps(row) + "\n")

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
                result = self._search_result(json.loads(self._search_document))
                self.log("the search had finished before the interruption: on to its final training")
            else:
                result = self._failing_for_good(method.run)
                self.end_search()
                result = self._with_proxy_scores(method, self._with_chance_warning(result))
                result = self._with_measured_latency(method, result)
                self._search_document = json.dumps(self._search_json(result), allow_nan=False, default=str)
                self.checkpoint(method)  # a kill during the final training resumes there, not in the search
            final = self._failing_for_good(lambda: self._final_training(result))
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
                    **_without(self._search_json(result), "method_final"),
                    "seconds_this_session": time.perf_counter() - started,
                    "finished": _dt.datetime.now().isoformat(timespec="seconds")}
        atomic_write_text(self.run_dir / RESULT_FILE, json.dumps(document, indent=1, allow_nan=False,
                                                                 default=str) + "\n")
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
            message = " ".join(str(err).split())
            self.log(f"failed: {message}")
            atomic_write_text(self.run_dir / FAILED_FILE, json.dumps(
                {"error": message, "kind": type(err).__name__,
                 "when": _dt.datetime.now().isoformat(timespec="seconds")}, indent=1) + "\n")
            raise

    def _with_chance_warning(self, result: SearchResult) -> SearchResult:
        """Name a search whose proxy could not tell architectures apart: the median estimate over the candidates it
        recorded (the chosen one's alone, a maximum over noisy estimates, sits above chance even on noise) is within
        a tenth of the way from chance to perfect: a supernet trained for a few dozen steps, candidates trained on
        a handful of images. The search then chose at random, and the user is told so, with what to change."""
        estimates = [t.values.get("accuracy") for t in self.ledger.trials(state="complete")] if self.main else []
        estimates = [v for v in estimates if v is not None and math.isfinite(v)]
        if not estimates:
            estimates = [result.best.objectives.get("accuracy", math.nan)]
        estimate = float(np.median(estimates))
        classes = self.splits().num_classes
        chance = 1.0 / classes
        if not math.isfinite(estimate) or estimate >= chance + 0.1 * (1 - chance):
            return result
        what = "the supernet is" if self.accuracy["kind"] == "supernet" else "the search's estimate is"
        counted = f"the median {self.accuracy['label']} of its {len(estimates)} candidates" if len(estimates) > 1 \
            else f"the chosen arch's {self.accuracy['label']}"
        warning = (f"{what} at chance level: {counted} is {100 * estimate:.1f}% against {100 * chance:.1f}% for "
                   f"guessing among {classes} classes, so the search chose at random; raise the budget (--budget) "
                   "or give it more data")
        self.log(f"warning: {warning}")
        return dataclasses.replace(result, extra={**result.extra,
                                                  "warnings": [*result.extra.get("warnings", []), warning]})

    def _with_proxy_scores(self, method: Any, result: SearchResult) -> SearchResult:
        """A study's proxy tau: the method's own estimate (its `proxy_accuracy`) of the architectures the run was
        given as `proxy_archs`, scored at the end of the search, outside its clock, into ``extra.proxy``."""
        archs = self.settings.proxy_archs
        score = getattr(method, "proxy_accuracy", None)
        if not archs or score is None:
            return result
        scores = score([self.space.space.validate(arch) for arch in archs])
        proxy = {"kind": self.accuracy["label"],
                 "scores": None if scores is None else [None if v is None else float(v) for v in scores]}
        return dataclasses.replace(result, extra={**result.extra, "proxy": proxy})

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
            self._cut_metrics({})
            return None
        self._check_ledger(state.get("ledger"), self.checkpoints.loaded)
        self.prepare().load_state_dict(state["method"])
        self._cut_metrics(state.get("metrics_sizes") or {})
        self.clock = SearchClock(state.get("clock"))
        self.log(f"resumed {self.settings.name} from checkpoint {self.checkpoints.loaded}")
        return state

    # -- the end of a run: the chosen arch trained from scratch ------------------------------------------------------
    def _search_json(self, result: SearchResult) -> dict[str, Any]:
        """The search's part of result.json (and of every later checkpoint): `extra` holds the method's figures,
        the weight files it saved and, once set, the run directory."""
        extra = {**result.extra, **result.weights.to_json()}
        if result.run_dir is not None:
            extra["run_dir"] = str(result.run_dir)
        return {"best": candidate_json(result.best), "pareto_front": [candidate_json(c) for c in result.pareto_front],
                "extra": json_value(extra),
                "method_final": None if result.final is None else result.final.to_json()}

    def _search_result(self, document: Mapping[str, Any]) -> SearchResult:
        """The finished search, as a checkpoint kept it (for a run resumed in its final training)."""
        def candidate(data: Mapping[str, Any]) -> Candidate:
            return Candidate(self._arch(data["arch"]), dict(data["objectives"]), dict(data.get("attrs") or {}))

        final = document.get("method_final")
        weights, extra = SavedWeights.split(document.get("extra") or {})
        return SearchResult(candidate(document["best"]), tuple(candidate(c) for c in document["pareto_front"]),
                            extra, None if final is None else FinalResult.from_json(final), weights)

    def _arch(self, values: Mapping[str, Any]) -> Any:
        from archsearch.space.space import Arch

        choices = getattr(self.space, "space", None)
        return choices.validate(dict(values)) if choices is not None else Arch(dict(values))

    def _final_training(self, result: SearchResult) -> FinalResult | None:
        """Train the chosen arch from scratch with the method's final recipe (`archsearch.retrain`, through the
        executor), each seed recorded in the ledger's final study by key, so a resumed run trains only the
        missing seeds. None when the method's config skips it (``final_epochs=0``)."""
        from archsearch.experiment.retrain import final_plan, final_split, retrain, seed_list

        if result.final is not None:  # the method trained its own (NARS: every found pair, its searched recipe)
            return result.final
        plan = final_plan(self.config)
        if plan is None or plan[0] <= 0:
            why = "final_epochs=0" if plan is not None else f"method {self.settings.method!r} declares none"
            self.log(f"final training skipped ({why})")
            return None
        epochs, seeds, recipe = plan
        seeds_list = seed_list(seeds, first=self.seed)
        done = distributed.broadcast_object(self._finals_done(seeds_list, epochs) if self.main else None)
        self.log(f"final training of the chosen arch: {epochs} epochs x {len(seeds_list)} seed(s), test set"
                 + (f" ({len(done)} seed(s) already trained)" if done else ""))
        with self.progress("final training", total=len(seeds_list), status="") as bar:
            bar.advance(len(done))

            def record(task: Any, outcome: Any) -> None:
                self._record_final(task, outcome, bar)

            final = retrain(dict(result.best.arch), space=self.space_spec, data=self.settings.data,
                            data_dir=self.settings.data_dir, image_size=self.settings.image_size,
                            split=final_split(self.settings.split), epochs=epochs,
                            seeds=seeds_list, recipe=recipe, executor=self.executor, device=self.settings.device,
                            keep_weights=True, done=done, on_result=record)
        if final.test_accuracy is None:
            self.log(f"final training failed for every seed: {[e for e in final.errors if e]}")
        return final

    @property
    def final_ledger(self) -> Any:
        """The final trainings' trials: a study of their own beside the search's (``<name>:final``), so the
        leaderboard ranks search trials only and each study's metric says which accuracy it holds."""
        if self._final_ledger is None:
            self._final_ledger = self._open_ledger(f"{self.settings.name}:final", TEST["metric"])
        return self._final_ledger

    def _open_ledger(self, study: str, accuracy_metric: str, **kwargs: Any) -> Any:
        if not self.main:
            return _RankLedger()
        choices = getattr(self.space, "space", None)
        return OptunaLedger(self._ledger_url, study, spaces=[choices] if choices is not None else [],
                            cost=getattr(self.space, "cost", None), metric_names=(accuracy_metric, *OBJECTIVES[1:]),
                            **kwargs)

    def _finals_done(self, seeds: Sequence[int], epochs: int) -> dict[int, Any]:
        """{seed: EvalResult} of the final trainings a previous session of this run completed."""
        from archsearch.train.task import EvalResult

        done = {}
        for seed in seeds:
            record = self.final_ledger.find(f"final/{seed}")
            if record is not None and record.state == "complete" and record.attrs.get("epochs") == epochs:
                done[seed] = EvalResult([], None, record.values["accuracy"], int(record.values["macs"]),
                                        int(record.values["params"]), float(record.attrs.get("seconds", 0.0)),
                                        cpu_seconds=float(record.attrs.get("cpu_seconds", 0.0)))
        return done

    def _record_final(self, task: Any, outcome: Any, bar: Any) -> None:
        key = f"final/{task.seed}"
        ledger = self.final_ledger
        trial = ledger.start(self._arch(task.arch), key=key, phase="final",
                             attrs={"seed": task.seed, "epochs": task.epochs, "recipe": task.recipe})
        ok = not isinstance(outcome, BaseException) and not outcome.diverged and outcome.test_accuracy is not None
        if ok:
            if task.seed == self.seed and outcome.weights is not None:  # the first seed's: best/model.pt
                self.save_weights(FINAL_WEIGHTS, outcome.weights)
            ledger.complete(trial, {"accuracy": outcome.test_accuracy, "macs": outcome.macs, "params": outcome.params},
                            {"seconds": outcome.seconds, "cpu_seconds": outcome.cpu_seconds, "epochs": task.epochs})
            bar.update(status=f"seed {task.seed}: {TEST['label']} {100 * outcome.test_accuracy:.2f}%")
        else:
            reason = (f"{type(outcome).__name__}: {outcome}" if isinstance(outcome, BaseException)
                      else outcome.error or "no test accuracy")
            ledger.fail(trial, reason)
            self.log(f"final training, seed {task.seed} failed: {reason}")
        bar.advance()
        self.checkpoint(self._method)

    # -- metric files follow the checkpoint ---------------------------------------------------------------------------
    def _metric_sizes(self) -> dict[str, int]:
        directory = self.run_dir / "metrics"
        if not directory.is_dir():
            return {}
        return {p.name: p.stat().st_size for p in directory.glob("*.jsonl")}

    def _cut_metrics(self, sizes: Mapping[str, int]) -> None:
        """Drop metric rows written after the checkpoint being resumed: the method writes them again."""
        if not self.main:
            return
        directory = self.run_dir / "metrics"
        if not directory.is_dir():
            return
        for path in directory.glob("*.jsonl"):
            keep = int(sizes.get(path.name, 0))
            if path.stat().st_size > keep:
                with open(path, "r+b") as handle:
                    handle.truncate(keep)


class _RankLedger:
    """The ledger seen by ranks other than 0 of a torchrun job: writes go nowhere (rank 0 records the same
    trials), lookups find nothing (the rank re-computes what rank 0 may skip; no collective runs there)."""

    objective_names = OBJECTIVES

    def __init__(self) -> None:
        self._next = 0

    def start(self, arch: Any, *, key: str, phase: str, attrs: dict[str, Any] | None = None) -> int:
        self._next += 1
        return self._next

    def report_epoch(self, trial: int, epoch: int, value: float) -> None:
        pass

    def complete(self, trial: int, values: dict[str, float], attrs: dict[str, Any] | None = None) -> None:
        pass

    def fail(self, trial: int, reason: str) -> None:
        pass

    def prune(self, trial: int, reason: str = "") -> None:
        pass

    def find(self, key: str) -> None:
        return None

    def trials(self, *, phase: str | None = None, state: str | None = None) -> list[Any]:
        return []


class _SilentBar:
    def advance(self, n: float = 1) -> None:
        pass

    def update(self, **_: Any) -> None:
        pass


class _RichBar:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: float = 1) -> None:
        self._progress.advance(self._task, n)

    def update(self, **fields: Any) -> None:
        self._progress.update(self._task, **fields)


# -- building settings --------------------------------------------------------------------------------------------------
def resolve_settings(method: str, *, space: Any = None, preset: str | None = None,
                     data: Any = None, data_dir: str | None = None, budget: float | None = None,
                     constraints: Sequence[str] | str | None = None, seed: int | None = None,
                     executor: str | None = None, workers: int | None = None, ray_address: str | None = None,
                     storage: str | None = None, name: str | None = None, device: str | None = None,
                     split: Mapping[str, Any] | None = None, image_size: int | None = None, force: bool = False,
                     warn: Callable[[str], None] | None = None, proxy_archs: Sequence[Mapping[str, Any]] | None = None,
                     **method_options: Any) -> RunSettings:
    """Check every input (unknown names fail here, naming the allowed ones; the data is loaded and checked) and
    fill the defaults; nothing is written before all checks pass. `data`: a built-in name, the path of a .npz
    file or image folder, or a `Dataset`. An absurd budget is refused unless `force`; a large one is reported to
    `warn` (default: a line on stderr)."""
    from archsearch.executors import EXECUTORS
    from archsearch.errors import unknown_name
    from archsearch.experiment.checks import check_data_sizes, check_method_values, check_run_inputs
    from archsearch.methods import check_budget

    spec = method_spec(method)
    typed = _typed_settings(preset=preset, data=data, data_dir=data_dir, budget=budget, seed=seed,
                            executor=executor, workers=workers, ray_address=ray_address, storage=storage, name=name,
                            device=device)
    preset, data, data_dir, budget, seed = (typed[k] for k in ("preset", "data", "data_dir", "budget", "seed"))
    executor, workers, ray_address, storage, name, device = (
        typed[k] for k in ("executor", "workers", "ray_address", "storage", "name", "device"))
    preset = preset or "quick"
    executor = executor or "local"
    if executor not in EXECUTORS:
        raise unknown_name("executor", executor, EXECUTORS)
    check_run_inputs(seed=seed, workers=workers, budget=budget, name=name, device=device, executor=executor,
                     ray_address=ray_address, storage=storage)
    config = make_config(method, preset, budget, **method_options)  # option names, typed values, the preset
    check_method_values(method, config, method_options)
    check_budget(method, config, force=force, warn=warn or _warn)
    if constraints is not None and not isinstance(constraints, (str, list, tuple)):
        raise ConfigError(f"constraints must be a list such as ['flops<=300M'], got {constraints!r}")
    constraint_texts = [constraints] if isinstance(constraints, str) else [str(c) for c in (constraints or [])]
    parsed_constraints = parse_constraints(constraint_texts)  # malformed constraints fail before anything is created
    if isinstance(space, Mapping):
        space_name, space_options = space.get("name"), dict(space.get("options") or {})
    else:
        space_name, space_options = space, {}
    if isinstance(space_name, str) and not space_name.strip():
        raise UsageError("--space must not be empty (leave it out for the method's default space, "
                         f"{spec.default_space})")
    if space_name is None:
        space_name = spec.default_space
    if isinstance(data, str) and not data.strip():
        raise UsageError(f"--data must not be empty (leave it out for the default, {DEFAULT_DATA})")
    if data is None:
        data = DEFAULT_DATA
    splits_info = data_info(data, data_dir, image_size)
    data = splits_info["data"]
    split_options = (dict(split) if split is not None
                     else _default_split(preset, splits_info["train_images"], splits_info["name"]))
    check_data_sizes(method, config, split_options, splits_info["train_images"], splits_info["name"])
    space_name, space_options, space_label = _resolve_space(method, config, space_name, space_options, preset,
                                                            splits_info, executor, parsed_constraints)
    if name is None:
        name = f"{method}-{space_label}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    return RunSettings(method=method, name=name, space={"name": space_name, "options": space_options},
                       preset=preset, data=data, data_dir=data_dir, split=split_options, budget=budget,
                       constraints=constraint_texts, seed=int(seed or 0), executor=executor, workers=workers,
                       ray_address=ray_address, storage=storage, device=device, method_options=dict(method_options),
                       image_size=image_size, data_sha256=splits_info["sha256"], data_source=splits_info["source"],
                       proxy_archs=None if proxy_archs is None else [dict(arch) for arch in proxy_archs])


def latency_build_command(space: Mapping[str, Any], data: Any, runtime: str | None = None) -> str:
    """The ``archsearch latency build`` command that measures the table a run of `space` on `data` looks for."""
    import shlex

    name, options = str(space.get("name")), dict(space.get("options") or {})
    parts = ["archsearch", "latency", "build"]
    if name == "user":
        parts += ["--space", str(options.get("source"))]
        parts += [f"--space-option={k}={v}" for k, v in (options.get("kwargs") or {}).items()]
    else:
        parts += ["--space", name] + (["--preset", str(options["preset"])] if "preset" in options else [])
        parts += [f"--space-option={k}={v}" for k, v in options.items()
                  if k not in ("preset", "num_classes", "in_channels", "input_size")]
    if isinstance(data, str):
        parts += ["--data", data]
    if runtime not in (None, "torch"):
        parts += ["--runtime", str(runtime)]
    return " ".join(shlex.quote(p) for p in parts)


def _typed_settings(**values: Any) -> dict[str, Any]:
    """Run settings read by the types of `RunSettings` (a config file's ``seed: 1.5`` or ``workers: true`` is a
    usage error, ``budget: 1e3`` a number)."""
    from archsearch._values import coerce, field_types

    types = field_types(RunSettings)
    return {key: coerce(value, types[key] | None, key) if value is not None else None
            for key, value in values.items()}


def _warn(message: str) -> None:
    print(f"archsearch: warning: {message}", file=sys.stderr)


def data_info(data: Any, data_dir: str | None, image_size: int | None = None) -> dict[str, Any]:
    """Load and check the data (before anything is created): what the run records of it, and its shape.

    ``data``: the name or absolute path to record (a `Dataset` stays an object until `start` saves it;
    ``fashion-mnist`` becomes ``fashion-mnist-subset`` when only the bundled subset is there, so the run, its
    workers and `resume` all use the subset)."""
    from archsearch.data.datasets import Dataset, data_path
    from archsearch.data.fashion_subset import SUBSET_NAME
    from archsearch.data.files import dataset_hash
    from archsearch.train.task import cached_dataset, install_dataset

    if isinstance(data, Dataset):
        if image_size is not None:
            raise UsageError("image_size resizes an image folder's images; resize an in-memory Dataset yourself")
        dataset = data
    else:
        path = data_path(data)
        data = str(data) if path is None else str(path)
        dataset = cached_dataset(data, data_dir, image_size)
        if dataset.name == SUBSET_NAME and data != SUBSET_NAME:
            data = SUBSET_NAME
            install_dataset((data, data_dir, image_size), lambda: dataset)
    return {"data": data, "name": dataset.name, "source": dataset.source or "arrays in memory",
            "sha256": dataset_hash(dataset), "train_images": int(len(dataset.y_train)),
            "input_shape": tuple(int(s) for s in dataset.x_train.shape[1:]), "num_classes": int(dataset.num_classes)}


def _default_split(preset: str, train_images: int, dataset_name: str = "") -> dict[str, Any]:
    """Hold-out sizes: 10k validation + GreedyNAS' 1000-image small validation set (paper/quick), fewer for smoke
    or small datasets (digits has 1797 images); the bundled Fashion-MNIST subset has its own (see
    `archsearch.data.fashion_subset`: the quick presets keep their sizes on it)."""
    from archsearch.data.fashion_subset import SUBSET_NAME, SUBSET_SPLIT

    if preset == "smoke":
        return {"val_size": min(256, train_images // 5), "small_val_size": min(128, train_images // 10),
                "train_size": min(512, train_images // 2)}
    if dataset_name == SUBSET_NAME:
        return dict(SUBSET_SPLIT)
    if train_images < 30000:
        return {"val_size": train_images // 5, "small_val_size": train_images // 10}
    return {"val_size": 10000, "small_val_size": 1000}


def _resolve_space(method: str, config: Any, space: Any, options: dict[str, Any], preset: str,
                   info: Mapping[str, Any], executor: str,
                   constraints: Sequence[Constraint] = ()) -> tuple[str, dict[str, Any], str]:
    """(registered space name, its options, a label for the run name), checked against the method, the data's
    image shape and the run's `constraints` (`check_space_fits`).

    A built-in name gets the preset and the data's shape; a user space ("file.py:function", "package.module:function",
    a function, an nn.Module with choices, a ModuleSpace) is recorded as the space "user" (`archsearch.spaces.user`)."""
    from archsearch.experiment.checks import check_space_fits
    from archsearch.spaces import create_space, user

    if user.is_user_space(space):
        options, search_space, label = user.resolve(space, options, input_shape=info["input_shape"],
                                                    num_classes=info["num_classes"])
        if executor != "local" and str(options["source"]).startswith(user.OBJECT_PREFIX):
            raise UsageError(f"a space given as a Python object exists in this process only, so {executor} workers "
                             "cannot build it; give it as 'FILE.py:FUNCTION' or a function importable from a module")
        name = user.NAME
    elif isinstance(space, str):
        name, options, label = space, fit_space_options(space, options, preset, info), space
        search_space = create_space(name, **options)
    else:
        raise ConfigError(f"space must be a space name, 'FILE.py:FUNCTION', an nn.Module with LayerChoice / "
                          f"InputChoice or a ModuleSpace; got a {type(space).__name__}")
    check = method_spec(method).check_space
    if check is not None:  # a method that cannot search this space says why before the run directory exists
        check(search_space, method, config)
    check_space_fits(search_space, info["input_shape"], constraints)
    return name, options, label


def fit_space_options(name: str, options: dict[str, Any], preset: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """The space's options with the run's preset and the data's image shape and class count filled in (where the
    space takes them and the user did not set them), so the space fits the data and workers rebuild it exactly."""
    import inspect

    from archsearch.spaces import SPACES, create_space

    factory = SPACES.factory(name) if name in _space_names() else None
    if factory is None:
        create_space(name, **options)  # raises the unknown-name error with suggestions
        return options
    accepted = inspect.signature(factory).parameters
    resolved = dict(options)
    if "preset" in accepted and "preset" not in resolved:
        resolved["preset"] = preset
    space = create_space(name, **resolved)
    channels, height = info["input_shape"][:2]  # images are (C, H, W)
    want = {"num_classes": int(info["num_classes"]), "in_channels": int(channels), "input_size": int(height)}
    have = {"num_classes": getattr(space, "num_classes", None),
            "in_channels": getattr(space, "input_shape", (None,))[0],
            "input_size": getattr(space, "input_shape", (None, None))[1]}
    for key, value in want.items():
        if key in accepted and key not in resolved and have[key] != value:
            resolved[key] = value
    if resolved != options:
        create_space(name, **resolved)  # fail now, not in a worker, if the space cannot take the data's shape
    return resolved


def _space_names() -> list[str]:
    from archsearch.spaces import space_names

    return space_names()


# -- starting and resuming ----------------------------------------------------------------------------------------------
def default_runs_dir() -> Path:
    return Path(os.environ.get("ARCHSEARCH_RUNS", "runs"))


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
        document = dataclasses.asdict(settings)
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


def read_settings(run_dir: Path) -> RunSettings:
    path = Path(run_dir) / CONFIG_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    fields = {f.name for f in dataclasses.fields(RunSettings)}
    try:
        return RunSettings(**{k: v for k, v in document.items() if k in fields})
    except TypeError as err:
        raise ConfigError(f"{path} is not a run config: {err}") from None


def run(method: str, *, runs_dir: str | Path | None = None, crash_after_checkpoints: int | None = None,
        quiet: bool | None = None, **options: Any) -> SearchResult:
    """Start a run of `method` and execute it to the end (see `resolve_settings` for the options)."""
    from archsearch.experiment.checks import check_runs_dir

    distributed.init_from_env()  # under torchrun: join the process group; rank 0's settings (run name) for all
    check_runs_dir(runs_dir if runs_dir is not None else default_runs_dir())  # before the data is even read
    settings = distributed.broadcast_object(resolve_settings(method, **options) if distributed.is_main() else None)
    experiment = start(settings, runs_dir, crash_after_checkpoints=crash_after_checkpoints, quiet=quiet)
    return experiment.execute(resume=False)


def resume(run: str | Path, *, runs_dir: str | Path | None = None, crash_after_checkpoints: int | None = None,
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
        experiment = Experiment(settings, run_dir, crash_after_checkpoints=crash_after_checkpoints, quiet=quiet,
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


def _check_overrides(values: Mapping[str, Any]) -> None:
    """Where a resumed run continues must exist here: its device, worker count, executor."""
    from archsearch.experiment.checks import check_device, check_executor, check_workers

    typed = _typed_settings(**values)
    check_workers(typed.get("workers"))
    check_device(typed.get("device"))
    if "executor" in typed:  # the whole picture (the run's own executor with the new address, say)
        check_executor(typed["executor"] or "local", typed.get("ray_address"))


def _percent(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.2f}%"


def _without(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != key}


# -- JSON of results ------------------------------------------------------------------------------------------------------
def candidate_json(candidate: Candidate) -> dict[str, Any]:
    return {"arch": dict(candidate.arch), "objectives": json_value(dict(candidate.objectives)),
            "attrs": json_value(dict(candidate.attrs))}


__all__ = ["CheckpointError", "Experiment", "RunSettings", "SimulatedCrash", "candidate_json", "data_info",
           "fit_space_options", "read_settings", "resolve_settings", "resume", "run", "start"]
