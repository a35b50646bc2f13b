"""Training: `Recipe`, the `Trainer` step every method uses, `train` / `evaluate`, BatchNorm statistics of a supernet's
children, and `EvalTask` / `EvalResult`, the picklable training job of a worker (run by `archsearch.tasks`)."""

from archsearch.train._model_setup import uses_channels_last
from archsearch.train.batchnorm import batch_statistics, recalibrate_bn
from archsearch.train.device import default_device, resolve_device
from archsearch.train.mixup import MixedBatch, mixup_batch, mixup_cross_entropy
from archsearch.train.recipe import Recipe, lr_factor
from archsearch.train.task import EvalResult, EvalTask
from archsearch.train.trainer import BN_MODES, TrainHistory, Trainer, evaluate, model_input, train

__all__ = ["BN_MODES", "EvalResult", "EvalTask", "MixedBatch", "Recipe", "TrainHistory", "Trainer", "batch_statistics",
           "default_device", "evaluate", "lr_factor", "mixup_batch", "mixup_cross_entropy", "model_input",
           "recalibrate_bn", "resolve_device", "train", "uses_channels_last"]
