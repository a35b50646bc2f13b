"""`archsearch.retrain`: the one final training (S seeds x E epochs, test set), its jobs and its summary."""

from __future__ import annotations

import math

import pytest
import torch.nn as nn

import archsearch
from archsearch.cost.constraints import Cost
from archsearch.errors import ConfigError, UsageError
from archsearch.executors import LocalExecutor
from archsearch.experiment.retrain import FinalResult, final_tasks, retrain, summarise_final
from archsearch.space import Categorical, Space
from archsearch.spaces import SPACES, register_space
from archsearch.train.task import EvalResult

WIDTHS = (4, 8)


class RetrainToy:
    """conv(width) -> relu -> pool -> linear on 8x8 digits; a searched lr rides along (a joint arch-recipe space)."""

    name = "retraintoy"
    input_shape = (1, 8, 8)
    num_classes = 10

    def __init__(self) -> None:
        self.space = Space({"width": Categorical(WIDTHS), "lr": Categorical((0.05, 0.1))}, name=self.name)

    def build(self, arch) -> nn.Module:
        w = int(arch["width"])
        return nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                             nn.Linear(4 * w, 10))

    def cost(self, arch) -> Cost:
        w = int(arch["width"])
        return Cost(macs=w * 9 * 64 + 40 * w, params=10 * w + 41 * w + 10)

    def recipe_of(self, arch):
        from archsearch.train import Recipe

        return Recipe(lr=float(arch["lr"]), batch_size=64)


if "retraintoy" not in SPACES.names():
    register_space("retraintoy")(RetrainToy)

ARCH = {"width": 8, "lr": 0.1}


def _result(accuracy: float | None, *, seconds: float = 1.0, diverged: bool = False) -> EvalResult:
    return EvalResult([], None, accuracy, 100, 10, seconds, diverged=diverged, cpu_seconds=2 * seconds,
                      error="loss is nan" if diverged else None)


def test_final_tasks_one_job_per_seed_on_every_training_image_with_the_searched_recipe_under_overrides():
    tasks = final_tasks(ARCH, space="retraintoy", data="digits", epochs=3, seeds=[5, 9], recipe={"lr": 0.2})
    assert [t.seed for t in tasks] == [5, 9] and all(t.epochs == 3 and t.test for t in tasks)
    assert tasks[0].split == {"val_size": 0, "small_val_size": 0}  # the papers retrain on the whole training set
    assert tasks[0].recipe["lr"] == 0.2 and tasks[0].recipe["batch_size"] == 64  # override over the searched one
    assert final_tasks(ARCH, space={"name": "retraintoy", "options": {}}, data="digits", epochs=1,
                       seeds=2)[1].recipe["lr"] == 0.1  # a count of seeds: 0, 1; the searched lr
    with pytest.raises(ConfigError, match="epochs >= 1"):
        final_tasks(ARCH, space="retraintoy", data="digits", epochs=0)
    with pytest.raises(ConfigError, match="distinct"):
        final_tasks(ARCH, space="retraintoy", data="digits", epochs=1, seeds=[1, 1])
    with pytest.raises(UsageError, match=r"shape \(1, 28, 28\) but the arch's space expects \(1, 8, 8\)"):
        retrain(ARCH, space="retraintoy", data="fashion-mnist", epochs=1)  # before any job starts


def test_summary_is_the_mean_with_a_student_t_interval_and_keeps_failed_seeds_apart():
    tasks = final_tasks(ARCH, space="retraintoy", data="digits", epochs=2, seeds=4)
    results = [_result(0.90), _result(0.94), _result(None, diverged=True), RuntimeError("worker lost")]
    final = summarise_final(results, tasks)
    assert final.test_accuracies == (0.90, 0.94, None, None) and final.seeds == (0, 1, 2, 3)
    assert math.isclose(final.test_accuracy, 0.92)
    # two values: t(0.975, 1) = 12.706, sample sd s = |0.94 - 0.90| / sqrt(2), half-width t * s / sqrt(2)
    assert math.isclose(final.test_accuracy_ci95, 12.7062047 * (0.04 / math.sqrt(2)) / math.sqrt(2), rel_tol=1e-6)
    assert final.errors[2] == "loss is nan" and final.errors[3] == "RuntimeError: worker lost"
    assert (final.seconds, final.cpu_seconds, final.epochs, final.macs) == (3.0, 6.0, 2, 100)
    assert FinalResult.from_json(final.to_json()) == final
    one = summarise_final([_result(0.9)], tasks[:1])
    assert one.test_accuracy == 0.9 and one.test_accuracy_ci95 is None  # no interval from one seed


def test_retrain_trains_each_seed_through_the_executor_and_skips_the_done_ones():
    executor = LocalExecutor()
    submitted = []
    real_submit = executor.submit
    executor.submit = lambda fn, *args: submitted.append(args[0].seed) or real_submit(fn, *args)
    seen = []
    final = retrain(ARCH, space="retraintoy", data="digits", epochs=2, seeds=[0, 1], executor=executor,
                    on_result=lambda task, result: seen.append((task.seed, result.test_accuracy)))
    assert submitted == [0, 1] and [s for s, _ in seen] == [0, 1]
    assert all(0.3 < a <= 1.0 for a in final.test_accuracies)  # two epochs of a conv net: far above chance
    assert final.test_accuracy_ci95 is not None and final.macs == RetrainToy().cost(ARCH).macs
    assert final.cpu_seconds > 0 and final.recipe["lr"] == 0.1
    # a resumed retraining: seed 0 is done, only seed 1 trains, to the same numbers (seeded, deterministic)
    done = {0: _result(final.test_accuracies[0], seconds=final.seconds)}
    submitted.clear()
    again = retrain(ARCH, space="retraintoy", data="digits", epochs=2, seeds=[0, 1], executor=executor, done=done)
    assert submitted == [1] and again.test_accuracies == final.test_accuracies
    assert archsearch.retrain is retrain and archsearch.FinalResult is FinalResult
