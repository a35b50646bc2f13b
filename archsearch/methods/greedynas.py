"""GreedyNAS (You et al., CVPR 2020, arXiv:2003.11236) and its baseline SPOS (Guo et al. 2019), on one code path.

Algorithm (GreedyNAS sec. 3, one iteration of supernet training):

1. draw m = 10 paths, each from the candidate pool P with probability eps (growing linearly 0 -> 0.8) and
   uniformly from the space otherwise; a path breaking the resource constraint is re-drawn;
2. score each by its loss on one batch of the small validation set (1000 held-out images), without gradient;
3. keep the k = 5 lowest-loss paths and train the supernet weights on them (one training batch each); the
   rejected paths are not trained;
4. push the scored paths into P (the best n = 1000 seen, scores refreshed);
5. every t iterations compare P with P t iterations earlier; stop when they differ by less than 0.08.

Then NSGA-II searches the trained supernet for (validation accuracy, FLOPs or params) under the constraint, its
first population taken from the top of P. The chosen arch is exported as a standalone child with the supernet's
weights (``export/``) and is meant to be retrained from scratch (``archsearch train``).

SPOS is the same loop with ``sampling="uniform"``: one uniformly drawn path per iteration, trained on one batch;
no scoring, no pool, no rejection, no early stop; NSGA-II starts from a random population.

Budgets are counted in *trained path-batches* (optimiser steps): a greedy iteration costs k of them, a uniform one
1, so ``supernet_epochs`` means the same amount of weight training for both.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.cost.constraints import METRICS, Constraint, Cost, cost_predicate
from archsearch.cost.latency import needs_latency, with_latency
from archsearch.data.batches import Batches
from archsearch.data.splits import TensorPair
from archsearch.errors import ConfigError, check_at_least, check_one_of
from archsearch.methods import register_method, spec_of
from archsearch.methods._base import Candidate, SavedWeights, SearchResult, require_weight_sharing, weights_file
from archsearch.methods._inherited import recalibrated_child
from archsearch.methods.context import RunContext, latency_progress
from archsearch.methods.final_training import FinalTraining, quick_final, smoke_final
from archsearch.search.candidate_pool import POOL_DIFFERENCES, CandidatePool, PoolEarlyStop, linear_eps
from archsearch.space.space import Arch
from archsearch.spaces import LatencyCostedSpace
from archsearch.supernet.mixed_op import set_path
from archsearch.train import batch_statistics, evaluate, model_input, uses_channels_last
from archsearch.train.distributed import mean_across_ranks
from archsearch.train.recipe import Recipe
from archsearch.train.task import seeded
from archsearch.train.trainer import Trainer

SAMPLINGS = ("greedy", "uniform")
POOL_SCORES = ("loss", "batch_relative")
SEARCH_COSTS = ("flops", "params", "latency")
# The exported child's BN statistics are re-estimated on 20 training batches (interpretation: SPOS' released search,
# src/Search/tester.py, re-estimates them on 200 batches of 128 images before it scores a path; the export is meant
# to be retrained from scratch, so the default `bn_recalibration_batches` of ProxylessNAS and DARTS here serves)
EXPORT_CALIBRATION_BATCHES = 20


def _default_recipe() -> dict[str, Any]:
    # (interpretation) the single-path supernet recipe of SPOS / GreedyNAS sec. 4.1 (SGD + momentum 0.9, cosine
    # decay, weight decay 4e-5), with the lr scaled by the linear rule to batch 128 (Recipe defaults)
    return {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 4e-5, "schedule": "cosine"}


def _final_recipe() -> dict[str, Any]:
    # (interpretation) GreedyNAS sec. 4.1 retrains the found net from scratch on ImageNet with the schedule of its
    # baseline SPOS (Guo et al. 2019, released evaluation): SGD momentum 0.9, lr 0.5 at batch 1024 (linear decay;
    # cosine here), weight decay 4e-5, label smoothing 0.1
    return {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9, "weight_decay": 4e-5, "schedule": "cosine",
            "label_smoothing": 0.1, "batch_size": 1024}



@dataclass(frozen=True)
class GreedyNASConfig:
    """GreedyNAS defaults (paper values; the presets scale only sizes)."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        # a few CPU minutes on Fashion-MNIST (49k training images, 382 batches an epoch): half an epoch of
        # trained batches (38 greedy iterations, ~380 scored paths), 64 NSGA-II evaluations on 1000 val images;
        # an epoch is 382 steps on any data, so a smaller set is cycled instead of training a few dozen steps
        "quick": {"supernet_epochs": 0.5, "steps_per_epoch": 382, "pool_size": 100, "early_stop_every_epochs": 0.1,
                  "population": 16, "generations": 3, "search_val_images": 1000, "checkpoint_every": 10,
                  "final": quick_final(_default_recipe(), batch_size=128)},
        # seconds (tests): a checkpoint mid-training, so crash-and-resume tests can cut there
        "smoke": {"supernet_epochs": 1.0, "pool_size": 10, "early_stop_every_epochs": 0.25, "population": 4,
                  "generations": 1, "search_val_images": 128, "batch_size": 32, "score_batch_size": 32,
                  "checkpoint_every": 2, "final": smoke_final(_default_recipe())},
    }
    DISPLAY_NAME: ClassVar[str] = "GreedyNAS"  # You et al., CVPR 2020
    BUDGET_FIELD: ClassVar[str] = "supernet_epochs"
    FULL_BATCHES: ClassVar[bool] = True  # the supernet trains on full batches only: the data must hold one
    ACCURACY: ClassVar[str] = "supernet"  # NSGA-II ranks paths by their accuracy with inherited supernet weights

    sampling: str = "greedy"  # "greedy" = GreedyNAS; "uniform" = SPOS (Guo et al. 2019), the paper's baseline
    supernet_epochs: float = 120.0  # (interpretation) SPOS's 120-epoch supernet budget, the uniform baseline of
    #                                 GreedyNAS sec. 4; greedy training stops earlier through the pool early stop
    batch_size: int = 128  # training batch per trained path (see Recipe: batch 128 on these small datasets)
    steps_per_epoch: int | None = None  # None: an epoch is one pass over the training split (the papers); a preset
    #                                     sets a count, so its budget trains as many steps on any data size
    recipe: Recipe = field(default_factory=lambda: Recipe.from_dict(_default_recipe()))  # supernet training; its
    #                                                   batch_size is `batch_size` (set in __post_init__)
    num_sampled: int = 10  # GreedyNAS sec. 3.2 / 4.1: m = 10 paths sampled per iteration
    num_kept: int = 5  # GreedyNAS sec. 3.2 / 4.1: k = 5 lowest-loss paths trained
    score_batch_size: int = 128  # (interpretation) one small-val batch per iteration, same size as a train batch
    pool_size: int = 1000  # GreedyNAS sec. 3.3: candidate pool of n = 1000 paths
    eps_start: float = 0.0  # GreedyNAS sec. 3.3: eps starts at 0 (the pool is not trusted yet) ...
    eps_end: float = 0.8  # ... and grows linearly to 0.8 over training (the paper's best value)
    early_stop: bool = True  # GreedyNAS sec. 3.4: stop supernet training once the pool is stable
    early_stop_threshold: float = 0.08  # GreedyNAS sec. 3.4: stop when the pool difference is below 0.08
    early_stop_every_epochs: float = 1.0  # (interpretation) t = one epoch of trained batches between comparisons
    pool_difference: str = "membership"  # (interpretation) see candidate_pool.pool_difference
    pool_score: str = "loss"  # GreedyNAS sec. 3.3: a path's pool score is its loss on its iteration's small-val
    #   batch. "batch_relative" (ours): minus the mean loss of that iteration's m paths, so scores taken on easier
    #   and harder batches compare (the choice of the k kept paths is the same either way)
    search_cost: str = "flops"  # GreedyNAS sec. 4: NSGA-II over accuracy and FLOPs ("params", "latency" too)
    latency_table: str | None = None  # "latency" cost or constraint: this lookup table (None: the device's cached
    #                                   one, measured first when missing; archsearch latency build)
    population: int = 50  # (interpretation) we found no NSGA-II sizes for GreedyNAS: we take those of the
    generations: int = 20  # SPOS search GreedyNAS compares with (Guo et al. sec. 4: population 50, 20 iterations)
    search_val_images: int = 10000  # validation images per supernet accuracy in the search (all of our val split)
    checkpoint_every: int = 50  # iterations between checkpoints (plus after training and each NSGA-II generation)
    # the chosen path's final training (from scratch on every training image; test set): (interpretation) SPOS's
    # evaluation, 300K iterations at batch 1024 ~ 240 ImageNet epochs; one training, as GreedyNAS / SPOS report it
    final: FinalTraining = field(default_factory=lambda: FinalTraining(240, seeds=1, recipe=_final_recipe()))

    def __post_init__(self) -> None:
        check_one_of(self, {"sampling": SAMPLINGS, "search_cost": SEARCH_COSTS, "pool_difference": POOL_DIFFERENCES,
                            "pool_score": POOL_SCORES})
        if not 1 <= self.num_kept <= self.num_sampled:
            raise ConfigError(f"need 1 <= num_kept <= num_sampled, got k={self.num_kept}, m={self.num_sampled}")
        check_at_least(self, 1, ("batch_size", "score_batch_size", "pool_size", "population", "search_val_images",
                                 "checkpoint_every"))
        check_at_least(self, 0, ("generations",))
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ConfigError(f"steps_per_epoch must be >= 1 or None, got {self.steps_per_epoch}")
        if not self.supernet_epochs > 0 or not self.early_stop_every_epochs > 0:
            raise ConfigError("supernet_epochs and early_stop_every_epochs must be > 0")
        if not 0 <= self.eps_start <= 1 or not 0 <= self.eps_end <= 1:
            raise ConfigError(f"eps_start / eps_end must be in [0, 1], got {self.eps_start} / {self.eps_end}")
        recipe = Recipe.of(self.recipe, "greedynas recipe")  # fails early, naming a bad field
        object.__setattr__(self, "recipe", recipe.replace(batch_size=self.batch_size))  # frozen: set here only

    @property
    def greedy(self) -> bool:
        return self.sampling == "greedy"


