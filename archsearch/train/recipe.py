"""`Recipe`: everything about *how* a network is trained, as one flat, validated dataclass.

FBNetV3 searches over recipes (optimizer, lr, weight decay, EMA, dropout, stochastic depth, mixup), so a recipe is
data: it round-trips through `to_dict` / `from_dict` (YAML, the ledger, an `EvalTask`), and unknown keys fail with
a message naming them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from archsearch.errors import ConfigError, unknown_name

OPTIMIZERS = ("sgd", "nesterov", "rmsprop", "adamw")
SCHEDULES = ("cosine", "exponential", "step", "constant")
AMP_DTYPES = ("auto", "bfloat16", "float16")


@dataclass(frozen=True)
class Recipe:
    """A training recipe. Defaults: a standard SGD-momentum / cosine recipe for small CNNs at batch 128.

    Regularisers are off by default (each method or search turns on what its paper uses): label smoothing
    (ProxylessNAS 0.1), EMA and distillation (FBNetV3), mixup / dropout / drop-path (FBNetV3's recipe space).
    """

    optimizer: str = "sgd"  # SGD + momentum: GreedyNAS / SPOS / DARTS retraining; "nesterov": ProxylessNAS
    lr: float = 0.05  # linear scaling rule (Goyal et al. 2017): 0.1 per 256 images -> 0.05 at batch 128
    momentum: float = 0.9  # standard for SGD; also FBNetV3's RMSProp momentum (EfficientNet recipe)
    weight_decay: float = 4e-5  # ProxylessNAS / GreedyNAS (ImageNet)
    decay_norm_and_bias: bool = False  # weight decay on 1-D parameters too (BN scales and shifts, biases); off: the
    #                                    usual rule (Goyal et al. 2017); on: DARTS', Fair DARTS' and ProxylessNAS'
    #                                    released search code, which decays every parameter
    schedule: str = "cosine"  # ProxylessNAS, GreedyNAS, DARTS: cosine to lr_min over all steps
    warmup_epochs: float = 0.0  # linear warm-up from lr/warmup_steps to lr (Goyal et al. 2017); 0 = none
    lr_min: float = 0.0  # cosine floor
    exponential_gamma: float = 0.963  # FBNetV3 (sec. 4.1 training setup): lr x 0.963 after every epoch
    step_epochs: int = 30  # "step": lr x step_gamma every step_epochs epochs (He et al. 2016: /10 every 30)
    step_gamma: float = 0.1
    label_smoothing: float = 0.0  # Szegedy et al. 2016; ProxylessNAS uses 0.1
    ema: bool = False  # FBNetV3 recipe space: EMA on/off; evaluation then uses the averaged weights
    ema_decay: float = 0.9999  # EfficientNet / FBNetV3 (TF ExponentialMovingAverage)
    ema_warmup: bool = True  # decay = min(ema_decay, (1 + n) / (10 + n)) after n updates (TF num_updates)
    mixup_alpha: float = 0.0  # Zhang et al. 2018: lam ~ Beta(alpha, alpha); 0 = off; FBNetV3 searches it
    dropout: float | None = None  # rate set on every nn.Dropout of the model; None keeps the model's own
    drop_path: float | None = None  # stochastic depth; block i of n gets drop_path * i / n (EfficientNet)
    distill_weight: float = 0.8  # FBNetV3: loss = 0.8 KD + 0.2 CE; used only when a teacher is given
    grad_clip: float | None = None  # max global L2 norm of the gradients; None = no clipping
    batch_size: int = 128  # Fair DARTS' search batch (DARTS: 64); the benchmarks' batch
    augment: bool = True  # the dataset's random crop (+ flip where sensible)
    autoaugment: bool = False  # AutoAugment's ImageNet policy (Cubuk et al. 2019); FBNetV3's final training
    cutout: float = 0.0  # DeVries & Taylor 2017: one square of this fraction of the image side zeroed per image
    #                      (after normalisation, as DARTS' code); DARTS' final training: 16 px of 32 = 0.5; 0 = off
    amp: bool = True  # mixed precision, on CUDA only (ignored on CPU)
    amp_dtype: str = "auto"  # "auto": bfloat16 where supported (no loss scaling), else float16 + GradScaler
    channels_last: bool | None = None  # None: on for conv nets on CPU (1.3-2.4x: docs/architecture.md) or AMP
    rmsprop_alpha: float = 0.9  # TF-style RMSProp decay 0.9 (EfficientNet / FBNetV3)
    rmsprop_eps: float = 0.0316  # torch adds eps outside the sqrt: sqrt(1e-3) ~ TF's epsilon=1e-3 inside it
    adamw_betas: tuple[float, float] = (0.9, 0.999)  # Loshchilov & Hutter 2019

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", self.optimizer, OPTIMIZERS)
        if self.schedule not in SCHEDULES:
            raise unknown_name("lr schedule", self.schedule, SCHEDULES)
        if self.amp_dtype not in AMP_DTYPES:
            raise unknown_name("amp_dtype", self.amp_dtype, AMP_DTYPES)
        _check(self.lr > 0 and math.isfinite(self.lr), "lr", self.lr, "a positive number")
        _check(0 <= self.momentum < 1, "momentum", self.momentum, "in [0, 1)")
        _check(self.weight_decay >= 0, "weight_decay", self.weight_decay, ">= 0")
        _check(self.warmup_epochs >= 0, "warmup_epochs", self.warmup_epochs, ">= 0")
        _check(0 <= self.lr_min <= self.lr, "lr_min", self.lr_min, "in [0, lr]")
        _check(0 < self.exponential_gamma <= 1, "exponential_gamma", self.exponential_gamma, "in (0, 1]")
        _check(self.step_epochs >= 1, "step_epochs", self.step_epochs, ">= 1")
        _check(0 < self.step_gamma <= 1, "step_gamma", self.step_gamma, "in (0, 1]")
        _check(0 <= self.label_smoothing < 1, "label_smoothing", self.label_smoothing, "in [0, 1)")
        _check(0 <= self.ema_decay < 1, "ema_decay", self.ema_decay, "in [0, 1)")
        _check(self.mixup_alpha >= 0, "mixup_alpha", self.mixup_alpha, ">= 0")
        _check(0 <= self.cutout <= 1, "cutout", self.cutout, "a fraction of the image side in [0, 1]")
        _check(self.dropout is None or 0 <= self.dropout < 1, "dropout", self.dropout, "None or in [0, 1)")
        _check(self.drop_path is None or 0 <= self.drop_path < 1, "drop_path", self.drop_path, "None or in [0, 1)")
        _check(0 <= self.distill_weight <= 1, "distill_weight", self.distill_weight, "in [0, 1]")
        _check(self.grad_clip is None or self.grad_clip > 0, "grad_clip", self.grad_clip, "None or > 0")
        _check(self.batch_size >= 1, "batch_size", self.batch_size, ">= 1")
        _check(0 < self.rmsprop_alpha < 1, "rmsprop_alpha", self.rmsprop_alpha, "in (0, 1)")
        _check(self.rmsprop_eps > 0, "rmsprop_eps", self.rmsprop_eps, "> 0")
        _check(len(self.adamw_betas) == 2 and all(0 <= b < 1 for b in self.adamw_betas), "adamw_betas",
               self.adamw_betas, "two numbers in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["adamw_betas"] = list(self.adamw_betas)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Recipe":
        """Build from plain values (YAML, JSON, CLI); unknown keys raise a `ConfigError` naming all of them."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in values if k not in fields)
        if unknown:
            if len(unknown) == 1:
                raise unknown_name("recipe field", unknown[0], fields)
            raise ConfigError(f"unknown recipe fields {unknown} (allowed: {', '.join(sorted(fields))})")
        return cls(**{k: _coerce(k, fields[k].type, v) for k, v in values.items()})

    @classmethod
    def of(cls, value: "Recipe | Mapping[str, Any]", where: str = "recipe") -> "Recipe":
        """`value` as a `Recipe`: a typed `recipe` field of a method config is given one, or a mapping of its fields
        (a preset, YAML, a keyword argument) that the config reads with this in `__post_init__`."""
        if isinstance(value, Recipe):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"{where} must be a Recipe or a mapping of recipe fields, got {value!r}")
        return cls.from_dict(value)

    def replace(self, **changes: Any) -> "Recipe":
        return Recipe.from_dict({**self.to_dict(), **changes})


