"""`EvalTask` -> `run_eval_task` -> `EvalResult`: train one candidate from scratch, anywhere.

Methods that train candidates (random search, hierarchical evolution, FBNetV3's stage 2, retraining of found
archs) describe each job as a small picklable `EvalTask` and hand it to the executor (local or Ray); the worker
rebuilds the space by name and the data from plain values (see `archsearch.train.task`). This sits above
`archsearch.spaces`, which it builds from, and below the methods and executors that submit it.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch

from archsearch.errors import DivergedError
from archsearch.spaces import create_space
from archsearch.train.device import resolve_device
from archsearch.train.recipe import Recipe
from archsearch.train.task import EvalResult, EvalTask, cached_splits, seeded
from archsearch.train.trainer import evaluate, train


def run_eval_task(task: EvalTask, on_epoch: Callable[[int, dict[str, float | None]], None] | None = None, *,
                  teacher: dict[str, Any] | None = None, keep_weights: bool = False) -> EvalResult:
    """Build ``task.arch`` in ``task.space``, train it with ``task.recipe`` for ``task.epochs``, evaluate.

    A NaN / inf loss does not raise: the result has ``diverged=True`` and the message in ``error`` (searches
    record the candidate as failed and go on). Weight init is seeded by ``task.seed`` inside `seeded`, so the
    process's global RNG is left as it was. ``teacher = {"arch": ..., "state": state_dict}`` (an arch of the same
    space) turns on distillation; ``keep_weights`` returns the trained state_dict in ``weights``.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    previous_threads = torch.get_num_threads()
    if task.threads > 0:
        torch.set_num_threads(task.threads)
    try:
        search_space = create_space(task.space, **task.space_options)
        arch = search_space.space.validate(task.arch)
        cost = search_space.cost(arch)
        recipe = Recipe.from_dict(task.recipe)
        splits = cached_splits(task.data, task.data_dir, dict(task.split), task.image_size)
        device = resolve_device(task.device)
        with seeded(task.seed):
            model = search_space.build(arch)
            teacher_model = None
            if teacher is not None:  # its init is overwritten: built here only to leave the global RNG alone
                teacher_model = search_space.build(search_space.space.validate(teacher["arch"]))
                teacher_model.load_state_dict(teacher["state"])
        generator = torch.Generator().manual_seed(task.seed)
        history: list[dict[str, float | None]] = []

        def record(epoch: int, metrics: dict[str, float | None]) -> None:
            history.append(metrics)
            if on_epoch is not None:
                on_epoch(epoch, metrics)

        try:
            train(model, splits, recipe, task.epochs, device=device, generator=generator, teacher=teacher_model,
                  on_epoch=record)
        except DivergedError as err:
            return EvalResult(history, None, None, int(cost.macs), int(cost.params), time.perf_counter() - start,
                              diverged=True, error=str(err), cpu_seconds=time.process_time() - cpu_start)
        last = history[-1] if history else {}
        test_accuracy = evaluate(model, splits.test, device=device)[1] if task.test else None
        weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()} if keep_weights else None
        return EvalResult(history, last.get("val_accuracy"), test_accuracy, int(cost.macs), int(cost.params),
                          time.perf_counter() - start, val_loss=last.get("val_loss"), weights=weights,
                          cpu_seconds=time.process_time() - cpu_start)
    finally:
        torch.set_num_threads(previous_threads)


__all__ = ["run_eval_task"]
