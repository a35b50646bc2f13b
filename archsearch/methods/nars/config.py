"""`NARSConfig`: NARS / FBNetV3's defaults, each citing the paper (the presets scale sizes only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from archsearch.cost.constraints import parse_constraint
from archsearch.errors import ConfigError, ConstraintError, check_at_least, unknown_name
from archsearch.methods.final_training import FinalTraining
from archsearch.search.predictor_evolution import RANK_CORRELATIONS
from archsearch.train.recipe import Recipe

MODES = ("joint", "recipe")


def _default_recipe() -> dict[str, Any]:
    # the fields NARS does not search. FBNetV3 sec. 4.1 trains with an exponential lr decay (0.963 per epoch); on the
    # short CPU schedules of the small presets a cosine decay is the robust choice (interpretation), and the EMA
    # decay is 0.999 (the paper's CIFAR-10 value, appendix: fewer steps than ImageNet's 0.99985).
    return {"schedule": "cosine", "ema_decay": 0.999, "batch_size": 128}


# FBNetV3 sec. 4.3 "Training settings": EMA, 5 warm-up epochs, the lr x 0.9875 after every epoch, label smoothing
# (0.1: the usual value, the paper gives none) and AutoAugment (its ImageNet policy)
PAPER_FINAL_RECIPE = {"ema": True, "warmup_epochs": 5, "schedule": "exponential", "exponential_gamma": 0.9875,
                      "label_smoothing": 0.1, "autoaugment": True}
# quick and smoke train their finds a few epochs (4 and 1): no 5-epoch warm-up, and the searched (cosine) schedule
SHORT_FINAL_RECIPE = {"ema": True}


@dataclass(frozen=True)
class NARSConfig:
    """NARS / FBNetV3 defaults (paper values; the presets scale sizes only)."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        "quick": {"pool_size": 2048, "candidates_per_iteration": 8, "iterations": 3, "epochs": 3, "train_size": 4096,
                  "pretrain_epochs": 30, "population": 40, "from_history": 20, "keep": 16,
                  "children_per_parent": 12, "recipe": {"schedule": "cosine", "ema_decay": 0.99,
                                                        "batch_size": 128},
                  "final": FinalTraining(4, recipe=SHORT_FINAL_RECIPE)},
        "smoke": {"pool_size": 64, "candidates_per_iteration": 3, "iterations": 2, "epochs": 2,
                  "pretrain_epochs": 3, "frozen_epochs": 5, "unfrozen_epochs": 5,
                  "population": 8, "from_history": 4, "keep": 4, "children_per_parent": 3, "max_generations": 3,
                  "recipe": {"schedule": "cosine", "ema_decay": 0.9, "batch_size": 32},
                  "final": FinalTraining(1, recipe=SHORT_FINAL_RECIPE)},
    }
    DISPLAY_NAME: ClassVar[str] = "NARS / FBNetV3"  # Dai et al., CVPR 2021
    BUDGET_FIELD: ClassVar[str] = "iterations"
    CLI_FLAGS: ClassVar[dict[str, str]] = {"--mode": "mode"}
    ACCURACY: ClassVar[str] = "trained_up_to"  # stage-2 labels: validation accuracy after <= `epochs` of training
    #                                            (later iterations stop at the early-stop epoch e)
    DEFAULT_SPACE: ClassVar[str] = "fbnet-recipe"  # FBNetV3 Table 3: architecture x recipe (experiment-layer hint)

    mode: str = "joint"  # FBNetV3 sec. 4: "joint" architecture-recipe search, or "recipe" only (fixed arch)
    iterations: int | None = None  # T; None: 5 for joint, 4 for recipe-only (FBNetV3 sec. 4.1 / 4.2)
    candidates_per_iteration: int = 48  # m = 48 (FBNetV3 sec. 4.1)
    pool_size: int = 20_000  # FBNetV3 sec. 4.2: a QMC pool of 20K candidates
    pretrain_val_fraction: float = 0.2  # FBNetV3 sec. 4.2: pretrain on 80% of the pool, validate on 20%
    pretrain_epochs: int = 50  # (interpretation: not given in the paper)
    epochs: int = 150  # full training of the first iteration (interpretation: the paper's early-stop epochs 103
    #                    and 108 imply a longer schedule; its Table 1 recipes use 30 / 90 epochs)
    early_stop_threshold: float = 0.92  # FBNetV3 sec. 3.2 / appendix: rank correlation threshold 0.92
    rank_correlation: str = "kendall"  # the paper says "rank correlation" without naming it; Kendall's tau is the
    #                                    stricter of the two (interpretation); "spearman" is available
    embedding_width: int = 24  # FBNetV3 appendix: embedding width 24
    huber_delta: float = 1.0  # FBNetV3 sec. 3.2: Huber loss, delta 1 (accuracy in percent points)
    frozen_epochs: int = 50  # FBNetV3 sec. 3.2: 50 epochs with the pretrained embedding frozen ...
    unfrozen_epochs: int = 50  # ... then 50 epochs end to end with a lower lr
    predictor_lr: float = 3e-3  # Adam; the paper names neither (interpretation: PredictorConfig's measured value)
    unfrozen_lr_factor: float = 0.1  # "reduced learning rate" (interpretation: x0.1)
    flops_min: float | None = None  # stage-2 FLOPs range (MACs); FBNetV3 sec. 4.2: 400M .. 800M for the joint
    flops_max: float | None = None  # search. None: the pool's minimum / the FLOPs bound of stage 3 (or pool max)
    flops_family: list[float] | None = None  # FBNetV3 sec. 4.3: stage 3 once per FLOPs target (450M/550M/650M/750M
    #   -> FBNetV3-B/C/D/E, one predictor), each search also under every constraint; None: one search (eq. 1)
    population: int = 100  # FBNetV3 appendix: first generation 100 ...
    from_history: int = 50  # ... = 50 best of stage 2 + 50 random
    children_per_parent: int = 24  # FBNetV3 appendix: 24 children per candidate (generation 1: all 100, 2,400)
    keep: int = 40  # FBNetV3 appendix: top 40 of parents + children kept (after generation 1's children)
    patience: int = 3  # stop after this many generations without improvement (interpretation of "saturates")
    max_generations: int = 100  # safety cap (interpretation)
    final: FinalTraining = field(default_factory=lambda: FinalTraining(400, recipe=PAPER_FINAL_RECIPE))  # FBNetV3
    #   sec. 4.3 "Training settings": the found models train 400 epochs, once each, with these recipe fields over
    #   each pair's searched recipe (its optimizer, lr, weight decay, regularisers)
    distill: bool = True  # FBNetV3 sec. 4.3 "Training settings": the largest found model trained on the labels
    #   teaches every found model (itself too), loss 0.8 KD + 0.2 CE; False: trained on the labels only
    joint_always_ema: bool = True  # FBNetV3 sec. 4.2: the joint search "always uses EMA" (shrinks the space)
    arch: dict[str, Any] | None = None  # recipe mode: the fixed architecture (None: the space's default_arch)
    recipe: Recipe = field(default_factory=lambda: Recipe.from_dict(_default_recipe()))  # the fields not searched
    threads: int = 1  # torch threads per training task (one task per executor worker)
    train_size: int | None = None  # stage-2 training images per candidate. None: the whole training split (the
    #   paper trains every candidate on ImageNet); quick: 4,096, as random search's and evolution's candidates, so
    #   one candidate costs ~30 CPU-s, not ~6 minutes

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise unknown_name("nars mode", self.mode, MODES)
        if self.rank_correlation not in RANK_CORRELATIONS:
            raise unknown_name("rank correlation", self.rank_correlation, RANK_CORRELATIONS)
        if self.iterations is not None and self.iterations < 1:
            raise ConfigError(f"nars: iterations must be >= 1, got {self.iterations}")
        if min(self.candidates_per_iteration, self.pool_size, self.epochs) < 1:
            raise ConfigError("nars: candidates_per_iteration, pool_size and epochs must be >= 1")
        if self.final.seeds != 1:
            raise ConfigError(f"nars: final_seeds={self.final.seeds}, but NARS trains each found model once "
                              "(FBNetV3 sec. 4.3); set final_seeds=1")
        if not 0 < self.early_stop_threshold <= 1:
            raise ConfigError(f"nars: early_stop_threshold must be in (0, 1], got {self.early_stop_threshold}")
        if not 0 <= self.pretrain_val_fraction < 1:
            raise ConfigError("nars: pretrain_val_fraction must be in [0, 1)")
        # stage 3 (or 1) would fail on a 0 here after stage 2 trained every candidate
        check_at_least(self, 1, ("threads", "population", "children_per_parent", "keep", "patience",
                                 "max_generations"), "nars: ")
        if self.from_history < 0 or self.frozen_epochs < 0 or self.unfrozen_epochs < 0:
            raise ConfigError("nars: from_history, frozen_epochs and unfrozen_epochs must be >= 0")
        if self.train_size is not None and self.train_size < 1:
            raise ConfigError(f"nars: train_size must be >= 1 or None, got {self.train_size}")
        if self.arch is not None and self.mode != "recipe":
            raise ConfigError("nars: arch is the fixed architecture of mode 'recipe'; mode 'joint' searches it "
                              "(add --set mode=recipe)")
        object.__setattr__(self, "recipe", Recipe.of(self.recipe, "nars recipe"))  # frozen: read here only
        if self.flops_family is not None:
            targets = [self.flops_family] if isinstance(self.flops_family, (str, int, float)) else self.flops_family
            try:  # frozen: __post_init__ alone normalises a field
                family = sorted(parse_constraint(f"flops<={t}").bound for t in targets)
            except ConstraintError:
                family = []
            object.__setattr__(self, "flops_family", family)
            if not family:
                raise ConfigError(f"nars: flops_family={targets!r} must list positive FLOPs targets, e.g. "
                                  "[450M, 550M]")

    @property
    def total_iterations(self) -> int:
        return self.iterations if self.iterations is not None else (5 if self.mode == "joint" else 4)


__all__ = ["MODES", "NARSConfig"]
