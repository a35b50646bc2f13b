"""Helpers for tests (ours and users' own methods).

``ctx = make_context(tmp_path, method="random", space="hierarchical", space_options={"preset": "smoke"})`` gives a
full `RunContext` (SQLite ledger, checkpoints, metric files) on scikit-learn's `digits` by default;
`run_with_crash` kills a run after N checkpoints and resumes it, for resume-equals-uninterrupted tests.
`MemoryContext` is the same protocol in memory, for unit tests of a method's pieces on a toy space: checkpoints
are serialised and reloaded as a resume does them, the ledger (`MemoryLedger`) keeps `OptunaLedger`'s rules.
`LEDGER_CHECKS` is what every ledger implementation must pass (the ledger conformance checks).
`check_run_context(ctx)` is what every `RunContext` implementation must pass (the context conformance suite).
"""

from __future__ import annotations

import contextlib
import io
import math
import types
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from archsearch._json import json_value
from archsearch.experiment.context import ContextServices
from archsearch.experiment.ledger import OBJECTIVES, TrialRecord
from archsearch.experiment.experiment import Experiment
from archsearch.experiment.run import resume, run, start
from archsearch.experiment.settings import resolve_settings
from archsearch.methods import Evaluated, Evaluation, RunContext, SearchResult
from archsearch.methods.context import DataSpec, Ledger, SpaceSpec
from archsearch.space.choices import Categorical, Numeric
from archsearch.space.space import Arch, Space


def make_context(tmp_path: str | Path, *, method: str = "random", space: str | None = None,
                 space_options: dict[str, Any] | None = None, data: str = "digits", seed: int = 0,
                 constraints: tuple[str, ...] | list[str] = (), preset: str = "smoke", executor: str = "local",
                 name: str = "test", **options: Any) -> Experiment:
    space_arg: Any = {"name": space, "options": dict(space_options or {})} if space else None
    settings = resolve_settings(method, space=space_arg, data=data, seed=seed, constraints=list(constraints),
                                preset=preset, executor=executor, name=name, **options)
    return start(settings, Path(tmp_path), quiet=True)


class SimulatedCrash(RuntimeError):
    """Raised right after a given number of checkpoints (`crash_after`, `MemoryContext`): a run killed there."""


@contextlib.contextmanager
def crash_after(checkpoints: int) -> Iterator[None]:
    """Within the block, every `Experiment` raises `SimulatedCrash` right after its `checkpoints`-th checkpoint
    (counted per experiment): what a kill at that moment leaves behind, for resume-equals-uninterrupted tests."""
    written: dict[int, int] = {}
    original = Experiment.checkpoint

    def checkpoint(self: Experiment, method: Any) -> None:
        original(self, method)
        written[id(self)] = written.get(id(self), 0) + 1
        if written[id(self)] >= checkpoints:
            raise SimulatedCrash(f"simulated crash after {written[id(self)]} checkpoints")

    Experiment.checkpoint = checkpoint  # type: ignore[method-assign]
    try:
        yield
    finally:
        Experiment.checkpoint = original  # type: ignore[method-assign]


def run_with_crash(method: str, crash_after_checkpoints: int, *, runs_dir: str | Path, name: str = "crashed",
                   **run_kwargs: Any) -> SearchResult:
    """Run `method`, crash it right after `crash_after_checkpoints` checkpoints, resume it to the end."""
    run_kwargs.setdefault("quiet", True)
    try:
        with crash_after(crash_after_checkpoints):
            run(method, runs_dir=runs_dir, name=name, **run_kwargs)
    except SimulatedCrash:
        pass
    else:
        raise AssertionError(f"the run finished before its checkpoint {crash_after_checkpoints}: crash earlier")
    return resume(name, runs_dir=runs_dir, quiet=run_kwargs["quiet"])


