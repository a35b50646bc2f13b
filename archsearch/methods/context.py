"""`RunContext`: everything a method gets from the experiment around it (its only door to storage and compute).

Methods never open files, databases or Ray themselves: they ask the context, typed by this protocol. It lives here,
beside the methods, so that they can import it; `archsearch.experiment` implements it twice: `Experiment` (the run
directory) and `MemoryContext` (in memory, for tests), and `archsearch.experiment.testing.check_run_context` checks
that every implementation keeps the same contract.

What the methods used to write each for themselves is here once: `RunContext.evaluate_many` submits evaluations to
the executor, opening each one's ledger trial, and hands them back as they complete; `RunContext.record` writes a
ledger trial from values measured in the driver or from an evaluation's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, ContextManager, Iterable, Iterator, Mapping, Protocol, Sequence,
                    TypedDict, runtime_checkable)

if TYPE_CHECKING:
    import numpy as np
    import torch

    from archsearch.cost.constraints import Constraint
    from archsearch.data.splits import Splits
    from archsearch.methods._base import Method
    from archsearch.space.space import Arch
    from archsearch.spaces import SearchSpace
    from archsearch.train.task import EvalResult


class TrialView(Protocol):
    """A ledger trial as plain values (`archsearch.experiment.ledger.TrialRecord`)."""

    @property
    def key(self) -> str: ...

    @property
    def phase(self) -> str: ...

    @property
    def state(self) -> str: ...  # complete | running | failed | pruned

    @property
    def arch(self) -> dict[str, Any]: ...

    @property
    def values(self) -> dict[str, float]: ...

    @property
    def attrs(self) -> dict[str, Any]: ...

    @property
    def per_epoch(self) -> dict[int, float]: ...


class Ledger(Protocol):
    """The trial ledger, on Optuna's storage (SQLite in the run dir by default, PostgreSQL by URL).

    One trial per evaluated arch: params = the arch's choices, values = the objectives, per-epoch values as
    intermediate values, attributes (macs, params, latency_ms, seconds, phase, key, ...), state. Only the driver
    writes. `key` identifies a trial across a resume (e.g. "random/17"): `start` with a key already in the ledger
    returns that trial (unless it failed) instead of opening a second one; `find(key)` tells what became of a key.
    Completing a trial that is no longer running does nothing: the first record stands.
    """

    objective_names: tuple[str, ...]  # the values a trial keeps ("accuracy" first); other names are dropped

    def start(self, arch: Arch, *, key: str, phase: str, attrs: dict[str, Any] | None = None) -> int: ...

    def report_epoch(self, trial: int, epoch: int, value: float) -> None: ...

    def complete(self, trial: int, values: dict[str, float], attrs: dict[str, Any] | None = None) -> None: ...

    def fail(self, trial: int, reason: str) -> None: ...

    def prune(self, trial: int, reason: str = "") -> None: ...

    def find(self, key: str) -> TrialView | None: ...

    def trials(self, *, phase: str | None = None, state: str | None = None) -> Sequence[TrialView]: ...


class Executor(Protocol):
    """Runs picklable tasks ``fn(*args)`` locally or on Ray workers; results come back to the driver, a task that
    raised as its exception."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...  # a handle

    def wait_any(self, handles: list[Any]) -> tuple[Any, Any]: ...  # (finished handle, its result or exception)

    def map(self, fn: Callable[..., Any], items: list[Any]) -> list[Any]: ...  # results in order

    @property
    def workers(self) -> int: ...


class ProgressBar(Protocol):
    def advance(self, n: float = 1) -> None: ...

    def update(self, **fields: Any) -> None: ...  # e.g. status="best 91.2%"


class SpaceSpec(TypedDict):
    """The run's space as plain values a worker rebuilds it from (``create_space(name, **options)``)."""

    name: str
    options: dict[str, Any]


class DataSpec(TypedDict, total=False):
    """The run's data as plain values (the data fields of an `EvalTask`)."""

    data: Any  # a built-in name or a path
    data_dir: str | None
    image_size: int | None
    split: dict[str, Any]  # split sizes (`make_splits` keywords)


@dataclass(frozen=True)
class Evaluation:
    """One candidate for `RunContext.evaluate_many`: ``fn(*args)`` runs on the executor (a module-level function
    and plain values, so a Ray worker can run it); its ledger trial (`key`, `arch`, `phase`, `attrs`) is opened
    when it is submitted. `tag` is the method's own reference to it (a proposal or pool index)."""

    key: str
    arch: Arch
    phase: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    tag: Any = None


@dataclass(frozen=True)
class Evaluated:
    """An `Evaluation` that finished: its ledger `trial` (still running until `RunContext.record`) and `outcome`,
    what ``fn`` returned (usually an `EvalResult`) or the exception it raised."""

    evaluation: Evaluation
    trial: int
    outcome: Any


