"""Final training: an architecture trained from scratch with S seeds for E epochs and judged on the official test set.

Every search ends with it (the papers all report their found network after retraining it), `archsearch train`
runs it on an arch file, and a comparison study runs it on every method's choice. `final_tasks` describes the jobs
as `EvalTask`s (so any executor runs them, in parallel on Ray), `summarise_final` turns their results into one
`FinalResult`: the mean test accuracy over seeds with its 95% interval, the per-seed values, the cost of the net
and the time the training took. `archsearch.experiment.retrain.retrain` runs the two end to end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from archsearch.errors import ConfigError, UsageError
from archsearch.spaces import RecipeSpace, create_space
from archsearch.tasks.evaluate import run_eval_task
from archsearch.train.recipe import Recipe
from archsearch.train.task import EvalResult, EvalTask, cached_dataset, seeded

WHOLE_TRAINING_SET = {"val_size": 0, "small_val_size": 0}  # the papers retrain on every training image


@dataclass(frozen=True)
class FinalResult:
    """The test accuracy of one architecture trained from scratch with several seeds.

    `test_accuracy` is the mean over the seeds that finished; `test_accuracy_ci95` the half-width of its 95%
    interval, ``t(0.975, n-1) * s / sqrt(n)`` (Student t: with few seeds the normal quantile is too narrow),
    None with fewer than two finished seeds. `seconds` / `cpu_seconds` add up every seed's training, as measured
    where it ran (the wall time of a parallel retraining is shorter).
    """

    test_accuracy: float | None
    test_accuracies: tuple[float | None, ...]  # per seed, in `seeds` order; None: that seed failed or diverged
    test_accuracy_ci95: float | None
    epochs: int
    seeds: tuple[int, ...]
    seconds: float
    macs: int
    params: int
    cpu_seconds: float = 0.0
    recipe: dict[str, Any] = field(default_factory=dict)
    errors: tuple[str | None, ...] = ()  # per seed: why it has no test accuracy
    weights: tuple[dict[str, Any] | None, ...] = field(default=(), repr=False, compare=False)  # when asked for

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (no weights): what result.json's ``final`` block and a study's tables hold."""
        out = {"test_accuracy": self.test_accuracy, "test_accuracy_ci95": self.test_accuracy_ci95,
               "test_accuracies": list(self.test_accuracies), "epochs": self.epochs, "seeds": list(self.seeds),
               "seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "macs": self.macs, "params": self.params,
               "recipe": dict(self.recipe)}
        if any(self.errors):
            out["errors"] = list(self.errors)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FinalResult":
        seeds = tuple(int(s) for s in data["seeds"])
        return cls(test_accuracy=_float(data.get("test_accuracy")),
                   test_accuracies=tuple(_float(a) for a in data.get("test_accuracies") or ()),
                   test_accuracy_ci95=_float(data.get("test_accuracy_ci95")), epochs=int(data["epochs"]),
                   seeds=seeds, seconds=float(data.get("seconds") or 0.0), macs=int(data.get("macs") or 0),
                   params=int(data.get("params") or 0), cpu_seconds=float(data.get("cpu_seconds") or 0.0),
                   recipe=dict(data.get("recipe") or {}),
                   errors=tuple(data.get("errors") or (None,) * len(seeds)))