class MemoryLedger:
    """The `Ledger` protocol in memory with `OptunaLedger`'s rules: a key names one trial across a resume unless
    that trial failed, the first completion stands, a non-finite objective fails the trial, values other than the
    objectives are not kept, attributes come back as JSON gives them back. It passes `LEDGER_CHECKS`."""

    def __init__(self, objective_names: Sequence[str] = OBJECTIVES) -> None:
        self.objective_names = tuple(objective_names)
        self._rows: list[dict[str, Any]] = []
        self._by_key: dict[str, int] = {}

    def start(self, arch: Arch, *, key: str, phase: str, attrs: dict[str, Any] | None = None) -> int:
        existing = self._by_key.get(key)
        if existing is not None and self._rows[existing]["state"] != "failed":
            return existing
        self._rows.append({"state": "running", "arch": dict(arch), "values": {}, "per_epoch": {},
                           "attrs": json_value({**(attrs or {}), "key": key, "phase": phase}, finite=False)})
        self._by_key[key] = len(self._rows) - 1
        return len(self._rows) - 1

    def report_epoch(self, trial: int, epoch: int, value: float) -> None:
        if self._rows[trial]["state"] == "running" and math.isfinite(value):
            self._rows[trial]["per_epoch"][int(epoch)] = float(value)

    def complete(self, trial: int, values: dict[str, float], attrs: dict[str, Any] | None = None) -> None:
        row = self._rows[trial]
        if row["state"] != "running":
            return  # the first completion stands
        attrs = dict(attrs or {})
        objectives = {}  # values of other names are not objectives of this ledger: dropped
        for name in self.objective_names:
            value = values.get(name, attrs.get(name))
            if value is not None:
                objectives[name] = float(value)
        row["attrs"].update(json_value(attrs, finite=False))
        if not all(math.isfinite(v) for v in objectives.values()):
            self.fail(trial, f"non-finite objective values {objectives}")
            return
        row.update(state="complete", values=objectives)

    def fail(self, trial: int, reason: str) -> None:
        self._end(trial, "failed", fail_reason=str(reason)[:2000])

    def prune(self, trial: int, reason: str = "") -> None:
        self._end(trial, "pruned", **({"prune_reason": str(reason)[:2000]} if reason else {}))

    def find(self, key: str) -> TrialRecord | None:
        return self._record(self._by_key[key]) if key in self._by_key else None

    def trials(self, *, phase: str | None = None, state: str | None = None) -> list[TrialRecord]:
        records = [self._record(i) for i in range(len(self._rows))]
        return [r for r in records if (phase is None or r.phase == phase) and (state is None or r.state == state)]

    def __len__(self) -> int:
        return len(self._rows)

    def _end(self, trial: int, state: str, **attrs: Any) -> None:
        if self._rows[trial]["state"] == "running":
            self._rows[trial].update(state=state)
            self._rows[trial]["attrs"].update(attrs)

    def _record(self, i: int) -> TrialRecord:
        row = self._rows[i]
        return TrialRecord(i, row["state"], dict(row["arch"]), dict(row["values"]),
                           json_value(row["attrs"], finite=False), per_epoch=dict(row["per_epoch"]))


# -- ledger conformance -----------------------------------------------------------------------------------------------
# What every `Ledger` implementation must do, as checks in the manner of Optuna's tests of its own storages: a test
# runs each of `LEDGER_CHECKS` on each implementation (tests/integration/test_ledger.py: the SQLite ledger through its fast
# writer and through Optuna's API, the PostgreSQL one where a server can start, `MemoryLedger`). A check gets
# `open_ledger`: its first call opens the implementation's ledger on an empty store, every later call opens that
# store again, as a resumed driver does (an in-memory ledger returns the same object); the objectives are
# `OBJECTIVES`, and a ledger that records the arch's choices as typed parameters takes them from `LEDGER_SPACE`.
# (`RankLedger` of torchrun's other ranks is left out: it records nothing, on purpose.)

_LEDGER_CHOICES: dict[str, Categorical | Numeric] = {"op": Categorical(["conv3", "conv5", "skip"]),
                                                     "width": Numeric(8, 64, step=8), "ratio": Numeric(0.0, 1.0),
                                                     "bias": Categorical([True, False])}
LEDGER_SPACE = Space(_LEDGER_CHOICES, name="conformance")
_COMPLETE_VALUES = {"accuracy": 0.5, "macs": 1000.0, "params": 20.0}  # every objective of a completed trial


def _ledger_arch(i: int) -> Arch:
    return Arch({"op": ("conv3", "conv5", "skip")[i % 3], "width": 8 * (1 + i % 8), "ratio": (i % 8) / 7,
                 "bias": i % 2 == 0})


