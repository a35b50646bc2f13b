"""`retrain`: train an architecture from scratch with S seeds and report its test accuracy, through an executor.

The one retraining of archsearch: the end of every run (the winner, with its method's final recipe),
`archsearch train` (an arch file) and comparison studies (every method's choice under one recipe) all call it, or
its two halves `final_tasks` (the jobs) and `summarise_final` (the `FinalResult`) when they drive the jobs
themselves. The jobs go through the executor, so with Ray the seeds train in parallel.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from archsearch.methods.final_training import FIELD as FINAL_FIELD
from archsearch.methods.final_training import FinalTraining
from archsearch.tasks.final import (FinalResult, check_input_shape, final_recipe, final_tasks, mean_ci95,
                                    run_final_task, seed_list, summarise_final)
from archsearch.train.recipe import Recipe
from archsearch.train.task import EvalResult, EvalTask

ResultCallback = Callable[[EvalTask, Any], None]  # (task, EvalResult or the exception it raised)


def final_plan(config: Any) -> FinalTraining | None:
    """A method config's `FinalTraining` part; None when it has none (a user's method that declares no final
    training)."""
    final = getattr(config, FINAL_FIELD, None)
    return final if isinstance(final, FinalTraining) else None


def final_split(split: Mapping[str, Any]) -> dict[str, Any]:
    """A run's split options for its final training: none held out for validation (the papers retrain on the
    whole training set); a `train_size` cap (smoke) and the split seed stay."""
    return {**dict(split), "val_size": 0, "small_val_size": 0}


def retrain(arch: Mapping[str, Any], *, space: str | Mapping[str, Any], space_options: Mapping[str, Any] | None = None,
            data: str = "fashion-mnist", data_dir: str | None = None, image_size: int | None = None,
            split: Mapping[str, Any] | None = None,
            epochs: int, seeds: int | Sequence[int] = 1, recipe: Recipe | Mapping[str, Any] | None = None,
            executor: Any = None, workers: int | None = None, threads: int = 1, device: str | None = None,
            keep_weights: bool = False, done: Mapping[int, EvalResult] | None = None,
            on_result: ResultCallback | None = None,
            on_epoch: Callable[[int, int, dict[str, Any]], None] | None = None) -> FinalResult:
    """Train `arch` of `space` from scratch for `epochs` with each seed and evaluate it on the test set.

    - `seeds`: a count (seeds 0, 1, ...) or the seeds; `recipe`: `Recipe` fields over the space's searched recipe
      (FBNetV3's joint space) or `Recipe`'s defaults; `split`: `make_splits` options (default: every training
      image); `image_size`: an image folder's images resized to that size, as the search did.
    - `executor`: None or "local" (a worker process per seed, up to one per core; one seed trains here), "ray",
      or an executor object (left running; one made here is shut down). `threads`: torch threads per job (see `final_tasks`).
    - `done`: {seed: EvalResult} already trained (a resumed run reads them from its ledger): not trained again.
      `on_result(task, result)` sees each new result as it arrives (to record it); `on_epoch(seed, epoch, metrics)`
      follows the training, with the in-process executor only.
    - `keep_weights`: the trained weights come back in `FinalResult.weights`.
    """
    from archsearch.executors import create_executor
    from archsearch.executors.processes import default_workers

    owned = executor is None or isinstance(executor, str)
    if owned and (executor or "local") == "local" and workers is None:
        workers = min(len(seed_list(seeds)), default_workers())  # one seed: this process, nothing to start
    pool = create_executor(executor or "local", workers=workers) if owned else executor
    try:
        in_process = bool(getattr(pool, "in_process", False))
        check_input_shape(space, data, data_dir, space_options, image_size)
        tasks = final_tasks(arch, space=space, space_options=space_options, data=data, data_dir=data_dir,
                            image_size=image_size, split=split, epochs=epochs, seeds=seeds, recipe=recipe,
                            threads=threads, device=device)
        results = run_tasks(pool, tasks, done=done, on_result=on_result, keep_weights=keep_weights,
                            on_epoch=on_epoch if in_process else None)
    finally:
        if owned and hasattr(pool, "shutdown"):
            pool.shutdown()
    return summarise_final(results, tasks)


def run_tasks(executor: Any, tasks: Sequence[EvalTask], *, done: Mapping[int, EvalResult] | None = None,
              on_result: ResultCallback | None = None, keep_weights: bool = False,
              on_epoch: Callable[[int, int, dict[str, Any]], None] | None = None) -> list[Any]:
    """Run the final-training `tasks` not in `done` (by seed) through `executor`; the results in task order."""
    done = dict(done or {})
    results: dict[int, Any] = {i: done[t.seed] for i, t in enumerate(tasks) if t.seed in done}
    handles: list[Any] = []
    positions: list[int] = []
    for i, task in enumerate(tasks):
        if i in results:
            continue
        if on_epoch is None:
            handles.append(executor.submit(run_final_task, task, None, keep_weights))
        else:
            handles.append(executor.submit(run_final_task, task, None, keep_weights,
                                           lambda epoch, metrics, seed=task.seed: on_epoch(seed, epoch, metrics)))
        positions.append(i)
    while handles:
        handle, outcome = executor.wait_any(list(handles))
        index = next(n for n, h in enumerate(handles) if h is handle)
        handles.pop(index)
        position = positions.pop(index)
        results[position] = outcome
        if on_result is not None:
            on_result(tasks[position], outcome)
    return [results[i] for i in range(len(tasks))]


__all__ = ["FinalResult", "final_plan", "final_recipe", "final_split", "final_tasks", "mean_ci95", "retrain",
           "run_tasks", "seed_list", "summarise_final"]
