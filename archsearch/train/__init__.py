"""Training: `Recipe`, the `Trainer` step every method uses, `train` / `evaluate`, and `run_eval_task` for workers."""

from archsearch.train.device import default_device, resolve_device
from archsearch.train.mixup import MixedBatch, mixup_batch, mixup_cross_entropy
from archsearch.train.recipe import Recipe, lr_factor
from archsearch.train.task import EvalResult, EvalTask, run_eval_task
from archsearch.train.trainer import TrainHistory, Trainer, evaluate, recalibrate_bn, train

__all__ = ["EvalResult", "EvalTask", "MixedBatch", "Recipe", "TrainHistory", "Trainer", "default_device", "evaluate",
           "lr_factor", "mixup_batch", "mixup_cross_entropy", "recalibrate_bn", "resolve_device", "run_eval_task",
           "train"]