def check_start_opens_one_running_trial_per_key(open_ledger: Callable[[], Any]) -> None:
    ledger = open_ledger()
    assert tuple(ledger.objective_names) == OBJECTIVES
    assert ledger.find("a") is None and ledger.trials() == [] and len(ledger) == 0
    trial = ledger.start(_ledger_arch(1), key="a", phase="search", attrs={"origin": "init"})
    assert ledger.start(_ledger_arch(1), key="a", phase="search") == trial, "a running key opened a second trial"
    record = ledger.find("a")
    assert isinstance(record, TrialRecord)
    assert (record.number, record.key, record.phase, record.state) == (0, "a", "search", "running")
    assert record.arch == dict(_ledger_arch(1)) and record.values == {} and record.attrs["origin"] == "init"
    assert len(ledger) == 1 and ledger.trials() == [record]


def check_complete_round_trips_values_attributes_and_epochs(open_ledger: Callable[[], Any]) -> None:
    ledger = open_ledger()
    trial = ledger.start(_ledger_arch(2), key="b", phase="search")
    ledger.report_epoch(trial, 1, 0.25)
    ledger.report_epoch(trial, 2, float("nan"))  # not a value a ledger keeps
    ledger.report_epoch(trial, 3, 1 / 3)
    values = {"accuracy": 1 / 3, "macs": 123456789.0, "params": 4.5e-7}
    attrs = {"seconds": 1.25, "recipe": {"lr": 0.1, "milestones": (1, 2)}, "parent": None, "distilled": True,
             "loss": np.float32(0.5), "epochs": np.int64(3)}
    ledger.complete(trial, {**values, "latency_ms": 2.0}, attrs)  # latency_ms is no objective here
    record = ledger.find("b")
    assert record.state == "complete" and record.values == values and list(record.values) == list(OBJECTIVES)
    assert record.objectives == values and record.metric("accuracy") == 1 / 3 and record.metric("seconds") == 1.25
    assert record.per_epoch == {1: 0.25, 3: 1 / 3}
    assert record.attrs["recipe"] == {"lr": 0.1, "milestones": [1, 2]}, "attributes come back as JSON gives them"
    assert record.attrs["parent"] is None and record.attrs["distilled"] is True
    assert record.attrs["loss"] == 0.5 and record.attrs["epochs"] == 3 and type(record.attrs["epochs"]) is int
    assert record.arch == dict(_ledger_arch(2)) and (record.key, record.phase) == ("b", "search")


def check_the_first_completion_stands(open_ledger: Callable[[], Any]) -> None:
    ledger = open_ledger()
    trial = ledger.start(_ledger_arch(3), key="c", phase="p")
    ledger.complete(trial, _COMPLETE_VALUES, {"seconds": 1.0})
    ledger.complete(trial, {**_COMPLETE_VALUES, "accuracy": 0.9}, {"seconds": 9.0})  # a resume re-ran the work
    ledger.report_epoch(trial, 1, 0.9)
    ledger.fail(trial, "too late")
    ledger.prune(trial, "too late")
    record = ledger.find("c")
    assert record.state == "complete" and record.values == _COMPLETE_VALUES and record.attrs["seconds"] == 1.0
    assert record.per_epoch == {} and "fail_reason" not in record.attrs and "prune_reason" not in record.attrs
    assert ledger.start(_ledger_arch(3), key="c", phase="p") == trial, "a completed key opened a second trial"
    assert len(ledger) == 1


def check_a_failed_key_is_tried_again_in_a_new_trial(open_ledger: Callable[[], Any]) -> None:
    ledger = open_ledger()
    first = ledger.start(_ledger_arch(4), key="d", phase="p")
    ledger.fail(first, "worker died")
    failed = ledger.find("d")
    assert failed.state == "failed" and failed.attrs["fail_reason"] == "worker died"
    second = ledger.start(_ledger_arch(4), key="d", phase="p")
    assert second != first and ledger.find("d").state == "running" and ledger.find("d").number == 1
    ledger.complete(second, {**_COMPLETE_VALUES, "accuracy": float("nan")})
    record = ledger.find("d")
    assert record.state == "failed" and "non-finite" in record.attrs["fail_reason"] and record.values == {}
    assert [(r.number, r.key, r.state) for r in ledger.trials()] == [(0, "d", "failed"), (1, "d", "failed")]


