"""Training shared by stage 2 and the final training: the worker side (module-level functions, so executors can
pickle them) and the driver's side (a task's seed; the context evaluates and records)."""

from __future__ import annotations

import time
from typing import Any

from archsearch.methods.context import RunContext
from archsearch.tasks.final import run_final_task
from archsearch.tasks import run_eval_task
from archsearch.train.task import EvalResult, EvalTask, seeded


# -- worker side ------------------------------------------------------------------------------------------------------
class _StopTraining(Exception):
    pass


def train_until(task: EvalTask, stop_epoch: int | None = None) -> EvalResult:
    """Train ``task`` with its full ``task.epochs`` schedule but stop after `stop_epoch` epochs (FBNetV3's early
    stopping: the schedule is the full one, cut short). Module-level, so executors can pickle it.

    The global torch RNG (dropout and drop-path draw from it) is seeded from ``task.seed`` inside `seeded`, so a
    candidate trains identically wherever and whenever it runs (a resumed search equals an uninterrupted one).
    """
    with seeded(task.seed + 1):
        if stop_epoch is None or stop_epoch >= task.epochs:
            return run_eval_task(task)
        return _train_cut_short(task, stop_epoch)


def _train_cut_short(task: EvalTask, stop_epoch: int) -> EvalResult:
    history: list[dict[str, float | None]] = []
    start, cpu_start = time.perf_counter(), time.process_time()

    def stop(epoch: int, metrics: dict[str, float | None]) -> None:
        history.append(metrics)
        if epoch >= stop_epoch:
            raise _StopTraining

    try:
        return run_eval_task(task, on_epoch=stop)
    except _StopTraining:
        from archsearch.spaces import create_space

        search_space = create_space(task.space, **task.space_options)
        cost = search_space.cost(search_space.space.validate(task.arch))
        last = history[-1]
        return EvalResult(history, last.get("val_accuracy"), None, int(cost.macs), int(cost.params),
                          time.perf_counter() - start, val_loss=last.get("val_loss"),
                          cpu_seconds=time.process_time() - cpu_start)


def train_final(task: EvalTask, teacher: dict[str, Any] | None = None) -> EvalResult:
    """Final training of a found pair (module-level, so executors can pickle it): the one final training
    (`run_final_task`) keeping the trained weights (the EMA ones when the recipe has EMA); ``teacher`` =
    ``{"arch": ..., "state": state_dict}`` in the task's space turns on distillation (FBNetV3 sec. 4.3)."""
    return run_final_task(task, teacher, keep_weights=True)


# -- driver side ------------------------------------------------------------------------------------------------------
def task_seed(ctx: RunContext, key: str) -> int:
    """The seed of the training task `key` ("stage2/<t>/<j>", "final/<i>", ...): from the run's seed and the key
    alone, so a resumed run trains every candidate as an uninterrupted one does."""
    return int(ctx.rng("nars", "train", key).integers(2**31 - 1))


__all__ = ["task_seed", "train_final", "train_until"]
