"""ProxylessNAS (Cai et al., ICLR 2019, arXiv:1812.00332; released code mit-han-lab/proxylessnas).

The algorithm box, as `ProxylessNAS.run` reads:

    warm-up:  for warmup_epochs: sample one path per block by p = softmax(alpha); SGD step on that path only
    search:   for epochs: every batch: sample a path, SGD step on the weights (binary gates, one path in memory)
              every `arch_update_every` batches (not in the first search epoch, as the released code):
                 gradient:   sample gates (all paths or two), loss = hardware_loss(CE, E[LAT]) on a validation
                             batch, dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i), Adam step (+ two-path rescale)
                 reinforce:  sample `rl_batch_size` nets, reward = ACC * (T / LAT)^0.1, baseline EMA 0.99,
                             alpha += lr * mean (R - b) d log p(net) / d alpha   (Adam)
    derive:   the most probable op per block; its child inherits the supernet's weights (BN re-estimated).

Expected latency E[LAT] = sum over blocks sum_j p_j LAT_j (+ the fixed stem/head) comes from a latency lookup table
measured on this device (`archsearch.cost.latency`); E[FLOPs] is the same sum over the space's analytic MACs. In
two-path mode the arch step's E sums over each block's sampled pair only, p renormalised over it (released code).
The loss forms, E[cost] and REINFORCE's pieces are `_proxyless_objective.py`. Gates, their gradients and the
two-path rescale are `archsearch.supernet.BinaryGates` (one `BinaryGate` per block); by default (`arch_memory`
"recompute", the released code's full_v2) an arch step holds one path's activations, the other sampled candidates'
outputs recomputed in the backward pass.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.cost.constraints import Constraint, Cost, parse_constraint
from archsearch.cost.latency import (RUNTIMES, LatencyTable, ensure_table, measure_network, predict_latency,
                                     table_timing, time_module)
from archsearch.data.batches import Batches, take_steps
from archsearch.errors import ConfigError, check_at_least, check_one_of
from archsearch.methods import register_method, spec_of
from archsearch.methods._base import (DERIVE_PHASE, Candidate, SavedWeights, SearchResult, require_weight_sharing,
                                      weights_file)
from archsearch.methods._inherited import calibration_inputs, inherited_accuracy
from archsearch.methods._proxyless_objective import (LOSS_FORMS, ExpectedCost, hardware_loss, reinforce_alpha_grads,
                                                     reinforce_reward, update_baseline)
from archsearch.methods.context import RunContext, latency_progress
from archsearch.methods.final_training import FinalTraining, quick_final, smoke_final
from archsearch.ops.init import init_weights
from archsearch.search.pareto import pareto_front
from archsearch.space.space import Arch
from archsearch.supernet import BinaryGates, arch_of_path, recompute_allowed
from archsearch.train import Recipe, Trainer, evaluate, model_input
from archsearch.train.task import seeded

ALGOS = ("gradient", "reinforce")
GRAD_MODES = ("full", "two")
ARCH_MEMORY = ("recompute", "keep")


# code search/imagenet_run_exp.py (training a found net): SGD Nesterov momentum 0.9, lr 0.05 at batch 256, cosine,
# weight decay 4e-5 (not on BN), label smoothing 0.1; README: dropout 0.1 for the mobile net
FINAL_RECIPE = {"optimizer": "nesterov", "lr": 0.05, "momentum": 0.9, "weight_decay": 4e-5, "schedule": "cosine",
                "label_smoothing": 0.1, "batch_size": 256, "dropout": 0.1}


@dataclass(frozen=True)
class ProxylessConfig:
    """Defaults: the released code's ImageNet search (`search/imagenet_arch_search.py`, `nas_manager.py`) and the
    paper (sec. 3-4). Presets scale sizes only."""

    # -- schedule ---------------------------------------------------------------------------------------------------
    warmup_epochs: int = 40  # code --warmup_epochs 40: weights only, before the 120 search epochs
    epochs: int = 120  # code --n_epochs 120: joint weight / architecture epochs after the warm-up
    steps_per_epoch: int | None = None  # None: one pass over the train split; a preset's count holds on any data
    batch_size: int = 256  # code --train_batch_size 256 (also the arch step's validation batch: grad_data_batch None)
    # -- weights (paper sec. 4 / code run config) -------------------------------------------------------------------
    lr: float = 0.025  # code --init_lr 0.025, cosine (--lr_schedule_type cosine) over the search epochs
    warmup_lr: float = 0.05  # code warm_up(): lr_max = 0.05, cosine over the warm-up epochs
    momentum: float = 0.9  # code --momentum 0.9, Nesterov (not --no_nesterov)
    weight_decay: float = 4e-5  # code --weight_decay 4e-5
    label_smoothing: float = 0.1  # code --label_smoothing 0.1 (weight steps; arch steps use plain CE, as the code)
    # -- architecture parameters ------------------------------------------------------------------------------------
    algo: str = "gradient"  # code --arch_algo grad; "reinforce" = --arch_algo rl (paper sec. 3.3.2)
    grad_mode: str = "full"  # code default full_v2 (= "full"'s gradient, memory-saving); "two": paper sec. 3.2.1
    arch_memory: str = "recompute"  # code default --grad_binary_mode full_v2 (ArchGradientFunction): the arch step
    #   keeps only the active path's activations and recomputes the other sampled candidates' outputs in the
    #   backward pass for dL/dg_j (same gradients, one path's memory; also in "two" mode). "keep": every sampled
    #   candidate's output held from forward to backward (code "full" / "two"): one more activation per candidate
    arch_lr: float = 1e-3  # code --arch_lr 1e-3, Adam
    arch_beta1: float = 0.0  # code --arch_adam_beta1 0: unsampled paths get no momentum in two-path mode
    arch_beta2: float = 0.999  # code --arch_adam_beta2
    arch_eps: float = 1e-8  # code --arch_adam_eps
    arch_weight_decay: float = 0.0  # code --arch_weight_decay 0
    arch_init_std: float = 1e-3  # code --arch_init_type normal --arch_init_ratio 1e-3: alpha ~ N(0, 1e-3)
    arch_update_every: int = 5  # code --grad_update_arch_param_every 5: one arch step every 5 weight steps
    arch_steps: int = 1  # code --grad_update_steps 1
    arch_start_epoch: int = 1  # code train(): "skip architecture parameter updates in the first epoch"
    # -- hardware objective -----------------------------------------------------------------------------------------
    latency_target_ms: float | None = None  # T; code ref_values['mobile']['1.00'] = 80 ms on a phone
    flops_target: float | None = None  # T in MACs; code ref_values['flops']['1.00'] = 300M (target_hardware flops)
    loss_form: str = "mul_log"  # code default grad_reg_loss_type mul#log; "add": paper eq. CE + lambda2 E[LAT];
    #                             "linear": code add#linear CE + lambda (E - T) / T. Note: mul_log multiplies CE
    #   by a function of E whose T-dependence is (nearly) a constant factor, which Adam's normalised step ignores:
    #   T barely steers it. To sweep targets use "linear" (pull lambda / T per ms; benchmarks/proxyless_targets.py)
    mul_log_alpha: float = 0.2  # code --grad_reg_loss_alpha 0.2: loss = alpha CE (log E / log T)^beta
    mul_log_beta: float = 0.3  # code --grad_reg_loss_beta 0.3
    linear_lambda: float = 0.1  # code --grad_reg_loss_lambda 1e-1
    mul_log_latency_reference: float | None = 80.0  # code ref_values mobile = 80 (ms). The log form depends on the
    #   unit (log of ms < 1 is negative); interpretation: latencies are rescaled so the target sits at 80 units,
    #   which keeps the code's pull (d ratio / d (E/T) = 1 / log 80) for millisecond-scale CPU targets. None: raw ms.
    additive_lambda: float | None = None  # paper lambda2 (no value given): None -> 0.1 / T (interpretation: the
    #                                       linear form's slope, so both forms pull equally hard at first)
    # -- REINFORCE (paper sec. 3.3.2; code RLArchSearchConfig) --------------------------------------------------------
    rl_batch_size: int = 10  # code --rl_batch_size 10: nets sampled per update
    rl_update_every: int = 16  # code: 300 updates / epoch over ImageNet's ~4800 batches -> every 16 (interpretation)
    rl_baseline_decay: float = 0.99  # code --rl_baseline_decay_weight 0.99 (moving-average baseline)
    rl_tradeoff: float = 0.1  # code --rl_tradeoff_ratio 0.1: reward = ACC * (T / LAT)^0.1
    rl_latency_source: str = "table"  # code net_latency(fast=True) = the lookup table; "measured": time the child
    # -- latency lookup table ---------------------------------------------------------------------------------------
    latency_table: str | None = None  # path of a table; None: this device's cached table (built when missing)
    force_latency_table: bool = False  # use a table measured on another device anyway
    latency_batch_size: int = 1  # paper: mobile latency of one image
    latency_threads: int | None = None  # None: 1 torch thread on CPU (archsearch.cost.latency: a shared host's
    #                                     thread pool inflates tiny ops ~250x); table and measured latency share it
    latency_clock: str | None = None  # None: the thread's CPU time with 1 CPU thread, else wall (cost.latency)
    latency_runtime: str | None = None  # None: the run's ($ARCHSEARCH_LATENCY_RUNTIME when it started, else "torch",
    #   eager); "onnxruntime": ops and the derived net timed in ONNX Runtime (cost.onnx_runtime)
    measure_derived_latency: bool = True  # time the derived child end-to-end (same threads as the table)
    # -- evaluation of the derived arch -----------------------------------------------------------------------------
    bn_recalibration_batches: int = 20  # the child's BN statistics re-estimated on train batches (interpretation:
    #                                     the code validates in train mode for the same reason)
    # the derived net's final training (from scratch on every training image; test set): code
    # search/imagenet_run_exp.py --n_epochs 300 (ImageNet), one training (--manual_seed 0)
    final: FinalTraining = field(default_factory=lambda: FinalTraining(300, seeds=1, recipe=FINAL_RECIPE))

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        "quick": {"warmup_epochs": 2, "epochs": 8, "steps_per_epoch": 100, "batch_size": 128,
                  "final": quick_final(FINAL_RECIPE, lr=0.025, batch_size=128)},
        "smoke": {"warmup_epochs": 1, "epochs": 2, "steps_per_epoch": 6, "batch_size": 16,
                  "bn_recalibration_batches": 2, "rl_batch_size": 3, "final": smoke_final(FINAL_RECIPE, dropout=None)},
    }
    DISPLAY_NAME: ClassVar[str] = "ProxylessNAS"  # Cai, Zhu & Han, ICLR 2019
    FRONT_COST: ClassVar[str] = "latency_ms"  # its search trades accuracy against latency (sec. 3.3)
    BUDGET_FIELD: ClassVar[str] = "epochs"
    ACCURACY: ClassVar[str] = "supernet"  # the derived child with the supernet's weights (BN recalibrated)
    CLI_FLAGS: ClassVar[dict[str, str]] = {"--latency-target": "latency_target_ms", "--flops-target": "flops_target",
                                           "--grad-mode": "grad_mode", "--algo": "algo"}

    def weight_recipe(self, phase: str) -> Recipe:
        """The supernet weights' typed `Recipe` in a phase ("warmup" or "search"): Nesterov momentum, cosine, label
        smoothing, the phase's lr (ProxylessNAS code)."""
        return Recipe(optimizer="nesterov", lr=self.warmup_lr if phase == "warmup" else self.lr,
                      momentum=self.momentum, weight_decay=self.weight_decay, schedule="cosine",
                      label_smoothing=self.label_smoothing, batch_size=self.batch_size, augment=True,
                      decay_norm_and_bias=True)  # code imagenet_arch_search.py: --no_decay_keys None

    def __post_init__(self) -> None:
        # text ("5ms", "300M") is read here, the one place a frozen config sets its own fields
        if isinstance(self.latency_target_ms, str):
            text = self.latency_target_ms.strip()
            object.__setattr__(self, "latency_target_ms", parse_constraint(f"latency<={text}").bound
                               if text[-1:].isalpha() else float(text))
        if isinstance(self.flops_target, str):
            object.__setattr__(self, "flops_target", parse_constraint(f"flops<={self.flops_target.strip()}").bound)
        check_one_of(self, {"algo": ALGOS, "grad_mode": GRAD_MODES, "arch_memory": ARCH_MEMORY, "loss_form": LOSS_FORMS,
                            "latency_runtime": (None, *RUNTIMES), "rl_latency_source": ("measured", "table")},
                     owner="proxyless")
        if self.latency_target_ms is not None and self.flops_target is not None:
            raise ConfigError("proxyless: give latency_target_ms or flops_target, not both")
        for name, value in (("latency_target_ms", self.latency_target_ms), ("flops_target", self.flops_target)):
            if value is not None and not value > 0:
                raise ConfigError(f"proxyless {name}={value!r} must be positive")
        if (self.loss_form == "mul_log" and self.target is not None and self._log_reference() is None
                and self.target <= 1.0):
            raise ConfigError(f"proxyless loss_form 'mul_log' needs a target above 1 (log T > 0), got {self.target}; "
                              "use loss_form 'linear' or 'add'")
        check_at_least(self, 0, ("warmup_epochs", "arch_start_epoch"), "proxyless ")
        check_at_least(self, 1, ("epochs", "batch_size", "arch_update_every", "arch_steps", "rl_batch_size",
                                 "rl_update_every", "steps_per_epoch"), "proxyless ")
        if not 0 <= self.rl_baseline_decay < 1:
            raise ConfigError("proxyless rl_baseline_decay must be in [0, 1)")

    @property
    def objective(self) -> str | None:
        """The hardware objective: "latency", "flops" or None (accuracy only)."""
        if self.latency_target_ms is not None:
            return "latency"
        if self.flops_target is not None:
            return "flops"
        return None

    @property
    def target(self) -> float | None:
        return self.latency_target_ms if self.latency_target_ms is not None else self.flops_target

    def _log_reference(self) -> float | None:
        """The unit rescaling of the log form: latency only (FLOPs keep raw MACs, as the code's 300M ref)."""
        return self.mul_log_latency_reference if self.objective == "latency" else None