def check_prune_ends_a_trial_with_its_reason(open_ledger: Callable[[], Any]) -> None:
    ledger = open_ledger()
    trial = ledger.start(_ledger_arch(5), key="e", phase="p")
    ledger.report_epoch(trial, 1, 0.1)
    ledger.prune(trial, "below the median")
    record = ledger.find("e")
    assert record.state == "pruned" and record.attrs["prune_reason"] == "below the median"
    assert record.per_epoch == {1: 0.1} and record.values == {}
    other = ledger.start(_ledger_arch(6), key="f", phase="p")
    ledger.prune(other)
    assert ledger.find("f").state == "pruned" and "prune_reason" not in ledger.find("f").attrs


def check_trials_come_in_start_order_and_filter_by_phase_and_state(open_ledger: Callable[[], Any]) -> None:
    ledger = open_ledger()
    phases = ["a", "b", "a", "b", "a"]
    trials = [ledger.start(_ledger_arch(i), key=f"k/{i}", phase=p) for i, p in enumerate(phases)]
    ledger.complete(trials[3], _COMPLETE_VALUES)
    ledger.complete(trials[1], _COMPLETE_VALUES)
    ledger.fail(trials[0], "x")
    records = ledger.trials()
    assert [r.number for r in records] == [0, 1, 2, 3, 4] and len(ledger) == 5
    assert [r.key for r in records] == [f"k/{i}" for i in range(5)]
    assert [r.arch for r in records] == [dict(_ledger_arch(i)) for i in range(5)]
    assert [r.state for r in records] == ["failed", "complete", "running", "complete", "running"]
    assert [r.key for r in ledger.trials(phase="a")] == ["k/0", "k/2", "k/4"]
    assert [r.key for r in ledger.trials(state="complete")] == ["k/1", "k/3"]
    assert [r.key for r in ledger.trials(phase="a", state="running")] == ["k/2", "k/4"]
    assert ledger.trials(phase="c") == [] and ledger.trials(state="pruned") == []
    assert [ledger.find(f"k/{i}") for i in range(5)] == records


def check_a_resumed_ledger_finds_every_key_and_writes_no_duplicate(open_ledger: Callable[[], Any]) -> None:
    ledger = open_ledger()
    done = ledger.start(_ledger_arch(7), key="r/0", phase="p", attrs={"seed": 1})
    ledger.report_epoch(done, 1, 0.4)
    ledger.complete(done, _COMPLETE_VALUES, {"seconds": 3.0})
    running = ledger.start(_ledger_arch(8), key="r/1", phase="p")
    failed = ledger.start(_ledger_arch(9), key="r/2", phase="p")
    ledger.fail(failed, "out of memory")
    before = ledger.trials()
    if hasattr(ledger, "close"):
        ledger.close()  # the driver is gone
    again = open_ledger()
    assert again.trials() == before, "a resumed driver reads other records than were written"
    assert again.start(_ledger_arch(7), key="r/0", phase="p") == done and again.find("r/0").values == _COMPLETE_VALUES
    assert again.start(_ledger_arch(8), key="r/1", phase="p") == running, "a running key opened a second trial"
    again.complete(running, _COMPLETE_VALUES)
    retried = again.start(_ledger_arch(9), key="r/2", phase="p")
    assert retried not in (done, running, failed)
    assert [(r.number, r.key, r.state) for r in again.trials()] == [
        (0, "r/0", "complete"), (1, "r/1", "complete"), (2, "r/2", "failed"), (3, "r/2", "running")]
    assert again.find("r/0").per_epoch == {1: 0.4} and again.find("r/0").attrs["seed"] == 1
    assert again.find("r/3") is None and len(again) == 4


LEDGER_CHECKS: tuple[Callable[[Callable[[], Any]], None], ...] = (
    check_start_opens_one_running_trial_per_key, check_complete_round_trips_values_attributes_and_epochs,
    check_the_first_completion_stands, check_a_failed_key_is_tried_again_in_a_new_trial,
    check_prune_ends_a_trial_with_its_reason, check_trials_come_in_start_order_and_filter_by_phase_and_state,
    check_a_resumed_ledger_finds_every_key_and_writes_no_duplicate)


