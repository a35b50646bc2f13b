"""Successive halving for searches that train candidates from scratch (Jamieson & Talwalkar 2016; asynchronous, as
ASHA, Li et al. 2020; the baseline of Li & Talwalkar 2019): every candidate first trains for a short rung, and only
the top 1/eta of the candidates that reached a rung train on to the next, eta times longer, up to the full length.

The promotion rule is Optuna's `SuccessiveHalvingPruner`, not a copy of it. The driver owns one single-objective
Optuna study in memory, one trial per candidate, and asks the pruner after each rung. The decisions depend only on the
order in which the driver reports rungs: with the local executor's in-order results, any number of workers gives the
same run. The study is rebuilt on resume by replaying the reports in their order (`state_dict` keeps them).

A promoted candidate trains again from scratch for the next rung (each rung is one whole training of that length,
with its own schedule): a rung's accuracy is then "accuracy after E epochs", the quantity the judge uses, at the
price of retraining the shorter rungs (1/eta + 1/eta^2 + ... of the longest, a third at eta = 4).
"""

from __future__ import annotations

import warnings
from typing import Any

from archsearch.errors import ConfigError


def rung_epochs(min_epochs: int, reduction_factor: int, max_epochs: int) -> list[int]:
    """Training lengths of the rungs: min, min*eta, min*eta^2, ... below `max_epochs`, then `max_epochs`."""
    if min_epochs < 1 or reduction_factor < 2 or max_epochs < 1:
        raise ConfigError(f"successive halving needs min_epochs >= 1, reduction_factor >= 2 and epochs >= 1; got "
                          f"{min_epochs}, {reduction_factor}, {max_epochs}")
    rungs, epochs = [], min_epochs
    while epochs < max_epochs:
        rungs.append(epochs)
        epochs *= reduction_factor
    return rungs + [max_epochs]


class SuccessiveHalving:
    """The promotion decisions of one search: `report(candidate, epochs, accuracy)` says whether it trains on."""

    def __init__(self, min_epochs: int, reduction_factor: int, max_epochs: int) -> None:
        self.rungs = rung_epochs(min_epochs, reduction_factor, max_epochs)
        self.min_epochs, self.reduction_factor = min_epochs, reduction_factor
        self._reports: list[tuple[int, int, float]] = []  # (candidate, epochs, accuracy) in the order reported
        self._trials: dict[int, Any] = {}  # candidate -> its Optuna trial
        self._study = self._new_study()

    def _new_study(self) -> Any:
        import optuna

        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=self.min_epochs,
                                                        reduction_factor=self.reduction_factor)
        return optuna.create_study(direction="maximize", pruner=pruner, storage=optuna.storages.InMemoryStorage())

    def report(self, candidate: int, epochs: int, accuracy: float) -> bool:
        """Record the candidate's accuracy after its rung of `epochs`; True: it trains on at the next rung. The
        last rung's report closes the candidate (False)."""
        self._reports.append((candidate, int(epochs), float(accuracy)))
        return self._decide(candidate, int(epochs), float(accuracy))

    def _decide(self, candidate: int, epochs: int, accuracy: float) -> bool:
        import optuna

        trial = self._trials.get(candidate)
        if trial is None:
            trial = self._trials[candidate] = self._study.ask()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reporting a step twice (a replay) warns; the first value stands
            trial.report(accuracy, epochs)
        if epochs >= self.rungs[-1]:
            self._study.tell(trial, accuracy)
            return False
        if trial.should_prune():
            self._study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return False
        return True

    def next_rung(self, epochs: int) -> int:
        """The training length after a rung of `epochs`."""
        return next(r for r in self.rungs if r > epochs)

    def state_dict(self) -> dict[str, Any]:
        return {"reports": [list(r) for r in self._reports]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replay the reports in their order: the pruner's view, and so every later decision, is as it was."""
        self._reports, self._trials, self._study = [], {}, self._new_study()
        for candidate, epochs, accuracy in state.get("reports") or []:
            self.report(int(candidate), int(epochs), float(accuracy))


__all__ = ["SuccessiveHalving", "rung_epochs"]
