"""NARS, the search behind FBNetV3 (Dai et al., CVPR 2021, arXiv:2006.02049): joint architecture-recipe search.

Algorithm 1 of the paper, as run here:

Stage 1, predictor pretraining: draw a pool of n candidates by quasi-Monte-Carlo (scrambled Sobol) from the joint
    architecture x recipe space; train the predictor's encoder + proxy head on the FLOPs and params of 80% of the
    pool (free labels), validate on the other 20%. (Recipe-only mode skips it: FLOPs/params do not depend on the
    recipe, and the paper uses no pretrained embedding there.)
Stage 2, constrained iterative optimisation, T iterations:
    pick m candidates: the first iteration takes the pool's first m within the FLOPs range as they are; later ones
    split the FLOPs range into m bins and take the best-predicted unevaluated candidate of each; train them through
    the executor (local / Ray), per-epoch accuracies in the ledger. After the first iteration (trained for the full
    `epochs`), choose the early-stop epoch e = smallest epoch whose ranking has rank correlation >= 0.92 with the
    final ranking; later candidates stop after e epochs (the same schedule, cut short), and every label is the
    accuracy at epoch e. Fit the accuracy head with Huber loss (delta 1): 50 epochs with the encoder frozen, then
    50 unfrozen at a lower lr.
Stage 3, predictor-based evolution under every resource constraint at once (eq. 1); with `flops_family`, one
    search per FLOPs target, each also under every constraint (sec. 4.3: FBNetV3-B..E, one predictor): 100 initial =
    50 best of stage 2 + 50 random, every one a parent; 24 children per parent within the constraint; keep the top
    40 of parents + children; stop when the best predicted score saturates.
Final training of each found pair with its recipe, EMA on, in two steps (sec. 4.3): the largest found model is
    trained on the labels, then every found model (the largest too) is distilled from it, 0.8 KD + 0.2 CE
    (`distill=False`: each is trained once, on the labels).

Checkpoints after stage 1, after every trained candidate, after every iteration, after every search of stage 3,
the teacher and every final model: a resumed run continues mid-stage and equals an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np
import torch
import torch.nn as nn

from archsearch.cost.constraints import Constraint, Cost, cost_predicate, parse_constraint, satisfied
from archsearch.errors import ConfigError, ConstraintError, DivergedError, unknown_name
from archsearch.methods import register_method
from archsearch.methods._base import Candidate, SearchResult
from archsearch.ops.drop_path import DropPath
from archsearch.predictors.nars import NARSPredictor, PredictorConfig
from archsearch.search.pareto import pareto_front
from archsearch.search.predictor_evolution import (RANK_CORRELATIONS, EvolutionConfig, correlation_per_epoch,
                                                   early_stop_epoch, evolve, initial_population,
                                                   select_by_flops_bins, sobol_pool)
from archsearch.space.choices import Categorical
from archsearch.space.space import Arch, Space, product
from archsearch.spaces.fbnet import RECIPE_FIELDS, recipe_from_arch, recipe_space
from archsearch.train.final import FinalResult, final_tasks, run_final_task, summarise_final
from archsearch.train.recipe import Recipe
from archsearch.train.task import EvalResult, EvalTask, run_eval_task, seeded

MODES = ("joint", "recipe")


def _default_recipe() -> dict[str, Any]:
    # the fields NARS does not search. FBNetV3 sec. 4.1 trains with an exponential lr decay (0.963 per epoch); on the
    # short CPU schedules of the small presets a cosine decay is the robust choice (interpretation), and the EMA
    # decay is 0.999 (the paper's CIFAR-10 value, appendix: fewer steps than ImageNet's 0.99985).
    return {"schedule": "cosine", "ema_decay": 0.999, "batch_size": 128}


@dataclass(frozen=True)
class NARSConfig:
    """NARS / FBNetV3 defaults (paper values; the presets scale sizes only)."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        "quick": {"pool_size": 2048, "candidates_per_iteration": 8, "iterations": 3, "epochs": 3,
                  "pretrain_epochs": 30, "final_epochs": 4, "population": 40, "from_history": 20, "keep": 16,
                  "children_per_parent": 12, "recipe": {"schedule": "cosine", "ema_decay": 0.99,
                                                        "batch_size": 128}},
        "smoke": {"pool_size": 64, "candidates_per_iteration": 3, "iterations": 2, "epochs": 2,
                  "pretrain_epochs": 3, "frozen_epochs": 5, "unfrozen_epochs": 5, "final_epochs": 1,
                  "population": 8, "from_history": 4, "keep": 4, "children_per_parent": 3, "max_generations": 3,
                  "recipe": {"schedule": "cosine", "ema_decay": 0.9, "batch_size": 32}},
    }
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
    final_epochs: int = 150  # final training of each found pair (interpretation: same length as `epochs`)
    final_recipe: dict[str, Any] = field(default_factory=lambda: {"ema": True})  # over each pair's searched recipe;
    #                                     FBNetV3 sec. 4.3: the final models are trained with EMA
    distill: bool = True  # FBNetV3 sec. 4.3 "Training settings": the largest found model trained on the labels
    #   teaches every found model (itself too), loss 0.8 KD + 0.2 CE; False: trained on the labels only
    joint_always_ema: bool = True  # FBNetV3 sec. 4.2: the joint search "always uses EMA" (shrinks the space)
    arch: dict[str, Any] | None = None  # recipe mode: the fixed architecture (None: the space's default_arch)
    recipe: dict[str, Any] = field(default_factory=_default_recipe)  # Recipe fields that are not searched
    threads: int = 1  # torch threads per training task (one task per executor worker)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise unknown_name("nars mode", self.mode, MODES)
        if self.rank_correlation not in RANK_CORRELATIONS:
            raise unknown_name("rank correlation", self.rank_correlation, RANK_CORRELATIONS)
        if self.iterations is not None and self.iterations < 1:
            raise ConfigError(f"nars: iterations must be >= 1, got {self.iterations}")
        if min(self.candidates_per_iteration, self.pool_size, self.epochs) < 1 or self.final_epochs < 0:
            raise ConfigError("nars: candidates_per_iteration, pool_size and epochs must be >= 1")
        if not 0 < self.early_stop_threshold <= 1:
            raise ConfigError(f"nars: early_stop_threshold must be in (0, 1], got {self.early_stop_threshold}")
        if not 0 <= self.pretrain_val_fraction < 1:
            raise ConfigError("nars: pretrain_val_fraction must be in [0, 1)")
        if self.threads < 1:
            raise ConfigError(f"nars: threads must be >= 1, got {self.threads}")
        if self.arch is not None and self.mode != "recipe":
            raise ConfigError("nars: arch is the fixed architecture of mode 'recipe'; mode 'joint' searches it "
                              "(add --set mode=recipe)")
        Recipe.from_dict(self.recipe)  # unknown / invalid recipe fields fail here, naming them
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