class MemoryContext(ContextServices):
    """A `RunContext` in memory. Randomness is derived from (seed, *phase) as in `Experiment`; `checkpoint`
    serialises the method's state with torch.save (`latest()` reloads it with weights_only=True, as a resume does)
    and raises `SimulatedCrash` at checkpoint `crash_after`; ``metrics[series]`` lists the logged rows."""

    def __init__(self, space: Any = None, *, splits: Any = None, seed: int = 0, ledger: Any = None,
                 executor: Any = None, constraints: Sequence[Any] = (), crash_after: int | None = None,
                 run_dir: str | Path | None = None, space_spec: SpaceSpec | None = None,
                 data_spec: DataSpec | None = None, preset: str = "smoke", device: str = "cpu") -> None:
        from archsearch.executors.local import LocalExecutor

        self.space, self.seed, self.device = space, seed, torch.device(device)
        self._splits = splits
        self.ledger: Ledger = ledger if ledger is not None else MemoryLedger()
        self.executor = executor if executor is not None else LocalExecutor()
        self.constraints, self.crash_after, self.preset = tuple(constraints), crash_after, preset
        self.latency_runtime: str | None = None  # $ARCHSEARCH_LATENCY_RUNTIME, else torch
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.space_spec: SpaceSpec = space_spec or SpaceSpec(name=str(getattr(space, "name", "")), options={})
        self.data_spec: DataSpec = data_spec or {"data": "digits"}
        self.checkpoints: list[bytes] = []
        self.metrics: dict[str, list[dict[str, float]]] = {}
        self.messages: list[str] = []
        self.weights: dict[str, bytes] = {}  # save_weights without a run_dir: the serialised state_dicts
        self.search_ended = False  # set by `end_search`

    def rng(self, *phase: object) -> np.random.Generator:
        return np.random.default_rng([self.seed] + [zlib.crc32(str(p).encode()) for p in phase])

    def torch_generator(self, *phase: object) -> torch.Generator:
        return torch.Generator().manual_seed(int(self.rng(*phase).integers(2**62)))

    def splits(self) -> Any:
        if callable(self._splits):
            return self._splits()
        if self._splits is not None:
            return self._splits
        from archsearch.train.task import cached_splits

        return cached_splits(self.data_spec["data"], None, dict(self.data_spec.get("split") or {}))

    def checkpoint(self, method: Any) -> None:
        buffer = io.BytesIO()
        torch.save(method.state_dict(), buffer)
        self.checkpoints.append(buffer.getvalue())
        if self.crash_after is not None and len(self.checkpoints) == self.crash_after:
            raise SimulatedCrash(f"simulated crash at checkpoint {self.crash_after}")

    def latest(self) -> dict[str, Any]:
        """The last checkpointed state, as `resume` would load it."""
        return dict(torch.load(io.BytesIO(self.checkpoints[-1]), weights_only=True))

    def save_weights(self, name: str, state: Any) -> str:
        """As `Experiment.save_weights`: into `run_dir` when there is one, else serialised into ``weights[name]``
        (a copy, as a file would be: training on does not change it)."""
        if self.run_dir is None:
            buffer = io.BytesIO()
            torch.save(state, buffer)
            self.weights[name] = buffer.getvalue()
        else:
            from archsearch.experiment.checkpoint import atomic_save

            atomic_save(self.run_dir / name, state)
        return name

    def load_weights(self, name: str) -> Any:
        source: Any = io.BytesIO(self.weights[name]) if self.run_dir is None else self.run_dir / name
        return torch.load(source, map_location="cpu", weights_only=True)

    def end_search(self) -> None:
        self.search_ended = True

    @contextlib.contextmanager
    def progress(self, description: str, total: int | None, *, status: str | None = None) -> Iterator[Any]:
        yield types.SimpleNamespace(advance=lambda n=1: None, update=lambda **fields: None)

    def log(self, message: str) -> None:
        self.messages.append(message)

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        self.metrics.setdefault(series, []).append({"step": step, **values})


__all__ = ["LEDGER_CHECKS", "LEDGER_SPACE", "MemoryContext", "MemoryLedger", "SimulatedCrash", "crash_after", "check_run_context",
           "die_once", "make_context", "run_with_crash"]