def seed_list(seeds: int | Sequence[int], first: int = 0) -> tuple[int, ...]:
    """``3`` -> (first, first + 1, first + 2); a sequence is taken as the seeds themselves (no repeats)."""
    if isinstance(seeds, bool):
        raise ConfigError(f"seeds must be a count or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"final training needs at least one seed, got {seeds}")
        return tuple(range(first, first + seeds))
    out = tuple(int(s) for s in seeds)
    if not out or len(set(out)) != len(out):
        raise ConfigError(f"final training seeds must be distinct and at least one, got {list(out)}")
    return out


def final_recipe(search_space: Any, arch: Any, recipe: Recipe | Mapping[str, Any] | None) -> Recipe:
    """The recipe an arch is retrained with: a joint architecture-recipe space's searched recipe (FBNetV3) under
    the given fields (a `Recipe` is taken whole); without either, `Recipe`'s defaults."""
    if isinstance(recipe, Recipe):
        return recipe
    searched = search_space.recipe_of(arch).to_dict() if isinstance(search_space, RecipeSpace) else {}
    return Recipe.from_dict({**searched, **dict(recipe or {})})


def final_tasks(arch: Mapping[str, Any], *, space: str | Mapping[str, Any], space_options: Mapping[str, Any] | None
                = None, data: str = "fashion-mnist", data_dir: str | None = None, image_size: int | None = None,
                split: Mapping[str, Any] | None = None, epochs: int, seeds: int | Sequence[int] = 1,
                recipe: Recipe | Mapping[str, Any] | None = None, threads: int = 1,
                device: str | None = None) -> list[EvalTask]:
    """One from-scratch training job per seed of `arch` (a point of `space`, by name or ``{"name", "options"}``).

    `split`: `make_splits` options; default the whole training set (no validation hold-out, as the papers
    retrain). Each job trains `epochs` epochs with the final recipe (see `final_recipe`) and ends with the test set.
    `threads`: torch threads per job; 1 (as a search's candidates train) gives the same numbers on any machine and
    never oversubscribes a shared one; 0 leaves the worker's setting. The arch and the recipe are checked here,
    before any job starts.
    """
    space_name, options = space_spec(space, space_options)
    if int(epochs) < 1:
        raise ConfigError(f"final training needs epochs >= 1, got {epochs}")
    search_space = create_space(space_name, **options)
    point = search_space.space.validate(dict(arch))
    recipe_dict = final_recipe(search_space, point, recipe).to_dict()
    split_options = dict(WHOLE_TRAINING_SET if split is None else split)
    return [EvalTask(space=space_name, arch=point.to_dict(), space_options=options, recipe=recipe_dict,
                     epochs=int(epochs), data=data, data_dir=data_dir, image_size=image_size, split=split_options,
                     seed=seed, threads=threads, device=device, test=True) for seed in seed_list(seeds)]


def space_spec(space: str | Mapping[str, Any], options: Mapping[str, Any] | None = None) -> tuple[str, dict]:
    """(name, options) of a space given by name or as ``{"name", "options"}``, `options` over its own."""
    if isinstance(space, Mapping):
        return str(space["name"]), {**dict(space.get("options") or {}), **dict(options or {})}
    return str(space), dict(options or {})


def check_input_shape(space: str | Mapping[str, Any], data: str, data_dir: str | None = None,
                      space_options: Mapping[str, Any] | None = None, image_size: int | None = None) -> None:
    """A `UsageError` when the data's images do not have the shape the space's networks take (an arch file
    retrained on other data than it was searched on)."""
    name, options = space_spec(space, space_options)
    search_space = create_space(name, **options)
    shape = tuple(int(s) for s in cached_dataset(data, data_dir, image_size).x_train.shape[1:])
    if shape != tuple(search_space.input_shape):
        raise UsageError(f"data {data!r} has images of shape {shape} but the arch's space expects "
                         f"{tuple(search_space.input_shape)}; pass the space option that matches (--space-option)")


def run_final_task(task: EvalTask, teacher: dict[str, Any] | None = None, keep_weights: bool = False,
                   on_epoch: Callable[[int, dict[str, float | None]], None] | None = None) -> EvalResult:
    """Run one final-training job (module-level, so executors can pickle it). Dropout, drop-path and the like draw
    from torch's global RNG: it is seeded from the task for the training, so a seed trains the same wherever and
    whenever it runs (a resumed run equals an uninterrupted one). `teacher` (``{"arch", "state"}``) turns on
    distillation, `keep_weights` returns the trained weights (the EMA ones when the recipe has EMA)."""
    with seeded(task.seed + 1):
        return run_eval_task(task, on_epoch, teacher=teacher, keep_weights=keep_weights)


def summarise_final(results: Sequence[EvalResult | BaseException], tasks: Sequence[EvalTask]) -> FinalResult:
    """One `FinalResult` from the results of `final_tasks` (in the tasks' order; an exception or a diverged
    training counts as a failed seed, kept in `errors`)."""
    if len(results) != len(tasks) or not tasks:
        raise ValueError(f"summarise_final: {len(results)} results for {len(tasks)} tasks")
    accuracies: list[float | None] = []
    errors: list[str | None] = []
    seconds = cpu = 0.0
    macs = params = 0
    for result in results:
        if isinstance(result, BaseException):
            accuracies.append(None)
            errors.append(f"{type(result).__name__}: {result}")
            continue
        seconds += float(result.seconds)
        cpu += float(result.cpu_seconds)
        macs, params = macs or int(result.macs), params or int(result.params)
        ok = not result.diverged and result.test_accuracy is not None
        accuracies.append(float(result.test_accuracy) if ok else None)
        errors.append(None if ok else (result.error or "no test accuracy"))
    mean, ci95 = mean_ci95([a for a in accuracies if a is not None])
    if not macs:
        macs, params = _cost(tasks[0])
    return FinalResult(test_accuracy=mean, test_accuracies=tuple(accuracies), test_accuracy_ci95=ci95,
                       epochs=tasks[0].epochs, seeds=tuple(t.seed for t in tasks), seconds=seconds, macs=macs,
                       params=params, cpu_seconds=cpu, recipe=dict(tasks[0].recipe), errors=tuple(errors),
                       weights=tuple(None if isinstance(r, BaseException) else r.weights for r in results))


def mean_ci95(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean, half-width of the Student-t 95% interval); the half-width is None below two values."""
    n = len(values)
    if n == 0:
        return None, None
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None
    from scipy.stats import t

    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, float(t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def _cost(task: EvalTask) -> tuple[int, int]:
    search_space = create_space(task.space, **task.space_options)
    cost = search_space.cost(search_space.space.validate(task.arch))
    return int(cost.macs), int(cost.params)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


__all__ = ["FinalResult", "WHOLE_TRAINING_SET", "check_input_shape", "final_recipe", "final_tasks", "mean_ci95",
           "run_final_task", "seed_list", "space_spec", "summarise_final"]