def failure_reason(outcome: EvalResult | BaseException) -> str | None:
    """Why an evaluation gave no result (the exception its task raised, a diverged training, no validation
    accuracy), as its failed trial records it; None when it gave one."""
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}: {outcome}"
    if outcome.diverged or outcome.val_accuracy is None:
        return outcome.error or "no validation accuracy"
    return None


@runtime_checkable
class RunContext(Protocol):
    """What a method is built with, beside its config: the run's settings, storage and compute."""

    @property
    def run_dir(self) -> Path | None:
        """Where `save_weights` writes; None: an in-memory context (weights kept in memory)."""
    seed: int
    device: torch.device
    preset: str  # "paper" | "quick" | "smoke": the run's sizes (spaces and methods scale with it)
    space: SearchSpace  # the run's search space object (`archsearch.spaces`, a user's, with latency costs when
    #                     a constraint needs them)
    constraints: tuple[Constraint, ...]  # the run's resource constraints (``flops<=300M``, ...)
    latency_runtime: str | None  # where latency tables are timed when the method's config names no runtime (None:
    #                              $ARCHSEARCH_LATENCY_RUNTIME, else torch)
    space_spec: SpaceSpec
    data_spec: DataSpec
    ledger: Ledger

    @property
    def executor(self) -> Executor:
        """Where evaluations run (started on first use: Ray takes seconds to come up)."""
        ...

    def splits(self) -> Splits:
        """The run's data splits (train, val, small_val, test), loaded once per process."""
        ...

    def rng(self, *phase: object) -> np.random.Generator:
        """A generator seeded from (seed, *phase): the only source of randomness methods use."""
        ...

    def torch_generator(self, *phase: object) -> torch.Generator: ...

    def checkpoint(self, method: Method) -> None:
        """Atomically save ``method.state_dict()`` (plus counters) so `resume` can continue from here."""
        ...

    def evaluate_many(self, evaluations: Iterable[Evaluation | None], *,
                      in_flight: int | None = None) -> Iterator[Evaluated]:
        """Submit `evaluations` to the executor, each after opening its ledger trial, keeping at most `in_flight`
        running (None: all at once), and yield each as it completes (the local executor completes them in
        submission order). The iterable is read lazily, only when a place is free, so it may propose from what
        the results recorded so far; it yields None when it has nothing to submit until the next result."""
        ...

    def record(self, subject: Evaluated | Arch, values: Mapping[str, float] | None = None, *,
               key: str | None = None, phase: str | None = None,
               attrs: Mapping[str, Any] | None = None, full_curve: bool = False) -> float | None:
        """Write one ledger trial and return the accuracy it recorded (None: the trial failed).

        From an `Evaluated`: its trial completes with the result's validation accuracy, `values` (the costs,
        known in the driver) and `attrs` plus the training's ``seconds``, its per-epoch validation accuracies as
        intermediate values (when more than one, or always with `full_curve`); a result that is no result fails it
        (`failure_reason`).
        From an `Arch` measured in the driver: a trial `key` in `phase` with the objective `values` and `attrs`.
        A key already completed (a resumed run redoing work) keeps its first record."""
        ...

    def save_weights(self, name: str, state: Any) -> str:
        """Save weights (a state_dict) as ``run_dir/name``, atomically, written by rank 0 alone under torchrun;
        returns `name` (paths in results are relative to the run directory). Methods save files only this way."""
        ...

    def load_weights(self, name: str) -> Any:
        """The state_dict `save_weights(name, ...)` saved (on the CPU)."""
        ...

    def progress(self, description: str, total: int | None, *,
                 status: str | None = None) -> ContextManager[ProgressBar]:
        """A progress bar (rich) with ETA: ``with ctx.progress("supernet", total=n) as bar: bar.advance()``; its
        line ends with `status`, by default the best accuracy recorded so far, named by its kind."""
        ...

    def end_search(self) -> None:
        """The search is over: a method that runs its own final training says so first, so that training is not
        counted as search time (the experiment ends the search itself when `run` returns)."""
        ...

    def log(self, message: str) -> None: ...

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        """Append a row to ``run_dir/metrics/<series>.jsonl`` (atomic append), for reports (pool size, eps, ...)."""
        ...


def latency_progress(ctx: Any) -> Callable[[int], ContextManager[Callable[[int, int], None]]]:
    """A progress bar of `ctx` for measuring a latency table (`archsearch.cost.latency.ensure_table`'s
    ``progress``): a run that needs a table it does not find measures it first, and shows how far it is."""
    import contextlib

    @contextlib.contextmanager
    def bar(total: int) -> Iterator[Callable[[int, int], None]]:
        with ctx.progress("latency table (op sweeps)", total, status="") as shown:
            yield lambda done, _total: shown.update(completed=done)

    return bar


__all__ = ["DataSpec", "Evaluated", "Evaluation", "Executor", "Ledger", "ProgressBar", "RunContext", "SpaceSpec",
           "TrialView", "failure_reason", "latency_progress"]