def _check(ok: bool, name: str, value: object, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"recipe {name}={value!r} is invalid: must be {allowed}")


def _coerce(name: str, annotation: str, value: Any) -> Any:
    """Light coercion for values from YAML / the command line ("0.1" -> 0.1, 1 -> 1.0, "true" -> True)."""
    if value is None:
        if "None" not in annotation:
            raise ConfigError(f"recipe {name}=None is invalid: a value is required")
        return None
    try:
        if annotation.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if annotation.startswith("int"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if annotation.startswith("bool"):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "yes", "1", "on"):
                    return True
                if lowered in ("false", "no", "0", "off"):
                    return False
                raise ValueError
            if not isinstance(value, (bool, int)):
                raise ValueError
            return bool(value)
        if annotation.startswith("tuple"):
            return tuple(float(v) for v in value)
        if annotation == "str":
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"recipe {name}={value!r} is invalid: expected {annotation}") from None
    return value


def lr_factor(recipe: Recipe, step: int, steps_per_epoch: int, epochs: int) -> float:
    """The multiplier of `recipe.lr` for optimisation step `step` (0-based) of ``epochs * steps_per_epoch``.

    Linear warm-up over the first ``round(warmup_epochs * steps_per_epoch)`` steps ((step + 1) / warmup_steps,
    so the first step already moves), then the schedule, counted from the end of the warm-up:
    cosine (per step, to ``lr_min``), exponential (``gamma ** completed_epochs``), step, or constant.
    """
    warmup = round(recipe.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return (step + 1) / warmup
    since = step - warmup
    if recipe.schedule == "cosine":
        span = max(1, epochs * steps_per_epoch - warmup)
        floor = recipe.lr_min / recipe.lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(since, span) / span))
    if recipe.schedule == "exponential":
        return recipe.exponential_gamma ** (since // steps_per_epoch)
    if recipe.schedule == "step":
        return recipe.step_gamma ** ((since // steps_per_epoch) // recipe.step_epochs)
    return 1.0