def die_once(marker: str, fn: Any, *args: Any) -> Any:
    """Fault injection for executor tests: the first call (no `marker` file yet) kills the process it runs in, as
    an OOM kill or a lost node would; later calls run ``fn(*args)``. Importable by Ray workers."""
    import os

    if not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return fn(*args)


# -- the RunContext conformance suite ----------------------------------------------------------------------------------
def check_run_context(ctx: RunContext) -> None:
    """Check that `ctx` keeps every promise of the `RunContext` protocol, as methods rely on them. Run it on a fresh
    context (an empty ledger, built without a crash point) of every implementation (`Experiment`, `MemoryContext`,
    a user's own), as Optuna's storage tests run on every storage; an AssertionError names the broken promise."""
    assert isinstance(ctx, RunContext), f"{type(ctx).__name__} lacks members of the RunContext protocol"
    _check_settings(ctx)
    _check_randomness(ctx)
    _check_record(ctx)
    _check_evaluate_many(ctx)
    _check_weights(ctx)
    _check_services(ctx)


def _check_settings(ctx: RunContext) -> None:
    assert isinstance(ctx.seed, int) and isinstance(ctx.device, torch.device) and isinstance(ctx.preset, str)
    assert ctx.run_dir is None or isinstance(ctx.run_dir, Path), "run_dir is a Path or None"
    assert isinstance(ctx.constraints, tuple), "constraints is a tuple of Constraint"
    assert isinstance(ctx.space_spec["name"], str) and isinstance(ctx.space_spec["options"], dict)
    assert "data" in ctx.data_spec, "data_spec names the data (an EvalTask's data fields)"
    assert ctx.space.space.choices, "space is a search space with choices"
    splits = ctx.splits()
    assert len(splits.train) > 0 and len(splits.val) > 0, "splits() gives non-empty train and val splits"


def _check_randomness(ctx: RunContext) -> None:
    first = ctx.rng("conformance", 1).integers(2**62, size=4)
    assert (first == ctx.rng("conformance", 1).integers(2**62, size=4)).all(), "rng(*phase) is not reproducible"
    assert (first != ctx.rng("conformance", 2).integers(2**62, size=4)).any(), "two phases share one stream"

    def draw(*phase: object) -> torch.Tensor:
        return torch.rand(4, generator=ctx.torch_generator(*phase))

    assert torch.equal(draw("conformance"), draw("conformance")), "torch_generator(*phase) is not reproducible"
    assert not torch.equal(draw("conformance"), draw("other")), "two phases share one torch stream"


def _arch(ctx: RunContext, i: int) -> Arch:
    return ctx.space.space.sample(ctx.rng("conformance", "arch", i))


def _check_record(ctx: RunContext) -> None:
    ledger, key = ctx.ledger, "conformance/values"
    before = len(ledger.trials())
    values = {"accuracy": 0.5, "macs": 1e6, "params": 1e3, "not_an_objective": 7.0}
    assert ctx.record(_arch(ctx, 0), values, key=key, phase="conformance", attrs={"note": "first"}) == 0.5
    trial = ledger.find(key)
    assert trial is not None and trial.state == "complete" and trial.phase == "conformance"
    assert trial.values == {"accuracy": 0.5, "macs": 1e6, "params": 1e3}, "a trial keeps the objectives only"
    assert trial.attrs["note"] == "first"
    ctx.record(_arch(ctx, 0), {**values, "accuracy": 0.9}, key=key, phase="conformance", attrs={"note": "again"})
    again = ledger.find(key)
    assert again is not None and again.values["accuracy"] == 0.5 and again.attrs["note"] == "first", \
        "a key recorded again (a resumed run redoing work) keeps its first record"
    assert len(ledger.trials()) == before + 1, "a key recorded again opens no second trial"


def _conformance_task(accuracy: float | None) -> Any:
    """A training stand-in for `_check_evaluate_many` (module-level: executors pickle it): two epochs reaching
    `accuracy`, or no data at all."""
    from archsearch.train.task import EvalResult

    if accuracy is None:
        raise ValueError("no data for this evaluation")
    return EvalResult([{"val_accuracy": accuracy / 2}, {"val_accuracy": accuracy}], accuracy, None, 0, 0, 0.01)


def _one_epoch() -> Any:
    """A one-epoch training stand-in: its curve is its objective (recorded only when asked for)."""
    from archsearch.train.task import EvalResult

    return EvalResult([{"val_accuracy": 0.5}], 0.5, None, 0, 0, 0.01)