@register_method("nars", NARSConfig)
class NARS:
    """Neural Architecture-Recipe Search: predictor pretraining, constrained iterative optimisation, evolution."""

    name: ClassVar[str] = "nars"

    def __init__(self, config: NARSConfig, ctx: Any) -> None:
        self.config = config
        self.ctx = ctx
        self.run_space = ctx.space
        # the run's space: a joint architecture-recipe SearchSpace ("fbnet-recipe", whose points are complete pairs
        # the ledger and `archsearch export` understand) or a plain architecture space (fbnet, mobilenet, ...)
        self.arch_space = getattr(self.run_space, "architecture", self.run_space)
        self.check_space(self.run_space, "nars", config)
        self.constraints: tuple[Constraint, ...] = tuple(getattr(ctx, "constraints", ()) or ())
        ema = (True,) if config.mode == "joint" and config.joint_always_ema else (True, False)
        run_recipes = getattr(self.run_space, "recipes", None)
        if run_recipes is not None:  # the run space's recipe ranges (EMA fixed on for the joint search)
            self.recipes = Space([(n, Categorical(ema) if n == "ema" else c) for n, c in run_recipes.choices.items()],
                                 name=run_recipes.name)
        else:
            preset = "paper" if getattr(ctx, "preset", "quick") == "paper" else "quick"
            self.recipes = self._fit_recipes(recipe_space(preset, ema=ema))
        self.base_recipe = Recipe.from_dict(config.recipe)
        if config.mode == "joint":
            self.joint: Space = product(self.arch_space.space, self.recipes, name=f"{self.arch_space.name}+recipe")
            self.fixed_arch: Arch | None = None
        else:
            self.joint = self.recipes
            self.fixed_arch = self._fixed_arch()
        self.predictor = NARSPredictor(
            self.joint.encoding_width,
            PredictorConfig(embedding_width=config.embedding_width, huber_delta=config.huber_delta,
                            lr=config.predictor_lr, unfrozen_lr_factor=config.unfrozen_lr_factor),
            generator=ctx.torch_generator("nars", "predictor"))
        # progress (everything here is plain data: the checkpoint)
        self.phase = "pretrain"  # -> "stage2" -> "stage3" -> "final" -> "done"
        self.iteration = 0  # stage-2 iterations completed
        self.evaluated: list[dict[str, Any]] = []  # stage-2 trained candidates (pool index, curve, label, ...)
        self.current: dict[str, Any] | None = None  # the iteration in progress: chosen indices, finished results
        self.stop_epoch: int | None = None  # the early-stop epoch e, set after the first iteration
        self.correlations: list[float] = []
        self.pretrained_state: dict[str, Any] | None = None
        self.pretrain_history: dict[str, list[float]] = {}
        self.found: list[dict[str, Any]] = []  # stage 3: one entry per search
        self.teacher: dict[str, Any] | None = None  # the distillation teacher's training (the largest found model)
        self.finals: list[dict[str, Any]] = []  # final trainings, one per found model
        self._pool: list[Arch] | None = None
        self._pool_cost: np.ndarray | None = None
        self._cost_cache: dict[Any, tuple[int, int]] = {}  # arch part's values -> (MACs, params)
        self._arch_names = list(self.arch_space.space.choices)
        if self.fixed_arch is not None:
            self._check_fixed_arch()

    @staticmethod
    def check_space(search_space: Any, method: str, config: NARSConfig) -> None:
        """Candidates are built and trained from scratch, so the architecture part needs `build` and `cost`; a plain
        architecture space (mobilenet, a user's) is searched together with the recipe, so its choice names must not
        be recipe fields."""
        arch_space = getattr(search_space, "architecture", search_space)
        name = getattr(search_space, "name", search_space)
        if not all(hasattr(arch_space, a) for a in ("space", "build", "cost")):
            raise ConfigError(f"{method} trains candidates from scratch and needs an architecture space with build() "
                              f"and cost() (e.g. fbnet-recipe, fbnet, mobilenet, your own); {name!r} has none")
        if getattr(search_space, "recipes", None) is None:
            clash = sorted(set(arch_space.space.choices) & set(RECIPE_FIELDS))
            if clash:
                raise ConfigError(f"{method} searches space {name!r} together with the training recipe, but its "
                                  f"choice(s) {clash} are named like recipe fields; rename them (the LayerChoice / "
                                  "InputChoice labels)")

    def _fit_recipes(self, recipes: Space) -> Space:
        """The recipe fields that act on this space's networks: the trainer sets `dropout` on nn.Dropout modules
        and `drop_path` on DropPath modules only, so on a weight-sharing space whose supernet (every candidate) has
        none, the field would be a dimension that changes nothing, and is dropped. A space without a supernet keeps
        every field (one built network cannot speak for all)."""
        if not callable(getattr(self.arch_space, "supernet", None)):
            return recipes
        with seeded(0):  # only the module types matter; the caller's random stream is left alone
            modules = list(self.arch_space.supernet().modules())
        acted_on = {"dropout": nn.modules.dropout._DropoutNd, "drop_path": DropPath}
        unused = [name for name, kind in acted_on.items()
                  if name in recipes.choices and not any(isinstance(m, kind) for m in modules)]
        if not unused:
            return recipes
        self.ctx.log(f"nars: recipe field(s) {', '.join(unused)} not searched: no network of space "
                     f"{self.arch_space.name!r} has a module they act on")
        return Space([(n, c) for n, c in recipes.choices.items() if n not in unused], name=recipes.name)

    # -- pieces of the space ----------------------------------------------------------------------------------------
    def _fixed_arch(self) -> Arch:
        if self.config.arch is not None:
            return self.arch_space.space.validate(self.config.arch)
        default = getattr(self.arch_space, "default_arch", None)
        if default is not None:
            return default()
        return self.arch_space.space.sample(self.ctx.rng("nars", "fixed_arch"))

    def _check_fixed_arch(self) -> None:
        """Recipe-only search cannot change the cost: a constraint (or FLOPs target) the fixed architecture breaks
        is a user error."""
        macs, params = self.cost(self.recipes.sample(self.ctx.rng("nars", "check")))
        every = {c for search in self.stage3_searches() for c in search}
        broken = [str(c) for c in sorted(every, key=str) if not satisfied((c,), Cost(macs, params))]
        if broken:
            raise ConstraintError(f"nars recipe mode: the fixed architecture ({macs / 1e6:.4g}M MACs, {params / 1e6:.4g}M "
                                  f"params) breaks {', '.join(broken)}; choose another with --set arch=... or drop "
                                  f"the constraint")

    def split(self, point: Arch) -> tuple[Arch, Arch]:
        """(architecture, recipe part) of a point of the searched space."""
        if self.config.mode == "joint":
            values = point.to_dict()  # one pass (`Space.project` looks every name up linearly)
            return (Arch((n, values[n]) for n in self.arch_space.space.choices),
                    Arch((n, values[n]) for n in self.recipes.choices))
        return self.fixed_arch, point  # type: ignore[return-value]

    def full(self, point: Arch) -> Arch:
        """A searched point as a point of the run's space (what the ledger, results, `archsearch export` and
        `archsearch compare` hold): the complete architecture-recipe pair in a joint run space (fbnet-recipe); in a
        plain architecture space (mobilenet, a user's) the architecture part, its searched recipe going with it as
        the attribute ``recipe``."""
        arch, recipe = self.split(point)
        if self.run_space is not self.arch_space:
            return self.run_space.space.validate({**arch.to_dict(), **recipe.to_dict()})
        return arch

    def task_arch(self, point: Arch) -> Arch:
        """What a training task builds (a point of the run's space; the recipe travels in the task)."""
        return self.full(point)

    def cost(self, point: Arch) -> tuple[int, int]:
        if self.config.mode != "joint":
            key: Any = None  # recipe mode: one fixed architecture
        else:  # the recipe part does not change the cost: children differing only there share an entry
            values = point.to_dict()
            key = tuple(values[n] for n in self._arch_names)
        if key not in self._cost_cache:  # the recipe part does not change the cost
            cost = self.arch_space.cost(Arch(zip(self._arch_names, key)) if key is not None else self.fixed_arch)
            self._cost_cache[key] = (int(cost.macs), int(cost.params))
        return self._cost_cache[key]

    def recipe_of(self, point: Arch) -> Recipe:
        return recipe_from_arch(self.split(point)[1], self.base_recipe)

    @property
    def pool(self) -> list[Arch]:
        """The Sobol pool: regenerated from its own seed (never stored in checkpoints)."""
        if self._pool is None:
            self._pool = sobol_pool(self.joint, self.config.pool_size, self.ctx.rng("nars", "pool"))
            self._pool_cost = np.array([self.cost(a) for a in self._pool], dtype=np.float64)
        return self._pool

    @property
    def pool_flops(self) -> np.ndarray:
        self.pool  # noqa: B018 (builds the pool)
        return self._pool_cost[:, 0]  # type: ignore[index]

    def flops_range(self) -> tuple[float, float]:
        flops = self.pool_flops
        if self.fixed_arch is not None:  # recipe-only: one architecture, one FLOPs value
            return float(flops.min()), float(flops.max())
        low = self.config.flops_min if self.config.flops_min is not None else float(flops.min())
        # the most FLOPs any stage-3 search may return: every FLOPs bound holds at once, the family's largest target
        limits = [c.bound for c in self.constraints if c.metric == "flops" and c.op in ("<=", "<")]
        limits = ([min(limits)] if limits else []) + ([max(self.config.flops_family)] if self.config.flops_family
                                                      else [])
        high = self.config.flops_max if self.config.flops_max is not None else (
            min(limits) if limits else float(flops.max()))
        return float(low), float(high)

    # -- the loop ---------------------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        cfg = self.config
        if self.phase == "pretrain":
            self.stage1_pretrain()
            self.phase = "stage2"
            self.ctx.checkpoint(self)
        while self.phase == "stage2" and self.iteration < cfg.total_iterations:
            self.stage2_iteration()
        if self.phase == "stage2":
            self.phase = "stage3"
            self.ctx.checkpoint(self)
        if self.phase == "stage3":
            for index in range(len(self.found), len(self.stage3_searches())):
                self.stage3_evolve(index)
                self.ctx.checkpoint(self)
            self.phase = "final"
            self.ctx.checkpoint(self)
        if self.phase == "final":
            end_search = getattr(self.ctx, "end_search", None)
            if end_search is not None:  # the final trainings are not search cost
                end_search()
            self.final_training()
            self.phase = "done"
            self.ctx.checkpoint(self)
        return self._result()

    # -- stage 1 ----------------------------------------------------------------------------------------------------
    def stage1_pretrain(self) -> None:
        if self.config.mode == "recipe":  # FBNetV3 appendix: recipe-only search uses no pretrained embedding
            self.ctx.log("nars stage 1: skipped (recipe-only mode: FLOPs/params do not depend on the recipe)")
            return
        x = self.joint.encode_many(self.pool)
        proxies = self._pool_cost
        history = self.predictor.pretrain(x, proxies, epochs=self.config.pretrain_epochs,
                                          val_fraction=self.config.pretrain_val_fraction)
        self.pretrain_history = history
        self.pretrained_state = self.predictor.state_dict()
        for epoch, (train_mse, val_mse) in enumerate(zip(history["train_mse"], history["val_mse"]), start=1):
            self.ctx.log_metrics("pretrain", epoch, train_mse=train_mse, val_mse=val_mse)
        self.ctx.log(f"nars stage 1: proxy val MSE {history['val_mse'][0]:.4f} -> {history['val_mse'][-1]:.4f} "
                     f"on {len(x)} pool archs")

    # -- stage 2 ----------------------------------------------------------------------------------------------------
    def choose_candidates(self) -> list[int]:
        """Pool indices of this iteration's m candidates."""
        m = self.config.candidates_per_iteration
        low, high = self.flops_range()
        flops = self.pool_flops
        done = {e["index"] for e in self.evaluated}
        if self.iteration == 0:  # the first iteration: straight from the QMC pool
            inside = [i for i in range(len(self.pool)) if low <= flops[i] <= high and i not in done]
            if not inside:
                raise ConstraintError(f"nars: no pool candidate has FLOPs in [{low:.4g}, {high:.4g}]")
            return inside[:m]
        predicted = self.predictor.predict(self.joint.encode_many(self.pool))
        return select_by_flops_bins(flops, predicted, m, low=low, high=high, exclude=sorted(done))

    def stage2_iteration(self) -> None:
        cfg, ctx = self.config, self.ctx
        t = self.iteration
        if self.current is None:
            chosen = self.choose_candidates()
            predicted = (self.predictor.predict(self.joint.encode_many([self.pool[i] for i in chosen]))
                         if self.predictor.fitted else np.full(len(chosen), math.nan))
            self.current = {"chosen": chosen, "predicted": [float(p) for p in predicted], "results": {}}
            ctx.checkpoint(self)
        stop = cfg.epochs if t == 0 else int(self.stop_epoch or cfg.epochs)
        chosen, results = self.current["chosen"], self.current["results"]
        pending = {j: i for j, i in enumerate(chosen) if str(j) not in results}
        self._train_candidates(t, pending, stop)
        rows = []
        for j, index in enumerate(chosen):
            result = results[str(j)]
            rows.append({"index": int(index), "iteration": t, "curve": result["curve"],
                         "predicted": self.current["predicted"][j], "macs": result["macs"],
                         "params": result["params"], "diverged": result["diverged"], "key": result["key"]})
        if t == 0:
            self._choose_stop_epoch(rows)
        for k, row in enumerate(rows):
            row["label"] = self._label(row["curve"])
            if row["label"] is not None:
                ctx.log_metrics("samples", len(self.evaluated) + k, iteration=float(t), macs=float(row["macs"]),
                                accuracy=float(row["label"]), predicted=float(row["predicted"]))
        self.evaluated.extend(rows)
        self._fit_predictor()
        self.iteration += 1
        self.current = None
        best = max((r["label"] for r in self.evaluated if r["label"] is not None), default=math.nan)
        ctx.log_metrics("stage2", self.iteration, best_accuracy=float(best), trained=float(len(self.evaluated)),
                        stop_epoch=float(self.stop_epoch or cfg.epochs))
        ctx.log(f"nars stage 2: iteration {self.iteration}/{cfg.total_iterations}, {len(rows)} trained, "
                f"best label {best:.4f}")
        ctx.checkpoint(self)

    def _task(self, point: Arch, key: str) -> EvalTask:
        spec = self.ctx.space_spec
        seed = int(self.ctx.rng("nars", "train", key).integers(2**31 - 1))
        return EvalTask(space=spec["name"], space_options=dict(spec.get("options", {})),
                        arch=self.task_arch(point).to_dict(),
                        recipe=self.recipe_of(point).to_dict(), epochs=self.config.epochs, seed=seed,
                        threads=self.config.threads, test=False, **self.ctx.data_spec)

    def _train_candidates(self, t: int, pending: dict[int, int], stop: int) -> None:
        """Train the pending candidates through the executor; record each in the ledger and checkpoint."""
        ctx, ledger = self.ctx, self.ctx.ledger
        results = self.current["results"]  # type: ignore[index]
        handles: list[Any] = []  # executor handles (not necessarily hashable), parallel to `infos`
        infos: list[tuple[int, int, str, int]] = []
        for j, index in pending.items():
            point = self.pool[index]
            key = f"stage2/{t}/{j}"
            macs, params = self.cost(point)
            attrs = {"macs": macs, "params": params, "phase": "stage2", "key": key, "iteration": t,
                     "stop_epoch": stop, "recipe": self.recipe_of(point).to_dict()}
            trial = ledger.start(self.full(point), key=key, phase="stage2", attrs=attrs)
            handle = ctx.executor.submit(train_until, self._task(point, key), stop)
            handles.append(handle)
            infos.append((j, index, key, trial))
        with ctx.progress(f"nars stage 2, iteration {t + 1}", total=len(handles)) as bar:
            while handles:
                handle, outcome = ctx.executor.wait_any(list(handles))
                position = next(n for n, h in enumerate(handles) if h is handle)
                handles.pop(position)
                j, index, key, trial = infos.pop(position)
                macs, params = self.cost(self.pool[index])
                if isinstance(outcome, BaseException):
                    ledger.fail(trial, f"{type(outcome).__name__}: {outcome}")
                    curve: list[float | None] = []
                    diverged = True
                else:
                    curve = [e.get("val_accuracy") for e in outcome.per_epoch]
                    for epoch, value in enumerate(curve, start=1):
                        if value is not None:
                            ledger.report_epoch(trial, epoch, float(value))
                    diverged = outcome.diverged or outcome.val_accuracy is None
                    if diverged:
                        ledger.fail(trial, outcome.error or "no validation accuracy")
                    else:
                        ledger.complete(trial, self._values(float(outcome.val_accuracy), macs, params),
                                        {"macs": macs, "params": params, "seconds": outcome.seconds,
                                         "phase": "stage2", "key": key, "curve": json.dumps(curve)})
                results[str(j)] = {"curve": curve, "macs": macs, "params": params, "diverged": diverged,
                                   "key": key}
                bar.advance()
                ctx.checkpoint(self)

    def _values(self, accuracy: float, macs: int, params: int) -> dict[str, float]:
        values = {"accuracy": accuracy, "macs": float(macs), "params": float(params)}
        names = getattr(self.ctx.ledger, "objective_names", None)
        return {k: v for k, v in values.items() if not names or k in names}

    def _choose_stop_epoch(self, rows: list[dict[str, Any]]) -> None:
        """FBNetV3 sec. 3.2: after the first iteration, the smallest epoch whose ranking reaches the threshold."""
        curves = [r["curve"] for r in rows if not r["diverged"] and len(r["curve"]) == self.config.epochs
                  and all(v is not None for v in r["curve"])]
        if len(curves) < 2:
            self.stop_epoch = self.config.epochs
            self.correlations = []
            self.ctx.log("nars: fewer than two complete curves; no early stopping")
            return
        matrix = np.asarray(curves, dtype=np.float64)
        self.correlations = [float(c) for c in correlation_per_epoch(matrix, self.config.rank_correlation)]
        self.stop_epoch = early_stop_epoch(matrix, self.config.early_stop_threshold, self.config.rank_correlation)
        for epoch, value in enumerate(self.correlations, start=1):
            self.ctx.log_metrics("early_stop", epoch, correlation=value, threshold=self.config.early_stop_threshold)
        self.ctx.log(f"nars: early-stop epoch e = {self.stop_epoch} of {self.config.epochs} "
                     f"({self.config.rank_correlation} >= {self.config.early_stop_threshold})")

    def _label(self, curve: list[float | None]) -> float | None:
        """The training label: the accuracy at the early-stop epoch (the same for every iteration)."""
        e = int(self.stop_epoch or self.config.epochs)
        if len(curve) < e or curve[e - 1] is None:
            return None
        return float(curve[e - 1])  # type: ignore[arg-type]

    def _fit_predictor(self) -> None:
        """Refit the accuracy head on every label so far, starting from the pretrained encoder each time."""
        labelled = [r for r in self.evaluated if r["label"] is not None]
        if not labelled:
            return
        if self.pretrained_state is not None:
            self.predictor.load_state_dict({**self.pretrained_state,
                                            "generator": self.predictor.generator.get_state()})
        x = self.joint.encode_many([self.pool[r["index"]] for r in labelled])
        y = np.array([r["label"] for r in labelled])
        history = self.predictor.fit(x, y, frozen_epochs=self.config.frozen_epochs,
                                     unfrozen_epochs=self.config.unfrozen_epochs)
        self.ctx.log_metrics("predictor_fit", self.iteration + 1, final_loss=history["loss"][-1] if
                             history["loss"] else math.nan, labels=float(len(y)))

    # -- stage 3 ----------------------------------------------------------------------------------------------------
    def stage3_searches(self) -> list[tuple[Constraint, ...]]:
        """The constraints of each stage-3 search: all of the run's at once (FBNetV3 eq. 1), plus, with
        `flops_family`, one FLOPs target per search (smallest first)."""
        family = self.config.flops_family
        if not family:
            return [self.constraints]
        return [self.constraints + (Constraint("flops", "<=", float(target)),) for target in family]

    def _feasible(self, constraints: tuple[Constraint, ...]) -> Callable[[Arch], bool]:
        return cost_predicate(constraints, lambda point: Cost(*self.cost(point)))

    def stage3_evolve(self, index: int) -> None:
        cfg, ctx = self.config, self.ctx
        constraints = self.stage3_searches()[index]
        described = ", ".join(str(c) for c in constraints) or "none"
        feasible = self._feasible(constraints)
        if self.fixed_arch is not None and not feasible(self.pool[0]):
            raise ConstraintError(f"nars recipe mode: the fixed architecture breaks {described}")
        ranked = sorted((r for r in self.evaluated if r["label"] is not None), key=lambda r: -r["label"])
        history = [self.pool[r["index"]] for r in ranked]
        evolution = EvolutionConfig(population=cfg.population, from_history=cfg.from_history,
                                    children_per_parent=cfg.children_per_parent, keep=cfg.keep,
                                    patience=cfg.patience, max_generations=cfg.max_generations)
        rng = ctx.rng("nars", "stage3", index)
        start = time.perf_counter()
        initial = initial_population(self.joint, history, feasible, rng, evolution)

        def score(points: Sequence[Arch]) -> np.ndarray:
            return self.predictor.predict(self.joint.encode_many(list(points)))

        def on_generation(generation: int, best: float, size: int) -> None:
            ctx.log_metrics(f"evolution_{index}", generation, best_predicted=best, population=float(size))

        result = evolve(self.joint, score, feasible, initial, rng, evolution, on_generation)
        macs, params = self.cost(result.best)
        self.found.append({"constraint": described, "arch": result.best.to_json(),
                           "predicted": result.best_score, "macs": macs, "params": params,
                           "generations": len(result.best_per_generation) - 1, "scored": result.scored,
                           "seconds": time.perf_counter() - start, "history": result.best_per_generation})
        ctx.log(f"nars stage 3 [{self.found[-1]['constraint']}]: predicted {result.best_score:.4f}, "
                f"{macs / 1e6:.3g}M MACs, {len(result.best_per_generation) - 1} generations, "
                f"{self.found[-1]['seconds']:.1f} s")

    # -- final training ---------------------------------------------------------------------------------------------
    def final_training(self) -> None:
        """Train each found pair with its recipe and EMA on (FBNetV3 sec. 4.3), through the executor (in parallel
        on Ray). With `distill`, two steps as the paper: the largest found model is trained on the labels, then
        every found model, the largest too, is trained again with it as teacher (0.8 KD + 0.2 CE).
        The trained (EMA) weights go to ``run_dir/weights/final_<i>.pt``, which `archsearch export` loads."""
        cfg = self.config
        if cfg.final_epochs <= 0 or not self.found:
            return
        teacher: dict[str, Any] | None = None
        if cfg.distill:
            largest = min(range(len(self.found)), key=lambda i: (-self.found[i]["macs"], i))
            if self.teacher is None:
                self._run_finals([largest], None, role="teacher")
            if self.teacher is not None and self.teacher["weights"] is not None:
                teacher = {"arch": self.task_arch(self._found_point(largest)).to_dict(),
                           "state": torch.load(self.ctx.run_dir / self.teacher["weights"], map_location="cpu",
                                               weights_only=True)}
            else:
                self.ctx.log("nars: the teacher's training failed; the final models train without distillation")
        done = {f["found_index"] for f in self.finals}
        self._run_finals([i for i in range(len(self.found)) if i not in done], teacher)

    def _found_point(self, i: int) -> Arch:
        return self.joint.from_json(self.found[i]["arch"])

    def _weights_path(self, i: int, role: str = "final") -> Any:
        return self.ctx.run_dir / "weights" / (f"final_{i}.pt" if role == "final" else "teacher.pt")

    def _final_recipe(self, point: Arch, distilled: bool) -> Recipe:
        recipe = self.recipe_of(point).replace(**self.config.final_recipe)  # FBNetV3 sec. 4.3: with EMA
        return recipe if not distilled else recipe.replace(distill_weight=0.8)  # sec. 4.3: 0.8 KD + 0.2 CE

    def _run_finals(self, indices: list[int], teacher: dict[str, Any] | None, role: str = "final") -> None:
        """Train found models `indices` (distilled from `teacher` when given); `role` "teacher": the one model
        trained on the labels to teach the others, recorded in `self.teacher`."""
        ctx = self.ctx
        handles: list[Any] = []
        infos: list[tuple[int, int, EvalTask]] = []
        for i in indices:
            point = self._found_point(i)
            key = f"final/{i}" if role == "final" else "final/teacher"
            (task,) = final_tasks(self.task_arch(point).to_dict(), space=self.ctx.space_spec,
                                  **{"split": {}, **self.ctx.data_spec},
                                  epochs=self.config.final_epochs, seeds=[self._task(point, key).seed],
                                  recipe=self._final_recipe(point, teacher is not None), threads=self.config.threads)
            macs, params = self.cost(point)
            trial = ctx.ledger.start(self.full(point), key=key, phase="final",
                                     attrs={"macs": macs, "params": params, "phase": "final", "key": key,
                                            "recipe": task.recipe, "distilled": teacher is not None, "role": role})
            handles.append(ctx.executor.submit(train_final, task, teacher))
            infos.append((i, trial, task))
        with ctx.progress(f"nars {role} training", total=len(handles)) as bar:
            while handles:
                handle, outcome = ctx.executor.wait_any(list(handles))
                position = next(n for n, h in enumerate(handles) if h is handle)
                handles.pop(position)
                i, trial, task = infos.pop(position)
                record = self._record_final(i, trial, task, outcome, teacher is not None, role)
                if role == "teacher":
                    self.teacher = record
                else:
                    self.finals.append(record)
                bar.advance()
                ctx.checkpoint(self)

    def _record_final(self, i: int, trial: int, task: EvalTask, outcome: Any, distilled: bool,
                      role: str = "final") -> dict[str, Any]:
        macs, params = self.cost(self._found_point(i))
        result = None if isinstance(outcome, BaseException) else outcome
        ok = result is not None and not result.diverged and result.val_accuracy is not None
        weights = None
        key = f"final/{i}" if role == "final" else "final/teacher"
        if ok:
            weights = self.ctx.save_weights(str(self._weights_path(i, role).relative_to(self.ctx.run_dir)),
                                            result.weights)
            for epoch, row in enumerate(result.per_epoch, start=1):
                if row.get("val_accuracy") is not None:
                    self.ctx.ledger.report_epoch(trial, epoch, float(row["val_accuracy"]))
            self.ctx.ledger.complete(trial, self._values(float(result.val_accuracy), macs, params),
                                     {"macs": macs, "params": params, "seconds": result.seconds, "phase": "final",
                                      "test_accuracy": result.test_accuracy, "distilled": distilled,
                                      "weights": weights, "role": role})
            if role == "final":
                self.ctx.log_metrics("finals", i, accuracy=float(result.val_accuracy), macs=float(macs),
                                     predicted=float(self.found[i]["predicted"]))
        else:
            reason = (f"{type(outcome).__name__}: {outcome}" if result is None else
                      result.error or "no validation accuracy")
            self.ctx.ledger.fail(trial, reason)
            self.ctx.log(f"nars {key} training failed: {reason}")
        return {"found_index": i, "key": key, "val_accuracy": result.val_accuracy if ok else None,
                "test_accuracy": result.test_accuracy if ok else None, "macs": macs, "params": params,
                "distilled": distilled, "constraint": self.found[i]["constraint"],
                "predicted": self.found[i]["predicted"], "weights": weights,
                **({"final": summarise_final([outcome], [task]).to_json()} if role == "final" else {})}

    # -- result -----------------------------------------------------------------------------------------------------
    def _candidate(self, point: Arch, accuracy: float, attrs: dict[str, Any]) -> Candidate:
        """A result entry: the point of the run's space (`full`), its accuracy, costs and searched recipe."""
        macs, params = self.cost(point)
        return Candidate(self.full(point), {"accuracy": float(accuracy), "macs": float(macs), "params": float(params)},
                         {"recipe": self.recipe_of(point).to_dict(), **attrs})

    def _result(self) -> SearchResult:
        found = []
        for i, entry in enumerate(self.found):
            final = next((f for f in self.finals if f["found_index"] == i), None)
            measured = final["val_accuracy"] if final and final["val_accuracy"] is not None else None
            accuracy = measured if measured is not None else entry["predicted"]
            attrs = {"constraint": entry["constraint"], "predicted_accuracy": entry["predicted"],
                     "measured": measured is not None, "test_accuracy": final["test_accuracy"] if final else None}
            found.append(self._candidate(self._found_point(i), accuracy, attrs))
        measured = [self._candidate(self.pool[r["index"]], r["label"], {"source": "stage2", "measured": True})
                    for r in self.evaluated if r["label"] is not None]
        everything = found + measured
        if not everything:
            raise ConfigError("nars: nothing was trained or found")
        front = _pareto_front(everything)
        # the best: the most accurate model found under the constraints (measured ones first: a final training
        # beats a prediction); with nothing found, the best stage-2 label
        best = (max(found, key=lambda c: (c.attrs["measured"], c.objectives["accuracy"])) if found else
                max(measured, key=lambda c: c.objectives["accuracy"]))
        finals = sorted(self.finals, key=lambda f: f["found_index"])
        extra = {"mode": self.config.mode, "iterations": self.iteration, "stop_epoch": self.stop_epoch,
                 "correlations": self.correlations, "rank_correlation": self.config.rank_correlation,
                 "trained": len(self.evaluated),
                 "stage3": [{k: v for k, v in f.items() if k != "history"} for f in self.found],
                 "teacher": self.teacher, "finals": finals,
                 "weights": {found[f["found_index"]].arch.key: f["weights"] for f in finals if f.get("weights")}}
        extra["per_constraint"] = [{"constraint": c.attrs["constraint"], "arch": c.arch.to_dict(),
                                    "recipe": c.attrs["recipe"], **c.objectives,
                                    "predicted_accuracy": c.attrs["predicted_accuracy"],
                                    "test_accuracy": c.attrs["test_accuracy"]} for c in found]
        # the best's final training is the run's (trained on the run's training split: its validation accuracy
        # chose the best among the found pairs)
        best_final = next((f["final"] for f in finals if f.get("final") and found[f["found_index"]] is best), None)
        return SearchResult(best, tuple(front), extra,
                            None if best_final is None else FinalResult.from_json(best_final))

    # -- state ------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "phase": self.phase, "iteration": self.iteration,
                "evaluated": json.dumps(self.evaluated), "current": json.dumps(self.current),
                "stop_epoch": self.stop_epoch, "correlations": list(self.correlations),
                "pretrained_state": self.pretrained_state, "pretrain_history": json.dumps(self.pretrain_history),
                "predictor": self.predictor.state_dict(), "found": json.dumps(self.found),
                "teacher": json.dumps(self.teacher), "finals": json.dumps(self.finals)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.phase = str(state["phase"])
        self.iteration = int(state["iteration"])
        self.evaluated = json.loads(state["evaluated"])
        self.current = json.loads(state["current"])
        self.stop_epoch = None if state["stop_epoch"] is None else int(state["stop_epoch"])
        self.correlations = [float(c) for c in state["correlations"]]
        self.pretrained_state = state["pretrained_state"]
        self.pretrain_history = json.loads(state["pretrain_history"])
        self.predictor.load_state_dict(state["predictor"])
        self.found = json.loads(state["found"])
        self.teacher = json.loads(state.get("teacher", "null"))
        self.finals = json.loads(state["finals"])


def _pareto_front(candidates: list[Candidate]) -> list[Candidate]:
    """Non-dominated candidates over (accuracy up, MACs down), most accurate first."""
    return pareto_front(candidates, lambda c: c.objectives["accuracy"], lambda c: c.objectives["macs"])[::-1]


__all__ = ["MODES", "NARS", "NARSConfig", "train_final", "train_until"]