# -- the method -------------------------------------------------------------------------------------------------------
@register_method("proxyless", ProxylessConfig)
class ProxylessNAS:
    """ProxylessNAS search on a weight-sharing space (`mobilenet`: its `paper` preset is the official layout)."""

    @staticmethod
    def check_space(search_space: Any, method: str, config: ProxylessConfig) -> None:
        require_weight_sharing(search_space, method, latency=config.objective == "latency")

    def __init__(self, config: ProxylessConfig, ctx: RunContext) -> None:
        self.config = config
        self.ctx = ctx
        self.space = ctx.space
        require_weight_sharing(self.space, spec_of(config).name)  # (no latency table for the space: ensure_table says so)
        self.device = torch.device(ctx.device)
        with seeded(int(ctx.rng("proxyless", "supernet").integers(2**62))):  # a user space's layers draw here
            self.supernet: nn.Module = self.space.supernet()
        init_weights(self.supernet, ctx.torch_generator("proxyless", "weight-init"), "he_fout")
        self.objective, self.target = _objective(config, ctx.constraints)
        self.log_reference = config.mul_log_latency_reference if self.objective == "latency" else None
        if self.objective is not None and config.objective is None:
            ctx.log(f"proxyless: no target given; using the {self.objective} constraint's bound {self.target:g} as T")

        self.gates = BinaryGates(self.supernet, init_std=config.arch_init_std, device=self.device,
                                 generator=ctx.torch_generator("proxyless", "alpha-init"),
                                 recompute=config.arch_memory == "recompute")
        self.arch_optimizer = torch.optim.Adam(list(self.gates.alphas.values()), lr=config.arch_lr,
                                               betas=(config.arch_beta1, config.arch_beta2), eps=config.arch_eps,
                                               weight_decay=config.arch_weight_decay)
        self.gate_generator = ctx.torch_generator("proxyless", "gates")
        self.data_generator = ctx.torch_generator("proxyless", "batches")
        self.val_generator = ctx.torch_generator("proxyless", "arch-batches")

        self.latency_table: LatencyTable | None = None
        self.expected_cost: ExpectedCost | None = None
        self.expected_latency: ExpectedCost | None = None
        self.baseline: float | None = None
        self.phase = "warmup" if config.warmup_epochs > 0 else "search"
        self.epoch = 0  # epochs completed in the current phase
        self.arch_step_count = 0
        self.history: list[dict[str, Any]] = []  # per search epoch: derived arch and its supernet accuracy
        self._trainer_state: dict[str, Any] | None = None

    # -- the loop ---------------------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        config, ctx = self.config, self.ctx
        self._setup_costs()
        splits = ctx.splits()
        self._check_recompute(splits)
        batches = Batches(splits.train, config.batch_size, shuffle=True,
                          augment=splits.train.augmentation is not None, generator=self.data_generator,
                          drop_last=len(splits.train) >= config.batch_size)
        steps = config.steps_per_epoch or len(batches)  # a preset's count, on any data size

        if self.phase == "warmup":
            trainer = self._trainer("warmup", steps)
            while self.epoch < config.warmup_epochs:
                self._epoch(trainer, batches, steps, arch_updates=False)
                self.epoch += 1
                self._trainer_state = trainer.state_dict()
                ctx.log(f"proxyless warm-up epoch {self.epoch}/{config.warmup_epochs} done")
                ctx.checkpoint(self)
            self.phase, self.epoch = "search", 0
            momentum = trainer.optimizer.state_dict()
            self._trainer_state = None
        else:
            momentum = None
        trainer = self._trainer("search", steps, optimizer_state=momentum)
        while self.epoch < config.epochs:
            self._epoch(trainer, batches, steps, arch_updates=self.epoch >= config.arch_start_epoch)
            self.epoch += 1
            self._trainer_state = trainer.state_dict()
            self._record_epoch(splits)
            ctx.checkpoint(self)
        return self._finish(splits, batches)

    def _epoch(self, trainer: Trainer, batches: Batches, steps: int, *, arch_updates: bool) -> None:
        config = self.config
        every = config.arch_update_every if config.algo == "gradient" else config.rl_update_every
        with self.ctx.progress(f"proxyless {self.phase} {self.epoch + 1}", total=steps) as bar:
            for i, (x, y) in enumerate(take_steps(batches, steps)):
                self.weight_step(trainer, x, y)
                if arch_updates and (i + 1) % every == 0:
                    for _ in range(config.arch_steps if config.algo == "gradient" else 1):
                        if config.algo == "gradient":
                            self.gradient_arch_step()
                        else:
                            self.reinforce_arch_step()
                bar.advance()

    def weight_step(self, trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> float:
        """One SGD step on the weights of one path sampled by p (binary gates without arch gradients)."""
        self.gates.sample(self.gate_generator, "full", arch_grad=False)
        return trainer.step(x, y)

    # -- one architecture step --------------------------------------------------------------------------------------
    def gradient_arch_step(self) -> dict[str, float]:
        """Binary-gate gradient step on a validation batch (code gradient_step), then the two-path rescale."""
        config = self.config
        x, y = self._val_batch()
        self.supernet.train()
        alphas = self.gates.alphas
        self.gates.sample(self.gate_generator, config.grad_mode, arch_grad=True)
        logits = self.supernet(x)
        ce = F.cross_entropy(logits.float(), y)
        # two-path: the cost term sees only each block's sampled pair, renormalised (released code), so together
        # with the rescale after the step every unsampled path keeps its probability
        sampled = self.gates.sampled() if config.grad_mode == "two" else None
        expected = self.expected_cost(alphas, sampled) if self.expected_cost is not None else None
        loss = hardware_loss(ce, expected, self.target, config.loss_form, alpha=config.mul_log_alpha,
                             beta=config.mul_log_beta, linear_lambda=config.linear_lambda,
                             additive_lambda=config.additive_lambda, log_reference=self.log_reference)
        self.arch_optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=self.gates.gates() + (list(alphas.values()) if expected is not None else []))
        self.gates.step(self.arch_optimizer, two_path=config.grad_mode == "two")
        self.arch_step_count += 1
        values = {"loss": float(loss.detach()), "ce": float(ce.detach())}
        self._log_arch(values)
        return values

    def reinforce_arch_step(self) -> dict[str, float]:
        """Sample `rl_batch_size` nets, reward each on one validation batch, policy-gradient step (code
        rl_update_step: nets evaluated in train mode, without gradients)."""
        config = self.config
        x, y = self._val_batch()
        self.supernet.train()
        samples, rewards, accuracies = [], [], []
        with torch.no_grad():
            for _ in range(config.rl_batch_size):
                self.gates.sample(self.gate_generator, "full", arch_grad=False)
                sample = self.gates.active()
                accuracy = float((self.supernet(x).argmax(1) == y).float().mean())
                cost = self._sample_cost(sample)
                samples.append(sample)
                accuracies.append(accuracy)
                rewards.append(reinforce_reward(accuracy, cost, self.target, config.rl_tradeoff))
        mean_reward = sum(rewards) / len(rewards)
        self.baseline = update_baseline(self.baseline, mean_reward, config.rl_baseline_decay)
        grads = reinforce_alpha_grads(self.gates.alphas, samples, rewards, self.baseline)
        self.arch_optimizer.zero_grad(set_to_none=True)
        for name, alpha in self.gates.alphas.items():
            alpha.grad = grads[name].to(alpha.device)
        self.arch_optimizer.step()
        self.arch_step_count += 1
        values = {"mean_reward": mean_reward, "baseline": self.baseline,
                  "mean_accuracy": sum(accuracies) / len(accuracies)}
        self._log_arch(values)
        return values

    # -- derive and export ------------------------------------------------------------------------------------------
    def derived_arch(self) -> Arch:
        """The most probable op per block (code convert_to_normal_net / set_chosen_op_active)."""
        return arch_of_path(self.space.space, self.gates.most_probable())

    def probabilities(self) -> dict[str, list[float]]:
        return self.gates.probabilities()

    def _inherited_accuracy(self, arch: Arch, splits: Any) -> tuple[nn.Module, float]:
        """`arch`'s child with the supernet's weights, BN re-estimated on training batches (released code), on the
        validation split."""
        calibration = calibration_inputs(splits.train, self.config.batch_size, self.config.bn_recalibration_batches,
                                         self.ctx.torch_generator("proxyless", "recalibration"))
        return inherited_accuracy(self.space, self.supernet, arch, calibration=calibration, val=splits.val,
                                  device=self.device)

    def proxy_accuracy(self, archs: Sequence[Arch]) -> list[float]:
        """The search's own estimate for other architectures (a study's proxy tau): each one scored as the derived
        child is, with inherited weights."""
        splits = self.ctx.splits()
        return [self._inherited_accuracy(arch, splits)[1] for arch in archs]

    def _finish(self, splits: Any, batches: Batches) -> SearchResult:
        arch = self.derived_arch()
        child, accuracy = self._inherited_accuracy(arch, splits)
        objectives = {"accuracy": accuracy, **self._cost_values(arch)}
        attrs = {"phase": DERIVE_PHASE, "probabilities": self.probabilities(), "seconds": 0.0}
        measured = None
        if self.latency_table is not None and self.config.measure_derived_latency:
            measured = measure_network(self.space, arch, self.latency_table, device=self._latency_device())
            attrs["measured_latency_ms"] = measured
        self._record(f"proxyless/{DERIVE_PHASE}", DERIVE_PHASE, arch, objectives, seconds=0.0,
                     **({} if measured is None else {"measured_latency_ms": measured}))
        child_weights = self.ctx.save_weights(weights_file("child"), child.state_dict())
        supernet = self.ctx.save_weights(weights_file("supernet"), self.supernet.state_dict())
        self.ctx.log(f"proxyless derived {arch}: val accuracy {accuracy:.4f}, " +
                     ", ".join(f"{k} {v:.4g}" for k, v in objectives.items() if k != "accuracy") +
                     ("" if measured is None else f", measured latency {measured:.4g} ms "
                      "({runtime}, {threads} thread(s), {clock} clock)".format(**table_timing(self.latency_table))))
        best = Candidate(arch, objectives, attrs)
        # the front over latency when every candidate has one, else over MACs; one candidate per arch (the last)
        candidates = [best] + [Candidate(self.space.space.validate(h["arch"]), h["objectives"]) for h in self.history]
        cost = "latency_ms" if all("latency_ms" in c.objectives for c in candidates) else "macs"
        front = pareto_front({c.arch.key: c for c in candidates}.values(), lambda c: c.objectives["accuracy"],
                             lambda c: c.objectives[cost])
        return SearchResult(best=best, pareto_front=tuple(front),
                            weights=SavedWeights(supernet=supernet, per_arch={arch.key: child_weights}),
                            extra={"probabilities": self.probabilities(),
                                   "latency_target_ms": self.config.latency_target_ms,
                                   "target": self.target, "objective": self.objective,
                                   "measured_latency_ms": measured,
                                   "latency_threads": None if self.latency_table is None
                                   else self.latency_table.fingerprint.get("threads"),
                                   "latency_runtime": None if self.latency_table is None
                                   else self.latency_table.runtime,
                                   "flops_target": self.config.flops_target})

    def _record_epoch(self, splits: Any) -> None:
        """After each search epoch: the derived arch's supernet accuracy on the small validation split (a ledger
        trial, so the run has a trajectory and a front)."""
        arch = self.derived_arch()
        self.gates.set_path(arch)
        start = time.perf_counter()
        pair = splits.small_val
        # train mode (code validate(use_train_mode=True): the running BN statistics mix all paths); NCHW inputs
        accuracy = (evaluate(self.supernet, pair, device=self.device, bn="train", channels_last=False)[1]
                    if len(pair) else 0.0)
        objectives = {"accuracy": accuracy, **self._cost_values(arch)}
        key = f"proxyless/epoch/{self.epoch}"
        self._record(key, "search", arch, objectives, seconds=time.perf_counter() - start, epoch=self.epoch)
        self.history.append({"epoch": self.epoch, "arch": arch.to_dict(), "objectives": objectives})

    # -- helpers ------------------------------------------------------------------------------------------------------
    def _record(self, key: str, phase: str, arch: Arch, objectives: dict[str, float], *, seconds: float,
                **attrs: Any) -> None:
        """One ledger trial (a resumed run's record of `key` stands): the objectives the ledger tracks as values,
        costs and timings as attributes too."""
        self.ctx.record(arch, objectives, key=key, phase=phase,
                        attrs={**objectives, "seconds": seconds, "phase": phase, "key": key, **attrs})

    def _setup_costs(self) -> None:
        config = self.config
        needs_table = self.objective == "latency" or any(c.metric == "latency" for c in self.ctx.constraints)
        if needs_table and self.latency_table is None:
            self.latency_table = ensure_table(self.space, path=config.latency_table, device=self._latency_device(),
                                              batch_size=config.latency_batch_size, threads=config.latency_threads,
                                              clock=config.latency_clock, runtime=config.latency_runtime or self.ctx.latency_runtime,
                                              force=config.force_latency_table, log=self.ctx.log,
                                              progress=latency_progress(self.ctx))
        if self.latency_table is not None:
            self.expected_latency = ExpectedCost.from_latency_table(self.latency_table, self.gates.choices)
        if self.objective == "latency":
            self.expected_cost = self.expected_latency
        elif self.objective == "flops":
            self.expected_cost = ExpectedCost.from_space_macs(self.space, self.gates.choices)

    def _check_recompute(self, splits: Any) -> None:
        """Before any step: a model that modifies a choice's output in place cannot recompute in the backward pass;
        its arch steps keep the sampled outputs instead (same gradients, more memory), said once in the log."""
        if self.config.algo != "gradient" or self.config.arch_memory != "recompute":
            return
        parameter = next(self.supernet.parameters(), None)
        x = splits.val.x[:2].to(parameter.device if parameter is not None else self.device)
        if recompute_allowed(self.supernet, x):
            return
        self.gates.keep_outputs()
        self.ctx.log("proxyless: the model modifies a choice's output in place, so arch steps keep every sampled "
                     "output (arch_memory 'keep': same gradients, more memory); make that op out-of-place to save it")

    def _trainer(self, phase: str, steps: int, optimizer_state: dict | None = None) -> Trainer:
        config = self.config
        epochs = config.warmup_epochs if phase == "warmup" else config.epochs
        trainer = Trainer(self.supernet, config.weight_recipe(phase), device=self.device, steps_per_epoch=steps,
                          epochs=epochs, generator=self.ctx.torch_generator("proxyless", "trainer", phase))
        if self._trainer_state is not None:
            trainer.load_state_dict(self._trainer_state)
        elif optimizer_state is not None:
            trainer.optimizer.load_state_dict(optimizer_state)  # momentum carries over from the warm-up (code)
        return trainer

    def _val_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch of the validation split (code: valid_next_batch; a fresh draw, so resume is exact)."""
        pair = self.ctx.splits().val
        index = torch.randperm(len(pair), generator=self.val_generator)[:self.config.batch_size]
        # channels_last on CPU, where the Trainer made the supernet channels_last
        return model_input(pair.x[index], self.device, self.device.type == "cpu"), pair.y[index].to(self.device)

    def _sample_cost(self, sample: Mapping[str, int]) -> float | None:
        objective = self.objective
        if objective is None:
            return None
        arch = {name: self.gates.choices[name][index] for name, index in sample.items()}
        if objective == "latency" and self.config.rl_latency_source == "measured":
            net = self.space.build(arch_of_path(self.space.space, arch))
            return time_module(net, tuple(self.space.input_shape), device=self._latency_device(), warmup=3,
                               repeats=10, **table_timing(self.latency_table))
        return self.expected_cost.of_arch(self.gates.choices, arch)

    def _latency_device(self) -> torch.device:
        return torch.device("cpu") if self.device.type == "cpu" else self.device

    def _cost_values(self, arch: Arch) -> dict[str, float]:
        cost: Cost = self.space.cost(arch)
        values = {"macs": float(cost.macs), "params": float(cost.params)}
        if self.latency_table is not None:
            values["latency_ms"] = predict_latency(self.latency_table, arch)
        elif cost.latency_ms is not None:
            values["latency_ms"] = float(cost.latency_ms)
        return values

    def _log_arch(self, values: dict[str, float]) -> None:
        step = self.arch_step_count
        probs = {f"{name}/{value}": p for name, ps in self.probabilities().items()
                 for value, p in zip(self.gates.choices[name], ps)}
        self.ctx.log_metrics("proxyless_probs", step, **probs)
        costs = dict(values)
        with torch.no_grad():
            if self.expected_latency is not None:
                costs["expected_latency_ms"] = float(self.expected_latency(self.gates.alphas))
            if self.objective == "flops":
                costs["expected_macs"] = float(self.expected_cost(self.gates.alphas))
        if self.target is not None:
            costs["target"] = float(self.target)
        costs["entropy"] = self.gates.mean_entropy()
        self.ctx.log_metrics("proxyless_arch", step, phase_epoch=float(self.epoch), **costs)

    # -- checkpoints ---------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "phase": self.phase,
            "epoch": self.epoch,
            "arch_step_count": self.arch_step_count,
            "alphas": {name: alpha.detach().cpu().clone() for name, alpha in self.gates.alphas.items()},
            "arch_optimizer": self.arch_optimizer.state_dict(),
            "trainer": self._trainer_state,
            "supernet": self.supernet.state_dict(),
            "gate_generator": self.gate_generator.get_state(),
            "data_generator": self.data_generator.get_state(),
            "val_generator": self.val_generator.get_state(),
            "baseline": self.baseline,
            "history": self.history,
            "latency_table": None if self.latency_table is None else {
                "fingerprint": self.latency_table.fingerprint, "entries": self.latency_table.entries,
                "meta": self.latency_table.meta},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.phase = state["phase"]
        self.epoch = int(state["epoch"])
        self.arch_step_count = int(state["arch_step_count"])
        with torch.no_grad():
            for name, alpha in self.gates.alphas.items():
                alpha.copy_(state["alphas"][name].to(alpha.device))
        self.arch_optimizer.load_state_dict(state["arch_optimizer"])
        self._trainer_state = state["trainer"]
        self.supernet.load_state_dict(state["supernet"])
        self.gate_generator.set_state(state["gate_generator"])
        self.data_generator.set_state(state["data_generator"])
        self.val_generator.set_state(state["val_generator"])
        self.baseline = state["baseline"]
        self.history = list(state["history"])
        table = state.get("latency_table")
        if table is not None:
            self.latency_table = LatencyTable(dict(table["fingerprint"]), dict(table["entries"]),
                                              dict(table["meta"]))


def _objective(config: ProxylessConfig, constraints: Sequence[Constraint]) -> tuple[str | None, float | None]:
    """The hardware objective and target T: from the config, else from a ``latency<=`` / ``flops<=`` constraint
    (interpretation: a bound the user asks for is the target the loss steers to)."""
    if config.objective is not None:
        return config.objective, config.target
    for metric in ("latency", "flops"):
        bounds = [c.bound for c in constraints if c.metric == metric and c.op in ("<=", "<")]
        if bounds:
            return metric, min(bounds)
    return None, None


__all__ = ["ExpectedCost", "ProxylessConfig", "ProxylessNAS", "hardware_loss", "reinforce_alpha_grads",
           "reinforce_reward", "update_baseline"]