def _check_evaluate_many(ctx: RunContext) -> None:
    ledger = ctx.ledger
    pulled: list[Any] = []

    def evaluations() -> Iterator[Evaluation]:
        for tag, accuracy in ((0, 0.25), (1, 0.5), (2, 0.75), ("failing", None)):
            pulled.append(tag)
            yield Evaluation(f"conformance/eval/{tag}", _arch(ctx, 1), "conformance", _conformance_task, (accuracy,),
                             attrs={"origin": "conformance"}, tag=tag)

    recorded: dict[Any, float | None] = {}
    for done in ctx.evaluate_many(evaluations(), in_flight=2):
        assert isinstance(done, Evaluated)
        if not recorded:
            assert pulled == [0, 1], "evaluate_many reads its evaluations lazily, `in_flight` at a time"
        open_trial = ledger.find(done.evaluation.key)
        assert open_trial is not None and open_trial.state == "running", "the trial is opened at submission"
        assert open_trial.attrs["origin"] == "conformance"
        recorded[done.evaluation.tag] = ctx.record(done, {"macs": 1e6, "params": 1e3}, attrs={"note": "done"})
    assert recorded == {0: 0.25, 1: 0.5, 2: 0.75, "failing": None}, "each evaluation comes back once, recorded"
    trial = ledger.find("conformance/eval/1")
    assert trial is not None and trial.state == "complete" and trial.values["accuracy"] == 0.5
    assert trial.per_epoch == {1: 0.25, 2: 0.5} and trial.attrs["note"] == "done" and "seconds" in trial.attrs
    single = Evaluation("conformance/one-epoch", _arch(ctx, 4), "conformance", _one_epoch, ())
    for done in ctx.evaluate_many([single]):
        ctx.record(done, {"macs": 1e6, "params": 1e3}, full_curve=True)
    one_epoch = ledger.find("conformance/one-epoch")
    assert one_epoch is not None and one_epoch.per_epoch == {1: 0.5}, "full_curve records a one-epoch curve"
    failed = ledger.find("conformance/eval/failing")
    assert failed is not None and failed.state == "failed"
    assert failed.attrs["fail_reason"] == "ValueError: no data for this evaluation"

    def pausing() -> Iterator[Evaluation | None]:
        yield Evaluation("conformance/pause/0", _arch(ctx, 2), "conformance", _conformance_task, (0.5,))
        yield None  # nothing more until the one running is back (and recorded)
        first = ledger.find("conformance/pause/0")
        assert first is not None and first.state == "complete", "a pause waits for the evaluation running"
        yield Evaluation("conformance/pause/1", _arch(ctx, 3), "conformance", _conformance_task, (0.5,))
        yield None
        yield None  # nothing running: the evaluations end here
        raise AssertionError("evaluate_many read on after a pause with nothing running")

    done_keys = []
    for done in ctx.evaluate_many(pausing(), in_flight=2):
        ctx.record(done, {"macs": 1e6, "params": 1e3})
        done_keys.append(done.evaluation.key)
    assert done_keys == ["conformance/pause/0", "conformance/pause/1"]


def _check_weights(ctx: RunContext) -> None:
    state = {"weight": torch.arange(4.0)}
    name = ctx.save_weights("weights/conformance.pt", state)
    assert name == "weights/conformance.pt", "save_weights returns the path relative to the run directory"
    state["weight"].add_(1)  # what was saved is a copy
    assert torch.equal(ctx.load_weights(name)["weight"], torch.arange(4.0)), "load_weights gives back what was saved"
    assert ctx.run_dir is None or (ctx.run_dir / name).is_file()


class _Probe:
    """The smallest method state a checkpoint takes."""

    def state_dict(self) -> dict[str, Any]:
        return {"step": 1, "values": torch.ones(2)}


def _check_services(ctx: RunContext) -> None:
    ctx.checkpoint(_Probe())  # type: ignore[arg-type]
    with ctx.progress("conformance", total=2) as bar:
        bar.advance()
        bar.update(status="half way")
        bar.advance()
    ctx.log("conformance: a log line")
    ctx.log_metrics("conformance", 0, value=1.0)
    ctx.end_search()
