"""`Trainer`: one optimisation step of a recipe, and `train` / `evaluate` built on it.

Every method trains through this: searches that train candidates from scratch call `train`; supernet methods set
their path and call `Trainer.step` themselves. The hot loop avoids host-device syncs: losses and correct counts
stay tensors until the end of the epoch. On CPU the NaN/inf guard runs before each backward (a free check there);
on CUDA losses are checked every `CUDA_CHECK_EVERY` steps, and the error still names the exact step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from typing import Callable, Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from archsearch.data.augment import Augmentation
from archsearch.data.batches import Batches
from archsearch.data.splits import Splits, TensorPair
from archsearch.errors import CheckpointError, ConfigError, DivergedError, unknown_name
from archsearch.train._model_setup import (make_optimizer, set_dropout, set_drop_path, uses_channels_last,
                                           wants_channels_last)
from archsearch.train.batchnorm import batch_statistics
from archsearch.train.device import resolve_device
from archsearch.train.distributed import average_gradients, shard
from archsearch.train.mixup import MixedBatch, mixup_batch, mixup_cross_entropy
from archsearch.train.recipe import Recipe, lr_factor

TrainHistory = list[dict[str, float | None]]  # one dict per epoch (see `train`)
CUDA_CHECK_EVERY = 32  # steps between NaN checks on CUDA (each check is a host-device sync)


class _EmaUpdate:
    """`get_ema_multi_avg_fn` with a decay the trainer sets before each update (TF-style decay warm-up)."""

    def __init__(self, decay: float) -> None:
        self.decay = decay

    def __call__(self, ema_params, model_params, num_averaged) -> None:
        get_ema_multi_avg_fn(self.decay)(ema_params, model_params, num_averaged)


class Trainer:
    """Trains `model` in place with `recipe` over a known number of steps (the lr schedule needs the total).

    `steps_per_epoch` x `epochs` fixes the schedule; `generator` drives mixup (and is saved with the state so a
    resumed run draws the same numbers). A `teacher` turns on distillation:
    ``loss = distill_weight * KD(T=1) + (1 - distill_weight) * CE`` (FBNetV3: 0.8 / 0.2).
    """

    def __init__(self, model: nn.Module, recipe: Recipe, *, device: torch.device | str | None = None,
                 steps_per_epoch: int, epochs: int, teacher: nn.Module | None = None,
                 generator: torch.Generator | None = None) -> None:
        if steps_per_epoch < 1 or epochs < 1:
            raise ConfigError(f"steps_per_epoch and epochs must be >= 1, got {steps_per_epoch} and {epochs}")
        self.recipe = recipe
        self.device = resolve_device(device)
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.step_count = 0  # optimisation steps taken so far (the schedule's position)

        self.amp_dtype = self._amp_dtype(recipe, self.device)
        self.channels_last = wants_channels_last(model, recipe, self.device, self.amp_dtype is not None)
        self.model = model.to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if recipe.dropout is not None:
            set_dropout(self.model, recipe.dropout)
        if recipe.drop_path is not None:
            set_drop_path(self.model, recipe.drop_path)
        self.teacher = None
        if teacher is not None:
            self.teacher = teacher.to(self.device).eval()
            if self.channels_last:
                self.teacher = self.teacher.to(memory_format=torch.channels_last)

        self.optimizer = make_optimizer(self.model, recipe)
        self._params = [p for group in self.optimizer.param_groups for p in group["params"]]
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.ema: AveragedModel | None = None
        if recipe.ema:
            self._ema_update = _EmaUpdate(recipe.ema_decay)
            # use_buffers: BN running statistics are averaged too, so the EMA model evaluates consistently
            self.ema = AveragedModel(self.model, multi_avg_fn=self._ema_update, use_buffers=True)
        self._sync_checks = self.device.type == "cpu"
        self._pending: list[tuple[int, torch.Tensor]] = []

    # -- public API -------------------------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """The 1-based epoch the next step belongs to."""
        return self.step_count // self.steps_per_epoch + 1

    @property
    def lr(self) -> float:
        """The learning rate of the next step."""
        return self.recipe.lr * lr_factor(self.recipe, self.step_count, self.steps_per_epoch, self.epochs)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One optimisation step on a batch; returns its loss. Raises `DivergedError` (before updating anything)
        when the loss is NaN or infinite."""
        loss, _ = self._train_step(x, y, check_now=True)
        return float(loss)

    def train_epoch(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
        """Steps over `batches`; returns (mean loss, accuracy) on the (augmented / mixed) training batches."""
        losses, sizes = [], []
        correct = torch.zeros((), device=self.device)
        for x, y in batches:
            loss, batch_correct = self._train_step(x, y, check_now=self._sync_checks)
            losses.append(loss)
            sizes.append(len(y))
            correct += batch_correct
            if len(self._pending) >= CUDA_CHECK_EVERY:
                self._check_pending()
        self._check_pending()
        if not losses:
            return math.nan, math.nan
        n = sum(sizes)
        weights = torch.tensor(sizes, dtype=torch.float32, device=self.device)
        mean_loss = float(torch.stack(losses).float().mul(weights).sum() / n)
        return mean_loss, float(correct) / n

    def eval_model(self) -> nn.Module:
        """The model to evaluate: the EMA-averaged copy when ``recipe.ema``, else the trained model."""
        return self.ema.module if self.ema is not None else self.model

    def state_dict(self) -> dict:
        """Everything to continue exactly: weights, optimizer, EMA, loss scaler, step counter, generator."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "step": self.step_count,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "generator": self.generator.get_state(),
            "recipe": self.recipe.to_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        for key in ("steps_per_epoch", "epochs"):
            if state[key] != getattr(self, key):
                raise CheckpointError(f"trainer state was saved with {key}={state[key]}, this trainer has "
                                      f"{getattr(self, key)}; the lr schedule would not match")
        if (state["ema"] is None) != (self.ema is None):
            raise CheckpointError("trainer state and recipe disagree on ema")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.step_count = int(state["step"])
        self.generator.set_state(state["generator"])

    # -- one step ---------------------------------------------------------------------------------------------------
    def _train_step(self, x: torch.Tensor, y: torch.Tensor, *, check_now: bool) -> tuple[torch.Tensor, torch.Tensor]:
        step = self.step_count
        factor = lr_factor(self.recipe, step, self.steps_per_epoch, self.epochs)
        for group in self.optimizer.param_groups:
            group["lr"] = self.recipe.lr * factor
        x, y = shard(x, y)  # under torchrun: this rank's part of the global batch (all ranks draw the same one)
        x = model_input(x, self.device, self.channels_last)
        y = y.to(self.device, non_blocking=True)
        if not self.model.training:
            self.model.train()

        mixed = mixup_batch(x, y, self.recipe.mixup_alpha, self.generator) if self.recipe.mixup_alpha > 0 else None
        inputs = mixed.x if mixed is not None else x
        with self._autocast():
            logits = self.model(inputs)
            teacher_logits = None
            if self.teacher is not None and self.recipe.distill_weight > 0:
                with torch.no_grad():
                    teacher_logits = self.teacher(inputs)
        loss = self._loss(logits.float(), y, mixed, teacher_logits)
        auxiliary = getattr(self.model, "auxiliary_logits", None)
        if isinstance(auxiliary, torch.Tensor):  # an auxiliary tower (DARTS: loss += 0.4 x its cross-entropy)
            loss = loss + float(getattr(self.model, "auxiliary_weight", 0.4)) * self._loss(auxiliary.float(), y,
                                                                                            mixed, None)

        if check_now:
            value = float(loss.detach())
            if not math.isfinite(value):
                raise self._diverged(value, step)
        else:
            self._pending.append((step, loss.detach()))

        self.optimizer.zero_grad(set_to_none=True)
        clip = self.recipe.grad_clip
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            average_gradients(self._params)  # no-op outside torchrun
            if clip is not None:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self._params, clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            average_gradients(self._params)  # no-op outside torchrun
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(self._params, clip)
            self.optimizer.step()
        if self.ema is not None:
            updates = step  # the EMA is updated once per step
            decay = self.recipe.ema_decay
            if self.recipe.ema_warmup:
                decay = min(decay, (1 + updates) / (10 + updates))
            self._ema_update.decay = decay
            self.ema.update_parameters(self.model)
        self.step_count += 1

        with torch.no_grad():
            predicted = logits.argmax(1)
            if mixed is None:
                correct = (predicted == y).sum()
            else:
                correct = (mixed.lam * (predicted == mixed.y_a).sum()
                           + (1 - mixed.lam) * (predicted == mixed.y_b).sum())
        return loss.detach(), correct

    def _loss(self, logits: torch.Tensor, y: torch.Tensor, mixed: MixedBatch | None,
              teacher_logits: torch.Tensor | None) -> torch.Tensor:
        smoothing = self.recipe.label_smoothing
        if mixed is not None:
            ce = mixup_cross_entropy(logits, mixed, label_smoothing=smoothing)
        else:
            ce = F.cross_entropy(logits, y, label_smoothing=smoothing)
        if teacher_logits is None:
            return ce
        # KD with T = 1: cross-entropy against the teacher's softmax (same gradient as KL(teacher || student))
        kd = F.cross_entropy(logits, F.softmax(teacher_logits.float(), dim=1))
        w = self.recipe.distill_weight
        return w * kd + (1.0 - w) * ce

    def _check_pending(self) -> None:
        if not self._pending:
            return
        steps = [s for s, _ in self._pending]
        values = torch.stack([v for _, v in self._pending])
        self._pending.clear()
        finite = torch.isfinite(values)
        if not bool(finite.all()):
            first = int((~finite).nonzero()[0, 0])
            raise self._diverged(float(values[first]), steps[first])

    def _diverged(self, value: float, step: int) -> DivergedError:
        epoch = step // self.steps_per_epoch + 1
        lr = self.recipe.lr * lr_factor(self.recipe, step, self.steps_per_epoch, self.epochs)
        return DivergedError(f"training diverged: loss {value} at epoch {epoch}, step {step} (lr {lr:.4g})",
                             epoch=epoch, step=step)

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    @staticmethod
    def _amp_dtype(recipe: Recipe, device: torch.device) -> torch.dtype | None:
        if not recipe.amp or device.type != "cuda":
            return None  # AMP on CUDA only
        if recipe.amp_dtype == "float16":
            return torch.float16
        if recipe.amp_dtype == "bfloat16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16


DIVERGED_LOSS_FACTOR = 100  # an epoch's mean loss past 100x a uniform guess's (ln C) is not training


def _check_epoch(metrics: dict[str, float | None], num_classes: int) -> None:
    """A training that stays finite but has left the ground diverged all the same: BatchNorm keeps the logits
    finite while an absurd learning rate blows the weights up (lr 1e9: loss 3e17, accuracy at chance, then NaN
    on validation). An epoch whose mean training loss is past `DIVERGED_LOSS_FACTOR` times a uniform guess's,
    or whose validation loss is (a single huge step leaves the second), is a `DivergedError` like a NaN step."""
    bound = DIVERGED_LOSS_FACTOR * math.log(max(num_classes, 2))
    for name, where in (("train_loss", "mean training loss in"), ("val_loss", "validation loss after")):
        value = metrics.get(name)
        if value is not None and not value <= bound:  # NaN too
            raise DivergedError(f"training diverged: {where} epoch {metrics['epoch']} is {value:.4g} (a uniform "
                                f"guess scores {bound / DIVERGED_LOSS_FACTOR:.3g}; lr {metrics['lr']:.4g})",
                                epoch=int(metrics["epoch"]))


def _augmentation(pair: TensorPair, recipe: Recipe) -> Augmentation | bool:
    """The data's own augmentation when the recipe asks for it, with the recipe's AutoAugment and cutout on top."""
    own = pair.augmentation if recipe.augment else None
    if (recipe.cutout or recipe.autoaugment) and pair.x.dim() == 4:
        base = own or dataclasses.replace(pair.augmentation or Augmentation(), crop_padding=0, flip=False)
        return dataclasses.replace(base, cutout=recipe.cutout, autoaugment=recipe.autoaugment)
    return own or False


def train(model: nn.Module, splits: Splits, recipe: Recipe, epochs: int, *,
          device: torch.device | str | None = None, generator: torch.Generator | None = None,
          teacher: nn.Module | None = None,
          on_epoch: Callable[[int, dict[str, float | None]], None] | None = None) -> TrainHistory:
    """Train `model` in place for `epochs` on ``splits.train``, evaluating on ``splits.val`` after every epoch.

    Returns one dict per epoch: ``epoch`` (1-based), ``train_loss``, ``train_accuracy``, ``val_loss``,
    ``val_accuracy`` (None when the val split is empty), ``lr`` (of the epoch's last step), ``seconds``.
    `on_epoch(epoch, metrics)` is called after each epoch (searches record and prune there; an exception it raises
    stops training). With ``recipe.ema`` the model ends holding the EMA weights, the ones it was evaluated with.
    Raises `DivergedError` on a NaN / inf loss, or an epoch that left the ground (`_check_epoch`).
    """
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    drop_last = len(splits.train) >= recipe.batch_size  # no ragged last batch (BN on a handful of samples)
    batches = Batches(splits.train, recipe.batch_size, shuffle=True, augment=_augmentation(splits.train, recipe),
                      generator=generator, drop_last=drop_last)
    trainer = Trainer(model, recipe, device=device, steps_per_epoch=len(batches), epochs=epochs, teacher=teacher,
                      generator=generator)
    history: TrainHistory = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss, train_accuracy = trainer.train_epoch(batches)
        val_loss = val_accuracy = None
        if len(splits.val):
            val_loss, val_accuracy = evaluate(trainer.eval_model(), splits.val, device=trainer.device)
        metrics = {"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                   "val_loss": val_loss, "val_accuracy": val_accuracy,
                   "lr": trainer.recipe.lr * lr_factor(recipe, trainer.step_count - 1, len(batches), epochs),
                   "seconds": time.perf_counter() - start}
        history.append(metrics)
        _check_epoch(metrics, splits.num_classes)
        if on_epoch is not None:
            on_epoch(epoch, metrics)
    if trainer.ema is not None:
        model.load_state_dict(trainer.ema.module.state_dict())
    return history


def model_input(x: torch.Tensor, device: torch.device | str, channels_last: bool) -> torch.Tensor:
    """`x` on `device`, in channels_last when the network takes it so (4-D image batches only): the one place an
    input batch follows a network's memory format."""
    x = x.to(device, non_blocking=True)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


BN_MODES = ("running", "batch", "train")


@torch.no_grad()
def evaluate(model: nn.Module, pair: TensorPair, *, batch_size: int = 512, device: torch.device | str | None = None,
             bn: str = "running", channels_last: bool | None = None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` on `pair`; the model's mode is restored afterwards.

    `bn`, the BatchNorm statistics that normalise: "running" (eval mode, the usual evaluation), "batch" (eval
    mode with BN on each batch's own statistics, the running ones untouched: one path of a supernet, see
    `batch_statistics`; the batch size then matters), "train" (the whole model in train mode, BN statistics
    updated as in training: ProxylessNAS' ``validate(use_train_mode=True)``). Inputs are channels_last when
    `channels_last` says so; by default when the model's weights are (the Trainer converted it).
    """
    if bn not in BN_MODES:
        raise unknown_name("BatchNorm mode", bn, BN_MODES)
    if len(pair) == 0:
        return math.nan, math.nan
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else resolve_device(None)
    device = torch.device(device)
    channels_last = uses_channels_last(model) if channels_last is None else channels_last
    was_training = model.training
    model.train(bn == "train")
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    try:
        with batch_statistics(model) if bn == "batch" else contextlib.nullcontext():
            for start in range(0, len(pair), batch_size):
                x = model_input(pair.x[start:start + batch_size], device, channels_last)
                y = pair.y[start:start + batch_size].to(device, non_blocking=True)
                logits = model(x).float()
                loss_sum += F.cross_entropy(logits, y, reduction="sum")
                correct += (logits.argmax(1) == y).sum()
    finally:
        model.train(was_training)
    return float(loss_sum) / len(pair), int(correct) / len(pair)
