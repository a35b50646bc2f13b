"""DARTS (Liu et al., ICLR 2019, arXiv:1806.09055; code quark0/darts) and Fair DARTS (Chu et al., ECCV 2020,
arXiv:1911.12126; code xiaomi-automl/FairDARTS): bilevel differentiable search over the `darts` cell space, or over
any weight-sharing space whose supernet's choices are `MixedOp`s (`mobilenet`, a user's `LayerChoice` /
`InputChoice` module as a `ModuleSpace`).

The algorithm box, as `BilevelSearch.run` reads (DARTS Algorithm 1):

    split the training split in two halves: weights train on the first, architecture parameters on the second
    for each epoch:
        for each step:
            alpha step on a batch of the second half:
                DARTS first order:   grad_alpha L_val(w, alpha)
                DARTS second order:  grad_alpha L_val(w', alpha) - xi (grad_alpha L_train(w+) - grad_alpha
                                     L_train(w-)) / 2 eps,  w' = w - xi grad_w L_train(w, alpha)   (eq. 7-8)
                Fair DARTS:          grad_alpha [L_val(w, alpha) + w01 L01(sigmoid(alpha))]   (first order, eq. 5)
                Adam step on alpha
            weight step on a batch of the first half (SGD, cosine lr, through the shared `Trainer`)
        log every edge's op weights; derive the cell; checkpoint
    derive the cells (DARTS: top-2 edges, best non-`none` op; Fair DARTS: top-2 edges, op kept if sigmoid >= 0.85)

Mixed ops are `archsearch.supernet.Weighted` (softmax for DARTS: ops compete; sigmoid for Fair DARTS: they
cooperate, so an edge's skip connection no longer crowds out its convolutions). The alphas, the pieces of their
gradient (zero-one loss, second order) and the derivation of a choice are `_darts_alphas.py`.

On any other weight-sharing space the loop is the same; only the op sets and the derivation differ (see
`derive_choice`): every choice weighs its own candidates (an `InputChoice` its input combinations), a `none` op
exists only where the user put one, and each choice takes its best candidate. The derived child is scored with
the supernet's weights (BN statistics re-estimated on training batches, since the supernet's mix every path) on
the validation split, and its MACs / params come from the space's `cost`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.data.batches import Batches, take_steps
from archsearch.data.splits import TensorPair
from archsearch.errors import ConfigError, unknown_name
from archsearch.methods import register_method
from archsearch.methods._base import (DERIVE_PHASE, Candidate, SavedWeights, SearchResult, require_weight_sharing,
                                      weights_file)
from archsearch.methods._darts_alphas import (ZERO_ONE_FORMS, check_weighted_sum, choice_candidates,
                                              degenerate_cells_warning, derive_choice, second_order_alpha_grads,
                                              virtual_step_inputs, weighted_alphas, zero_one_loss)
from archsearch.methods._inherited import calibration_inputs, inherited_accuracy
from archsearch.methods.context import RunContext
from archsearch.methods.final_training import FinalTraining, quick_final, smoke_final
from archsearch.ops.init import init_weights
from archsearch.space.space import Arch
from archsearch.spaces.darts import CELL_KINDS, DartsSpace, arch_from_edges, discretise
from archsearch.supernet import Weighted, arch_of_path
from archsearch.train import Recipe, Trainer, model_input
from archsearch.train.task import seeded


# DARTS sec. A.2 / code train.py: SGD momentum 0.9, lr 0.025 cosine (to 0), wd 3e-4, batch 96, grad clip 5; the
# auxiliary tower (0.4) and drop-path 0.2 are the darts space's "paper" evaluation network.
DARTS_FINAL_RECIPE = {"optimizer": "sgd", "lr": 0.025, "momentum": 0.9, "weight_decay": 3e-4, "schedule": "cosine",
                      "grad_clip": 5.0, "batch_size": 96,
                      "cutout": 0.5,  # DARTS sec. A.2: cutout, code train.py --cutout_length 16 on 32 px images
                      "decay_norm_and_bias": True}  # code train.py: SGD over model.parameters(), every one decays
# (cutout regularises 600 epochs; a final training of 1 to 3 epochs goes without it)
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "quick": {"epochs": 10, "steps_per_epoch": 40, "batch_size": 32,
              "final": quick_final(DARTS_FINAL_RECIPE, batch_size=64, cutout=0.0)},
    "smoke": {"epochs": 2, "steps_per_epoch": 2, "batch_size": 8, "bn_recalibration_batches": 4,
              "final": smoke_final(DARTS_FINAL_RECIPE, cutout=0.0)},
}


# -- configs ----------------------------------------------------------------------------------------------------------
class _WeightRecipe:
    """DARTS' and Fair DARTS' supernet weights train with one typed `Recipe` built from their paper-named fields."""

    lr: float
    lr_min: float
    momentum: float
    weight_decay: float
    grad_clip: float
    batch_size: int

    def weight_recipe(self, augment: bool) -> Recipe:
        """Momentum SGD, cosine from `lr` to `lr_min`, weight decay, gradient clipping (DARTS sec. 3.1.1)."""
        return Recipe(optimizer="sgd", lr=self.lr, lr_min=self.lr_min, momentum=self.momentum,
                      weight_decay=self.weight_decay, schedule="cosine", grad_clip=self.grad_clip,
                      batch_size=self.batch_size, augment=augment,
                      decay_norm_and_bias=True)  # code train_search.py: every parameter decays, BN's too


@dataclass(frozen=True)
class DartsConfig(_WeightRecipe):
    """Defaults: DARTS sec. 3.1.1-3.2 and the released ``train_search.py`` (CIFAR-10 search)."""

    order: int = 2  # DARTS sec. 2.3 / table 1: second order (xi = the weights' lr) is the paper's main result
    epochs: int = 50  # DARTS sec. 3.1.1: 50 epochs
    steps_per_epoch: int | None = None  # None: one pass over the weights' half; a preset's count holds on any data
    batch_size: int = 64  # DARTS sec. 3.1.1: batch size 64
    train_portion: float = 0.5  # DARTS sec. 3.1.1: half of the training set for w, half for alpha
    lr: float = 0.025  # DARTS sec. 3.1.1: momentum SGD, initial lr 0.025, cosine to 0.001
    lr_min: float = 0.001  # DARTS sec. 3.1.1
    momentum: float = 0.9  # DARTS sec. 3.1.1
    weight_decay: float = 3e-4  # DARTS sec. 3.1.1
    grad_clip: float = 5.0  # DARTS code --grad_clip 5
    arch_lr: float = 3e-4  # DARTS sec. 3.1.1: Adam, lr 3e-4
    arch_beta1: float = 0.5  # DARTS sec. 3.1.1: momentum beta = (0.5, 0.999)
    arch_beta2: float = 0.999  # DARTS sec. 3.1.1
    arch_weight_decay: float = 1e-3  # DARTS sec. 3.1.1: weight decay 1e-3
    arch_init_std: float = 1e-3  # DARTS code: alphas = 1e-3 * randn
    unroll_eps: float = 0.01  # DARTS sec. 2.3: eps = 0.01 / ||grad_w' L_val(w', alpha)||
    augment: bool = True  # DARTS code: both halves use the training transform (crop + flip)
    bn_recalibration_batches: int = 20  # generic spaces only: BN re-estimation of the inherited child (SPOS sec.
    #                                     3.3 / ProxylessNAS code; interpretation: DARTS retrains, never inherits)
    # the derived cell's final training (from scratch in the space's evaluation network; test set): DARTS sec.
    # 3.3 / A.2, the 20-cell, C=36 network trained 600 epochs on CIFAR-10; table 1, the test error as mean +- std
    # over 10 independent runs
    final: FinalTraining = field(default_factory=lambda: FinalTraining(600, seeds=10, recipe=DARTS_FINAL_RECIPE))

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = PRESETS  # sizes only, alike for both methods
    DISPLAY_NAME: ClassVar[str] = "DARTS"  # Liu, Simonyan & Yang, ICLR 2019
    BUDGET_FIELD: ClassVar[str] = "epochs"
    DEFAULT_SPACE: ClassVar[str] = "darts"
    CLI_FLAGS: ClassVar[dict[str, str]] = {"--order": "order"}
    ACCURACY: ClassVar[str] = "supernet"  # the mixed-op supernet's validation accuracy (weights shared by all ops)

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", int(self.order))  # frozen: __post_init__ alone normalises a field
        if self.order not in (1, 2):
            raise ConfigError(f"darts order={self.order} is invalid (allowed: 1, 2)")
        _check_common(self, "darts")


@dataclass(frozen=True)
class FairDartsConfig(_WeightRecipe):
    """Defaults: Fair DARTS sec. 4-5 and the released ``fairdarts/train_search.py`` (CIFAR-10 search)."""

    zero_one: str = "l2"  # Fair DARTS eq. 4 (L2 form is the default; "l1" = eq. 6) (code --sep_loss l2)
    w01: float = 10.0  # Fair DARTS sec. 5: w_{0-1} = 10 (code --aux_loss_weight 10)
    threshold: float = 0.85  # Fair DARTS sec. 4: sigma_threshold = 0.85 (code --op_threshold 0.85)
    epochs: int = 50  # code --epochs 50
    steps_per_epoch: int | None = None  # None: one pass over the weights' half; a preset's count holds on any data
    batch_size: int = 128  # code --batch_size 128
    train_portion: float = 0.5  # code --train_portion 0.5 (bilevel: half for w, half for alpha)
    lr: float = 0.005  # code --learning_rate 0.005, cosine to 0.001
    lr_min: float = 0.001  # code --learning_rate_min 0.001
    momentum: float = 0.9  # code --momentum 0.9
    weight_decay: float = 3e-4  # code --weight_decay 3e-4
    grad_clip: float = 5.0  # code --grad_clip 5
    arch_lr: float = 3e-3  # code --arch_learning_rate 3e-3 (Adam)
    arch_beta1: float = 0.9  # code: Adam betas (0.9, 0.999)
    arch_beta2: float = 0.999  # code
    arch_weight_decay: float = 1e-3  # code --arch_weight_decay 1e-3
    arch_init_std: float = 0.0  # code: alphas initialised to zeros (every sigmoid starts at 0.5)
    augment: bool = True  # code: both halves use the training transform (crop + flip)
    bn_recalibration_batches: int = 20  # generic spaces only, as in DartsConfig (interpretation)
    # the derived cell's final training: code fairdarts/train.py --epochs 600 (20 cells, C=36, CIFAR-10), one
    # training per cell (--seed 0), the same batch 96, lr 0.025 cosine, momentum 0.9, wd 3e-4, grad clip 5 as DARTS
    final: FinalTraining = field(default_factory=lambda: FinalTraining(600, seeds=1, recipe=DARTS_FINAL_RECIPE))

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = PRESETS  # sizes only, alike for both methods
    DISPLAY_NAME: ClassVar[str] = "Fair DARTS"  # Chu et al., ECCV 2020
    BUDGET_FIELD: ClassVar[str] = "epochs"
    DEFAULT_SPACE: ClassVar[str] = "darts"
    CLI_FLAGS: ClassVar[dict[str, str]] = {"--zero-one": "zero_one", "--w01": "w01"}
    ACCURACY: ClassVar[str] = "supernet"  # the sigmoid-weighted supernet's validation accuracy

    def __post_init__(self) -> None:
        object.__setattr__(self, "zero_one", str(self.zero_one).lower())
        if self.zero_one not in ZERO_ONE_FORMS:
            raise unknown_name("zero-one loss form", self.zero_one, ZERO_ONE_FORMS)
        if not self.w01 >= 0:
            raise ConfigError(f"fairdarts w01={self.w01} is invalid: must be >= 0")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"fairdarts threshold={self.threshold} is invalid: must be in (0, 1)")
        _check_common(self, "fairdarts")


def _check_common(config: Any, method: str) -> None:
    if config.epochs < 1:
        raise ConfigError(f"{method} epochs={config.epochs} is invalid: must be >= 1")
    if config.steps_per_epoch is not None and config.steps_per_epoch < 1:
        raise ConfigError(f"{method} steps_per_epoch={config.steps_per_epoch} is invalid: must be >= 1 or None")
    if config.batch_size < 1:
        raise ConfigError(f"{method} batch_size={config.batch_size} is invalid: must be >= 1")
    if not 0.0 < config.train_portion < 1.0:
        raise ConfigError(f"{method} train_portion={config.train_portion} is invalid: must be in (0, 1)")
    if config.bn_recalibration_batches < 0:
        raise ConfigError(f"{method} bn_recalibration_batches={config.bn_recalibration_batches} is invalid: "
                          "must be >= 0")


def check_space(search_space: Any, method: str, config: Any = None) -> None:
    """Refuse, in one line, a space the bilevel search cannot weigh: it needs the `darts` cell space or a
    weight-sharing space (``supernet()``) whose choices are `MixedOp`s with candidates of one output shape (no
    config field changes that)."""
    if isinstance(search_space, DartsSpace):
        return
    require_weight_sharing(search_space, method)
    check_weighted_sum(search_space, method)


def split_halves(pair: TensorPair, portion: float) -> tuple[TensorPair, TensorPair]:
    """The first `portion` of the (already shuffled) training split for weights, the rest for alphas (DARTS code:
    ``indices[:split]`` / ``indices[split:]``)."""
    n = len(pair)
    cut = int(np.floor(portion * n))
    if cut < 1 or cut >= n:
        raise ConfigError(f"train_portion={portion} of {n} training images leaves one half empty")
    return pair.subset(np.arange(cut)), pair.subset(np.arange(cut, n))


# -- the search -----------------------------------------------------------------------------------------------------
class BilevelSearch:
    """The loop shared by DARTS and Fair DARTS; what differs is passed in (weighting, op set, order, zero-one).
    `none_op` picks the darts cell space's op set; any other space's supernet keeps the candidates it has."""

    def __init__(self, config: Any, ctx: RunContext, *, method: str, weighting: str, none_op: bool, order: int,
                 zero_one: str | None = None, w01: float = 0.0, threshold: float | None = None) -> None:
        self.config = config
        self.ctx = ctx
        self.method = method
        self.weighting = weighting
        self.order = order
        self.zero_one = zero_one
        self.w01 = w01
        self.threshold = threshold
        space = ctx.space
        check_space(space, method)
        self.space = space
        self.cells = isinstance(space, DartsSpace)  # the DARTS cell space: its own op sets and cell derivation
        self.device = torch.device(ctx.device)
        # built under the run's seed: init_weights redraws conv / linear weights; a user's other layers keep these
        with seeded(int(ctx.rng(method, "supernet").integers(2**62))):
            self.supernet: nn.Module = space.supernet(none_op=none_op) if self.cells else space.supernet()
        init_weights(self.supernet, ctx.torch_generator(method, "weight-init"), "pytorch")
        self.choices = choice_candidates(self.supernet, space, method)  # MixedOp name -> its candidates
        self.alphas = weighted_alphas(self.supernet, weighting, init_std=config.arch_init_std,
                                      generator=ctx.torch_generator(method, "alpha-init"), device=self.device)
        self.arch_optimizer = torch.optim.Adam(list(self.alphas.values()), lr=config.arch_lr,
                                               betas=(config.arch_beta1, config.arch_beta2),
                                               weight_decay=config.arch_weight_decay)
        self.data_generator = ctx.torch_generator(method, "batches")
        self.arch_generator = ctx.torch_generator(method, "arch-batches")
        self.epoch = 0
        self.history: list[dict[str, Any]] = []  # per epoch: losses, accuracy, skip counts, seconds
        self.trainer: Trainer | None = None
        self._batches: Batches | None = None
        self._arch_batches: Batches | None = None
        self._steps = 0
        self._pending_trainer_state: dict[str, Any] | None = None

    # -- the loop ---------------------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        self._setup()
        config, ctx = self.config, self.ctx
        if self.epoch == 0:
            self._log_weights(0)
        while self.epoch < config.epochs:
            start = time.perf_counter()
            stats = self._epoch()
            self.epoch += 1
            record = {"epoch": self.epoch, **stats, **self._cell_summary(), "lr": self.trainer.lr,
                      "seconds": time.perf_counter() - start}
            ctx.log_metrics("search", self.epoch, **{k: float(v) for k, v in record.items() if k != "epoch"})
            message = (f"{self.method} epoch {self.epoch}/{config.epochs}: train loss {stats['train_loss']:.3f}, "
                       f"val acc {stats['val_accuracy']:.3f}")
            if self.cells:
                message += f", skips normal {record['normal_skips']} / reduce {record['reduce_skips']}"
            else:
                derived = self.derived_arch()
                record["derived"] = derived.to_dict()
                message += f", derived {derived}"
            self.history.append(record)
            self._log_weights(self.epoch)
            ctx.log(message)
            ctx.checkpoint(self)
        return self._finish() if self.cells else self._finish_generic()

    def _cell_summary(self) -> dict[str, int]:
        """Skips and edges of the derived cells (the DARTS collapse diagnostic); nothing on a generic space."""
        if not self.cells:
            return {}
        normal, reduce = self.derive()
        return {"normal_skips": _skips(normal), "reduce_skips": _skips(reduce), "normal_edges": len(normal),
                "reduce_edges": len(reduce)}

    def _epoch(self) -> dict[str, float]:
        assert self.trainer is not None and self._batches is not None and self._arch_batches is not None
        arch_iter = iter(self._arch_batches)
        train_losses, val_losses, val_correct, val_seen = [], [], 0, 0
        with self.ctx.progress(f"{self.method} epoch {self.epoch + 1}", total=self._steps) as bar:
            for x, y in take_steps(self._batches, self._steps):
                try:
                    x_val, y_val = next(arch_iter)
                except StopIteration:
                    arch_iter = iter(self._arch_batches)
                    x_val, y_val = next(arch_iter)
                loss_val, correct = self.arch_step(x, y, x_val, y_val)
                val_losses.append(loss_val)
                val_correct += correct
                val_seen += len(y_val)
                train_losses.append(self.weight_step(x, y))
                bar.advance()
        return {"train_loss": float(np.mean(train_losses)), "val_loss": float(np.mean(val_losses)),
                "val_accuracy": val_correct / max(val_seen, 1)}

    # -- one weight step and one architecture step ---------------------------------------------------------------
    def weight_step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One SGD step on the supernet weights (the shared `Trainer`), with the alphas frozen: the weight step needs
        no alpha gradient (the next architecture step computes its own), and backpropagating into the alphas of every
        mixed op cost ~4% of a CPU search step."""
        assert self.trainer is not None
        alphas = list(self.alphas.values())
        for alpha in alphas:
            alpha.requires_grad_(False)
        try:
            return self.trainer.step(x, y)
        finally:
            for alpha in alphas:
                alpha.requires_grad_(True)

    def arch_step(self, x: torch.Tensor, y: torch.Tensor, x_val: torch.Tensor,
                  y_val: torch.Tensor) -> tuple[float, int]:
        """One Adam step on the alphas from a batch of the alphas' half; returns (val CE, correct count)."""
        x, y = self._to_device(x, y)
        x_val, y_val = self._to_device(x_val, y_val)
        if not self.supernet.training:  # train() walks every module (~20 ms per call on the CPU preset)
            self.supernet.train()
        alphas = list(self.alphas.values())
        seen: dict[str, torch.Tensor] = {}

        def val_loss() -> torch.Tensor:
            logits = self.supernet(x_val).float()
            ce = F.cross_entropy(logits, y_val)
            seen["ce"], seen["logits"] = ce.detach(), logits.detach()
            if self.zero_one is not None:
                return ce + self.w01 * zero_one_loss(alphas, self.zero_one)
            return ce

        if self.order == 1:
            grads = torch.autograd.grad(val_loss(), alphas)
        else:
            grads, _ = self._second_order_grads(x, y, val_loss)
        self.arch_optimizer.zero_grad(set_to_none=True)
        for alpha, grad in zip(alphas, grads):
            alpha.grad = grad.detach()
        self.arch_optimizer.step()
        correct = int((seen["logits"].argmax(1) == y_val).sum())
        return float(seen["ce"]), correct

    def _second_order_grads(self, x: torch.Tensor, y: torch.Tensor,
                            val_loss: Callable[[], torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        trainer = self.trainer
        assert trainer is not None
        weights, decays, buffers = virtual_step_inputs(trainer.optimizer)

        def train_loss() -> torch.Tensor:
            return F.cross_entropy(self.supernet(x).float(), y)

        return second_order_alpha_grads(list(self.alphas.values()), weights, train_loss, val_loss, xi=trainer.lr,
                                        weight_decays=decays, momentum_buffers=buffers,
                                        momentum=self.config.momentum, eps=self.config.unroll_eps)

    # -- derivation and records ---------------------------------------------------------------------------------------
    def edge_weights(self) -> dict[str, torch.Tensor]:
        """Every edge's (choice's) op weights: softmax (DARTS) or sigmoid (Fair DARTS) of its alphas."""
        with torch.no_grad():
            return {name: Weighted(alpha, self.weighting).weights().detach().cpu()
                    for name, alpha in self.alphas.items()}

    def derive(self) -> tuple[list, list]:
        """The darts space's (normal, reduce) cells."""
        weights = self.edge_weights()
        ops = list(self.supernet.op_names)
        return tuple(discretise(weights, ops, kind=kind, threshold=self.threshold)  # type: ignore[return-value]
                     for kind in CELL_KINDS)

    def derive_choices(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        """A generic space's choices: (choice -> chosen candidate, choice -> kept candidates), by `derive_choice`."""
        chosen, kept = {}, {}
        for name, weights in self.edge_weights().items():
            chosen[name], kept[name] = derive_choice(weights, self.choices[name], threshold=self.threshold)
        return chosen, kept

    def derived_arch(self) -> Arch:
        """The architecture the weights point to now, as an `Arch` of the space."""
        if self.cells:
            normal, reduce = self.derive()
            return arch_from_edges(self.space.space, {"normal": normal, "reduce": reduce})
        return arch_of_path(self.space.space, self.derive_choices()[0])

    def _log_weights(self, epoch: int) -> None:
        values = {f"{name}/{op}": float(w[i]) for name, w in self.edge_weights().items()
                  for i, op in enumerate(self.choices[name])}
        self.ctx.log_metrics("alphas", epoch, **values)

    def _finish(self) -> SearchResult:
        normal, reduce = self.derive()
        arch = arch_from_edges(self.space.space, {"normal": normal, "reduce": reduce})
        cost = self.space.cost(arch)
        accuracy = self.history[-1]["val_accuracy"] if self.history else float("nan")
        attrs = {"normal_skips": _skips(normal), "reduce_skips": _skips(reduce), "phase": DERIVE_PHASE,
                 "weighting": self.weighting, "order": self.order}
        objectives = {"accuracy": float(accuracy), "macs": float(cost.macs), "params": float(cost.params)}
        self._record(arch, objectives, cost, attrs)
        best = Candidate(arch, objectives, attrs)
        weights = {name: w.tolist() for name, w in self.edge_weights().items()}
        extra: dict[str, Any] = {
            "genotype": {"normal": [list(e) for e in normal], "reduce": [list(e) for e in reduce]},
            "ops": list(self.supernet.op_names), "edge_weights": weights, "history": self.history}
        warning = None if self.threshold is None else degenerate_cells_warning(
            self.method, self.threshold, {"normal": normal, "reduce": reduce}, self.edge_weights(),
            self.supernet.op_names, self.epoch)
        if warning is not None:
            self.ctx.log(f"warning: {warning}")
            extra["warnings"] = [warning]
        return SearchResult(best=best, pareto_front=(best,), extra=extra)

    def _finish_generic(self) -> SearchResult:
        """The derived child of a generic space, scored with inherited weights on the validation split."""
        arch = self.derived_arch()
        _, kept = self.derive_choices()
        child, accuracy = self._inherited_accuracy(arch)
        cost = self.space.cost(arch)
        objectives = {"accuracy": float(accuracy), "macs": float(cost.macs), "params": float(cost.params)}
        if cost.latency_ms is not None:
            objectives["latency_ms"] = float(cost.latency_ms)
        supernet_accuracy = self.history[-1]["val_accuracy"] if self.history else float("nan")
        attrs: dict[str, Any] = {"phase": DERIVE_PHASE, "weighting": self.weighting, "order": self.order,
                                 "supernet_val_accuracy": float(supernet_accuracy)}
        if self.threshold is not None:
            attrs["kept"] = kept  # Fair DARTS: the candidates at or above the threshold, per choice
        self._record(arch, objectives, cost, {k: v for k, v in attrs.items() if k != "kept"})
        self.ctx.log(f"{self.method} derived {arch}: inherited-weight val accuracy {accuracy:.4f}, "
                     f"{cost.macs / 1e6:.4g}M MACs, {cost.params / 1e6:.4g}M params")
        best = Candidate(arch, objectives, attrs)
        weights = {name: w.tolist() for name, w in self.edge_weights().items()}
        extra: dict[str, Any] = {"choices": self.choices, "weights_per_choice": weights, "history": self.history}
        if self.threshold is not None:
            extra["kept"] = kept
        return SearchResult(best=best, pareto_front=(best,), extra=extra, weights=self._save_weights(arch, child))

    def _inherited_accuracy(self, arch: Arch) -> tuple[nn.Module, float]:
        """`arch`'s child with the supernet's weights (BN re-estimated on training batches), on the validation
        split."""
        splits = self.ctx.splits()
        calibration = calibration_inputs(splits.train, self.config.batch_size, self.config.bn_recalibration_batches,
                                         self.ctx.torch_generator(self.method, "recalibration"))
        return inherited_accuracy(self.space, self.supernet, arch, calibration=calibration, val=splits.val,
                                  device=self.device)

    def proxy_accuracy(self, archs: Sequence[Arch]) -> list[float] | None:
        """The search's own estimate for other architectures (a study's proxy tau): each one's inherited-weight
        validation accuracy, as the derived child is scored; None on the cell space (its children are retrained,
        never inherited)."""
        if isinstance(self.space, DartsSpace):
            return None
        self._setup()
        return [self._inherited_accuracy(arch)[1] for arch in archs]

    def _save_weights(self, arch: Arch, child: nn.Module) -> SavedWeights:
        """The supernet and the derived child for `archsearch export` (none without a run directory)."""
        if self.ctx.run_dir is None:
            return SavedWeights()
        saved = {name: self.ctx.save_weights(weights_file(name), module.state_dict())
                 for name, module in (("supernet", self.supernet), ("child", child))}
        return SavedWeights(supernet=saved["supernet"], per_arch={arch.key: saved["child"]})

    def _record(self, arch: Arch, objectives: dict[str, float], cost: Any, attrs: dict[str, Any]) -> None:
        """The derived arch as the run's one ledger trial."""
        self.ctx.record(arch, objectives, key=f"{self.method}/{DERIVE_PHASE}", phase=DERIVE_PHASE,
                        attrs={"macs": float(cost.macs), "params": float(cost.params),
                               "seconds": float(sum(h["seconds"] for h in self.history)), "phase": DERIVE_PHASE,
                               "arch_json": arch.to_json(), **attrs})

    # -- setup and state ---------------------------------------------------------------------------------------------
    def _setup(self) -> None:
        if self.trainer is not None:
            return
        config = self.config
        splits = self.ctx.splits()
        weight_half, arch_half = split_halves(splits.train, config.train_portion)
        augment = config.augment and splits.train.augmentation is not None
        self._batches = Batches(weight_half, config.batch_size, shuffle=True, augment=augment,
                                generator=self.data_generator, drop_last=len(weight_half) >= config.batch_size)
        self._arch_batches = Batches(arch_half, config.batch_size, shuffle=True, augment=augment,
                                     generator=self.arch_generator, drop_last=len(arch_half) >= config.batch_size)
        self._steps = config.steps_per_epoch or len(self._batches)  # a preset's count, on any data size
        self.trainer = Trainer(self.supernet, config.weight_recipe(augment), device=self.device,
                               steps_per_epoch=self._steps, epochs=config.epochs,
                               generator=self.ctx.torch_generator(self.method, "trainer"))
        if self._pending_trainer_state is not None:
            self.trainer.load_state_dict(self._pending_trainer_state)
            self._pending_trainer_state = None

    def _to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        channels_last = self.trainer is not None and self.trainer.channels_last
        return model_input(x, self.device, channels_last), y.to(self.device, non_blocking=True)

    def state_dict(self) -> dict[str, Any]:
        self._setup()
        assert self.trainer is not None
        return {
            "epoch": self.epoch,
            "trainer": self.trainer.state_dict(),
            "alphas": {name: alpha.detach().cpu().clone() for name, alpha in self.alphas.items()},
            "arch_optimizer": self.arch_optimizer.state_dict(),
            "data_generator": self.data_generator.get_state(),
            "arch_generator": self.arch_generator.get_state(),
            "history": [dict(h) for h in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for name, alpha in self.alphas.items():
                alpha.copy_(state["alphas"][name].to(alpha.device))
        self.arch_optimizer.load_state_dict(state["arch_optimizer"])
        self.data_generator.set_state(state["data_generator"])
        self.arch_generator.set_state(state["arch_generator"])
        self.epoch = int(state["epoch"])
        self.history = [dict(h) for h in state["history"]]
        if self.trainer is not None:
            self.trainer.load_state_dict(state["trainer"])
        else:
            self._pending_trainer_state = state["trainer"]


def _skips(edges: Sequence[tuple[int, int, str]]) -> int:
    return sum(op == "skip_connect" for _, _, op in edges)


# -- the registered methods -------------------------------------------------------------------------------------------
class _Bilevel:
    """What DARTS and Fair DARTS share: the method is its `BilevelSearch`."""

    search: BilevelSearch

    def run(self) -> SearchResult:
        return self.search.run()

    def proxy_accuracy(self, archs: Sequence[Arch]) -> list[float] | None:
        return self.search.proxy_accuracy(archs)

    def state_dict(self) -> dict[str, Any]:
        return self.search.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.search.load_state_dict(state)


@register_method("darts", DartsConfig)
class Darts(_Bilevel):
    """DARTS: softmax-weighted mixed ops (with `none` on the cell space; on another space the user's candidates),
    first- or second-order bilevel search."""

    check_space = staticmethod(check_space)  # the run calls it before creating anything

    def __init__(self, config: DartsConfig, ctx: RunContext) -> None:
        self.config = config
        self.search = BilevelSearch(config, ctx, method="darts", weighting="softmax", none_op=True,
                                    order=config.order)


@register_method("fairdarts", FairDartsConfig)
class FairDarts(_Bilevel):
    """Fair DARTS: sigmoid-weighted mixed ops (without `none` on the cell space), first order, zero-one loss,
    threshold derivation."""

    check_space = staticmethod(check_space)

    def __init__(self, config: FairDartsConfig, ctx: RunContext) -> None:
        self.config = config
        self.search = BilevelSearch(config, ctx, method="fairdarts", weighting="sigmoid", none_op=False, order=1,
                                    zero_one=config.zero_one, w01=config.w01, threshold=config.threshold)


__all__ = ["BilevelSearch", "Darts", "DartsConfig", "FairDarts", "FairDartsConfig", "check_space", "derive_choice",
           "second_order_alpha_grads", "split_halves", "zero_one_loss"]
