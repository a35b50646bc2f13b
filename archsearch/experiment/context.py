"""What every implementation of the `RunContext` protocol (`archsearch.methods.context`) shares: evaluations through
the executor and trial records, written once on top of the context's `ledger` and `executor`.

`Experiment` (`run.py`) and `MemoryContext` (`testing.py`) both build on `ContextServices`; the protocol and its
parts are re-exported here for code that imported them from this module.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from archsearch.methods.context import (DataSpec, Evaluated, Evaluation, Executor, Ledger, RunContext, SpaceSpec,
                                        failure_reason)
from archsearch.space.space import Arch

_END = object()


class ContextServices:
    """`RunContext.evaluate_many` and `RunContext.record`, for a class with a `ledger` and an `executor`."""

    ledger: Ledger
    executor: Executor

    def evaluate_many(self, evaluations: Iterable[Evaluation | None], *,
                      in_flight: int | None = None) -> Iterator[Evaluated]:
        source = iter(evaluations)
        running: list[tuple[Any, Evaluation, int]] = []  # (executor handle, evaluation, ledger trial)
        exhausted = False
        while True:
            while not exhausted and (in_flight is None or len(running) < in_flight):
                evaluation = next(source, _END)
                if evaluation is _END:
                    exhausted = True
                elif evaluation is None:  # nothing to submit until one of those running finishes
                    break
                else:
                    assert isinstance(evaluation, Evaluation)
                    trial = self.ledger.start(evaluation.arch, key=evaluation.key, phase=evaluation.phase,
                                              attrs=dict(evaluation.attrs))
                    running.append((self.executor.submit(evaluation.fn, *evaluation.args), evaluation, trial))
            if not running:
                return
            handle, outcome = self.executor.wait_any([h for h, _, _ in running])  # handles need not be hashable
            position = next(k for k, (h, _, _) in enumerate(running) if h is handle)
            _, evaluation, trial = running.pop(position)
            yield Evaluated(evaluation, trial, outcome)

    def record(self, subject: Evaluated | Arch, values: Mapping[str, float] | None = None, *,
               key: str | None = None, phase: str | None = None,
               attrs: Mapping[str, Any] | None = None, full_curve: bool = False) -> float | None:
        ledger = self.ledger
        values = dict(values or {})
        attrs = dict(attrs or {})
        if isinstance(subject, Evaluated):
            trial, outcome = subject.trial, subject.outcome
            if not isinstance(outcome, BaseException):
                curve = [row.get("val_accuracy") for row in outcome.per_epoch]
                if len(curve) > 1 or full_curve:  # one epoch: its value is the objective (one storage write less)
                    for epoch, value in enumerate(curve, start=1):
                        if value is not None:
                            ledger.report_epoch(trial, epoch, float(value))
            reason = failure_reason(outcome)
            if reason is not None:
                ledger.fail(trial, reason)
                return None
            accuracy: float | None = float(outcome.val_accuracy)
            values = {"accuracy": accuracy, **values}  # type: ignore[dict-item]
            attrs = {"seconds": float(outcome.seconds), **attrs}
        else:
            if key is None or phase is None:
                raise TypeError("record(arch, values) needs the trial's key= and phase=")
            # every attribute goes in with `start` (one write); a key already recorded returns its trial
            trial = ledger.start(subject, key=key, phase=phase, attrs=attrs)
            attrs = {}
            accuracy = values.get("accuracy")
        ledger.complete(trial, {k: v for k, v in values.items() if k in ledger.objective_names}, attrs)
        return accuracy


__all__ = ["ContextServices", "DataSpec", "Evaluated", "Evaluation", "Executor", "Ledger", "RunContext", "SpaceSpec"]