@dataclass(frozen=True)
class SPOSConfig(GreedyNASConfig):
    """SPOS: uniform single-path training on the same supernet, loop and budget; the pool fields are unused."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = GreedyNASConfig.PRESETS
    DISPLAY_NAME: ClassVar[str] = "SPOS"  # Guo et al., ECCV 2020: uniform single-path sampling
    BUDGET_FIELD: ClassVar[str] = "supernet_epochs"

    sampling: str = "uniform"  # SPOS (Guo et al. 2019): one uniformly sampled path per step
    early_stop: bool = False  # SPOS trains for its whole budget (no pool to watch)


# -- pure pieces (tested on their own) ------------------------------------------------------------------------------
def select_lowest(paths: Sequence[Arch], losses: Sequence[float], k: int) -> list[Arch]:
    """The k paths with the lowest losses (GreedyNAS' rejection: the others are not trained); ties keep draw order,
    NaN losses rank last."""
    keys = [(math.inf if math.isnan(float(l)) else float(l), i) for i, l in enumerate(losses)]
    return [paths[i] for _, i in sorted(keys)[:k]]


def constraint_violation(constraints: Sequence[Constraint], cost: Cost) -> float:
    """The largest relative amount by which `cost` breaks a constraint (<= 0 when all hold): NSGA-II's G."""
    worst = -math.inf
    for c in constraints:
        value = cost.metric(c.metric)
        excess = (value - c.bound) if c.op in ("<=", "<") else (c.bound - value)
        worst = max(worst, excess / c.bound)
    return 0.0 if worst == -math.inf else worst


@torch.no_grad()
def path_losses(supernet: nn.Module, paths: Sequence[Arch], x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Cross-entropy of each path on one batch (GreedyNAS sec. 3.2: loss ranks paths better than accuracy)."""
    losses = []
    with batch_statistics(supernet):
        for path in paths:
            set_path(supernet, path)
            losses.append(float(F.cross_entropy(supernet(x).float(), y)))
    return mean_across_ranks(losses)  # under torchrun every rank then keeps the same k paths, bit for bit


def pool_scores(losses: Sequence[float], kind: str = "loss") -> list[float]:
    """The scores the candidate pool ranks by: the losses themselves (the paper), or each loss minus the mean of
    its iteration's losses ("batch_relative": one small-val batch is harder than another for every path)."""
    if kind == "loss":
        return list(losses)
    finite = [v for v in losses if math.isfinite(v)]
    mean = float(np.mean(finite)) if finite else 0.0
    return [v - mean for v in losses]


def path_accuracy(supernet: nn.Module, path: Arch, pair: TensorPair, *, batch_size: int = 500,
                  device: torch.device | None = None) -> float:
    """Accuracy of one path of the supernet on `pair` (BN on batch statistics, see `batch_statistics`; 0 on no
    images)."""
    set_path(supernet, path)
    return evaluate(supernet, pair, batch_size=batch_size, device=device, bn="batch")[1] if len(pair) else 0.0


# -- the method -----------------------------------------------------------------------------------------------------
class GreedyNAS:
    """Greedy (or, with ``sampling="uniform"``, SPOS) supernet training, then NSGA-II on the supernet."""

    def __init__(self, config: GreedyNASConfig, ctx: RunContext) -> None:
        self.config = config
        self.ctx = ctx
        self.space = ctx.space
        require_weight_sharing(self.space, self.method_name)  # (no latency table for the space: with_latency says so)
        self.constraints: tuple[Constraint, ...] = ctx.constraints
        if (config.search_cost == "latency" or needs_latency(self.constraints)) and \
                not isinstance(self.space, LatencyCostedSpace):
            # costs then carry LUT latency (ProxylessNAS' tables), for the constraint and NSGA-II's objective
            self.space = with_latency(self.space, path=config.latency_table, log=ctx.log, device=ctx.device,
                                      runtime=ctx.latency_runtime, progress=latency_progress(ctx))
        self.cost_metric = METRICS[config.search_cost]  # "macs" | "params" | "latency_ms"
        self.rng = ctx.rng(self.rng_stream, "paths")
        self.search_rng = ctx.rng(self.rng_stream, "nsga2")
        self.pool = CandidatePool(config.pool_size)
        self.iteration = 0  # supernet iterations completed
        self.train_steps_done = 0  # trained path-batches (optimiser steps)
        self.phase = "train"  # "train" -> "search" -> "done"
        self.stopped_early_at: int | None = None  # iteration where the pool early stop fired (None: never)
        self.early_stop: PoolEarlyStop | None = None
        self.search = None  # ArchNSGA2, built when the search starts
        self._pending_state: dict[str, Any] | None = None
        self._built = False
        self._cost_cache: dict[str, Cost] = {}

    @property
    def method_name(self) -> str:
        """The registered name of the method this config is (greedynas or spos), as its spec has it."""
        return spec_of(self.config).name

    @property
    def rng_stream(self) -> str:
        """The random streams' name: the sampling's, so ``greedynas --set sampling=uniform`` is exactly ``spos``."""
        return "greedynas" if self.config.greedy else "spos"

    @staticmethod
    def check_space(search_space: Any, method: str, config: GreedyNASConfig) -> None:
        require_weight_sharing(search_space, method, latency=config.search_cost == "latency")

    # -- set-up -----------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        """Supernet, trainer and data; then apply a loaded state (resume)."""
        if self._built:
            return
        cfg, ctx = self.config, self.ctx
        splits = ctx.splits()
        self.splits = splits
        self.device = torch.device(ctx.device)
        # method-independent phase: GreedyNAS and SPOS runs of one seed start from the same weights
        with seeded(int(ctx.rng("supernet", "init").integers(2**62))):
            supernet = self.space.supernet()
        recipe = cfg.recipe
        if len(splits.train) < cfg.batch_size:
            raise ConfigError(f"the training split has {len(splits.train)} images, fewer than "
                              f"batch_size={cfg.batch_size}")
        # batches as a pure function of the step (a resumed run needs no data-loader position); no ragged last
        # batch (BN on a handful of images)
        self.stream = Batches(splits.train, cfg.batch_size, shuffle=True, drop_last=True,
                              augment=recipe.augment and splits.train.augmentation is not None,
                              generator_for=lambda *phase: ctx.torch_generator("supernet", "batches", *phase))
        epoch_steps = cfg.steps_per_epoch or len(self.stream)  # a preset's count holds on any data size
        self.total_steps = max(1, round(cfg.supernet_epochs * epoch_steps))
        per_iteration = cfg.num_kept if cfg.greedy else 1
        self.total_iterations = max(1, self.total_steps // per_iteration)
        epochs = max(1, math.ceil(self.total_steps / epoch_steps))
        self.trainer = Trainer(supernet, recipe, device=self.device, steps_per_epoch=epoch_steps,
                               epochs=epochs, generator=ctx.torch_generator(self.rng_stream, "trainer"))
        self.supernet = self.trainer.model
        self.early_stop = PoolEarlyStop(
            every=max(1, round(cfg.early_stop_every_epochs * epoch_steps / per_iteration)),
            threshold=cfg.early_stop_threshold, metric=cfg.pool_difference)
        small_val = splits.small_val
        if len(small_val) == 0 and cfg.greedy:
            raise ConfigError("GreedyNAS scores paths on the small validation set, but it is empty "
                              "(set small_val_size > 0 in the data split)")
        self.small_val = small_val
        self.search_val = splits.val if len(splits.val) else small_val
        if len(self.search_val) > cfg.search_val_images:
            self.search_val = TensorPair(self.search_val.x[:cfg.search_val_images],
                                         self.search_val.y[:cfg.search_val_images])
        self._within = cost_predicate(self.constraints, self.cost)
        self._built = True
        if self._pending_state is not None:
            self._apply_state(self._pending_state)
            self._pending_state = None

    def cost(self, arch: Arch) -> Cost:
        key = arch.key
        if key not in self._cost_cache:
            self._cost_cache[key] = self.space.cost(arch)
        return self._cost_cache[key]

    # -- the algorithm ------------------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        self._build()
        if self.phase == "train":
            self.train_supernet()
            self.phase = "search"
            self.ctx.checkpoint(self)
        if self.phase == "search":
            self._search()
            self.phase = "done"
            self.ctx.checkpoint(self)
        return self._result()

    def train_supernet(self, *, until_steps: int | None = None) -> None:
        """Supernet training (the loop of the module docstring) from the current iteration to the budget, or to
        the pool early stop; `until_steps` stops earlier (benchmarks snapshot the supernet there)."""
        self._build()
        cfg = self.config
        with self.ctx.progress(f"{self.method_name} supernet", total=self.total_iterations) as bar:
            if self.iteration:
                bar.advance(self.iteration)
            while self.iteration < self.total_iterations:
                if until_steps is not None and self.train_steps_done >= until_steps:
                    return
                if cfg.greedy:
                    self._greedy_iteration()
                else:
                    self._uniform_iteration()
                bar.advance()
                if self.stopped_early_at is not None and cfg.early_stop:
                    self.ctx.log(f"{self.method_name}: pool early stop at iteration {self.iteration} "
                                 f"of {self.total_iterations} ({self.train_steps_done} trained batches)")
                    return
                if self.iteration % cfg.checkpoint_every == 0:
                    self.ctx.checkpoint(self)

    def _greedy_iteration(self) -> None:
        cfg = self.config
        eps = linear_eps(self.iteration, self.total_iterations, start=cfg.eps_start, end=cfg.eps_end)
        paths = [self._draw_path(eps) for _ in range(cfg.num_sampled)]
        x, y = self._score_batch(self.iteration)
        losses = path_losses(self.supernet, paths, x, y)
        self.pool.push_many(zip(paths, pool_scores(losses, cfg.pool_score)))
        kept = select_lowest(paths, losses, cfg.num_kept)
        train_losses = [self._train_path(path) for path in kept]
        self.iteration += 1
        difference = self.early_stop.update(self.iteration, self.pool)
        if self.early_stop.fired and self.stopped_early_at is None:
            self.stopped_early_at = self.iteration
        row = {"eps": eps, "pool_mean_score": self.pool.mean_score(), "pool_size": float(len(self.pool)),
               "kept_mean_loss": float(np.mean(sorted(losses)[:cfg.num_kept])),
               "sampled_mean_loss": float(np.mean(losses)), "train_loss": float(np.mean(train_losses)),
               "train_steps": float(self.train_steps_done)}
        if difference is not None:
            row["pool_difference"] = difference
        self.ctx.log_metrics("supernet", self.iteration, **row)

    def _uniform_iteration(self) -> None:
        path = self.space.space.sample(self.rng, where=self._within)
        loss = self._train_path(path)
        self.iteration += 1
        self.ctx.log_metrics("supernet", self.iteration, train_loss=loss, train_steps=float(self.train_steps_done))

    def _draw_path(self, eps: float) -> Arch:
        """From the pool with probability eps (when it has paths), else uniform; constraint-breaking paths are
        re-drawn (pool paths always satisfy it: only sampled paths enter)."""
        if len(self.pool) and self.rng.random() < eps:
            return self.pool.sample(self.rng)
        return self.space.space.sample(self.rng, where=self._within)

    def _score_batch(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The small-val batch of this iteration: the 1000 images in fixed order, cycled (no augmentation)."""
        n = len(self.small_val)
        size = min(self.config.score_batch_size, n)
        per_pass = n // size
        start = (iteration % per_pass) * size
        x = model_input(self.small_val.x[start:start + size], self.device, uses_channels_last(self.supernet))
        return x, self.small_val.y[start:start + size].to(self.device)

    def _train_path(self, path: Arch) -> float:
        set_path(self.supernet, path)
        x, y = self.stream.batch(self.train_steps_done)
        loss = self.trainer.step(x, y)
        self.train_steps_done += 1
        return loss

    # -- search -------------------------------------------------------------------------------------------------------
    def supernet_accuracy(self, arch: Arch) -> float:
        """The supernet's validation accuracy of one path (what NSGA-II maximises)."""
        self._build()
        return path_accuracy(self.supernet, arch, self.search_val, device=self.device)

    def proxy_accuracy(self, archs: Sequence[Arch]) -> list[float]:
        """The search's own estimate for other architectures (a study's proxy tau): NSGA-II's fitness, the path's
        supernet accuracy."""
        return [self.supernet_accuracy(arch) for arch in archs]

    def _make_search(self):
        from archsearch.search.nsga2 import ArchNSGA2  # pymoo: only when searching

        cfg = self.config
        initial = self.pool.top(cfg.population) if cfg.greedy else []  # GreedyNAS sec. 3.4: seed from the pool
        violation = None
        if self.constraints:
            violation = lambda arch: constraint_violation(self.constraints, self.cost(arch))  # noqa: E731
        return ArchNSGA2(self.space.space, evaluate=self._evaluate_for_search, cost=self._search_cost,
                         violation=violation, rng=self.search_rng, pop_size=cfg.population,
                         generations=cfg.generations, initial=initial)

    def _search_cost(self, arch: Arch) -> float:
        return self.cost(arch).metric(self.config.search_cost)  # a clear error when the space has no latency

    def _evaluate_for_search(self, arch: Arch) -> float:
        """One NSGA-II evaluation = one ledger trial (key ``search/<i>``). After a resume, a trial the ledger
        already completed is read back instead of evaluated again."""
        index = len(self.search.evaluated) if self.search is not None else 0
        key = f"search/{index}"
        done = self.ctx.ledger.find(key)
        if done is not None and done.state == "complete":
            return float(done.values["accuracy"])
        cost = self.cost(arch)
        attrs = {"macs": int(cost.macs), "params": int(cost.params), "phase": "search", "key": key,
                 "arch_json": arch.to_json()}
        if cost.latency_ms is not None:
            attrs["latency_ms"] = float(cost.latency_ms)
        start = time.perf_counter()
        accuracy = self.supernet_accuracy(arch)
        self.ctx.record(arch, {"accuracy": accuracy, self.cost_metric: self._search_cost(arch)}, key=key,
                        phase="search",
                        attrs={**attrs, "seconds": time.perf_counter() - start, "supernet_accuracy": accuracy})
        return accuracy

    def _search(self) -> None:
        if self.search is None:
            self.search = self._make_search()
        total = self.config.generations + 1
        with self.ctx.progress(f"{self.method_name} NSGA-II", total=total) as bar:
            if self.search.generation:
                bar.advance(self.search.generation)

            def after_generation(engine) -> None:
                bar.advance()
                front = engine.pareto_front()
                best = max((e.accuracy for e in front), default=math.nan)
                self.ctx.log_metrics("search", engine.generation, evaluated=float(len(engine.evaluated)),
                                     front_size=float(len(front)), best_accuracy=float(best))
                self.ctx.checkpoint(self)

            self.search.run(on_generation=after_generation)

    # -- result and export ---------------------------------------------------------------------------------------------
    def _candidate(self, evaluated) -> Candidate:
        cost = self.cost(evaluated.arch)
        objectives = {"accuracy": float(evaluated.accuracy), "macs": float(cost.macs), "params": float(cost.params)}
        if cost.latency_ms is not None:
            objectives["latency_ms"] = float(cost.latency_ms)
        return Candidate(evaluated.arch, objectives, {"source": "supernet"})

    def _result(self) -> SearchResult:
        front = self.search.pareto_front()
        if not front:
            raise ConfigError(f"{self.method_name}: NSGA-II found no architecture satisfying the constraints "
                              f"{[str(c) for c in self.constraints]}")
        chosen = max(front, key=lambda e: (e.accuracy, -e.cost))  # most accurate within the constraint
        best = self._candidate(chosen)
        extra = {
            "sampling": self.config.sampling,
            "iterations": self.iteration,
            "total_iterations": self.total_iterations,
            "trained_path_batches": self.train_steps_done,
            "early_stop_iteration": self.stopped_early_at,
            "early_stop_history": [list(p) for p in self.early_stop.history] if self.early_stop else [],
            "search_cost": self.cost_metric,
            "evaluated": len(self.search.evaluated),
        }
        return SearchResult(best, tuple(self._candidate(e) for e in front), extra, weights=self._export(chosen.arch))

    def _export(self, arch: Arch) -> SavedWeights:
        """Weights for `archsearch export` (see `archsearch.export`): the supernet's ``state_dict`` (every arch
        inherits from it) and the chosen child with the supernet's weights and its BN statistics recalibrated on
        training batches (the inherited ones mix every path)."""
        supernet = self.ctx.save_weights(weights_file("supernet"), self.supernet.state_dict())
        calibration = [self.stream.batch(step)[0]
                       for step in range(min(len(self.stream), EXPORT_CALIBRATION_BATCHES))]
        child = recalibrated_child(self.space, self.supernet, arch, calibration, self.device)
        return SavedWeights(supernet=supernet, best=self.ctx.save_weights(weights_file("child"), child.state_dict()))

    # -- state ----------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        self._build()
        return {
            "config": asdict(self.config),
            "phase": self.phase,
            "iteration": self.iteration,
            "train_steps_done": self.train_steps_done,
            "stopped_early_at": self.stopped_early_at,
            "trainer": self.trainer.state_dict(),
            "pool": self.pool.state_dict(),
            "early_stop": self.early_stop.state_dict(),
            "rng": self.rng.bit_generator.state,
            "search_rng": self.search_rng.bit_generator.state,
            "search": None if self.search is None else self.search.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._built:
            self._apply_state(state)
        else:
            self._pending_state = state

    def _apply_state(self, state: dict[str, Any]) -> None:
        self.phase = state["phase"]
        self.iteration = int(state["iteration"])
        self.train_steps_done = int(state["train_steps_done"])
        self.stopped_early_at = state["stopped_early_at"]
        self.trainer.load_state_dict(state["trainer"])
        self.pool.load_state_dict(state["pool"], self.space.space)
        self.early_stop.load_state_dict(state["early_stop"])
        self.rng.bit_generator.state = state["rng"]
        self.search_rng.bit_generator.state = state["search_rng"]
        if state["search"] is not None:
            self.search = self._make_search()
            self.search.load_state_dict(state["search"])


__all__ = ["GreedyNAS", "GreedyNASConfig", "SPOSConfig", "constraint_violation", "path_accuracy", "path_losses",
           "select_lowest"]


register_method("greedynas", GreedyNASConfig)(GreedyNAS)
register_method("spos", SPOSConfig)(GreedyNAS)  # the same loop with uniform sampling (docs/methods/greedynas.md)
