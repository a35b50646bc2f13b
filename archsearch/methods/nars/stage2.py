"""Stage 2 of NARS, constrained iterative optimisation (FBNetV3 sec. 3.2), T iterations of:

pick m candidates (the first iteration: the pool's first m within the FLOPs range, as they come; later ones: the
best-predicted untrained candidate of each of m FLOPs bins); train them through the executor, per-epoch accuracies
in the ledger; after the first iteration (trained for the full `epochs`), choose the early-stop epoch e, the
smallest epoch whose ranking has rank correlation >= 0.92 with the final ranking (later candidates stop after e
epochs of the same schedule; every label is the accuracy at epoch e); refit the accuracy head on every label so far
from the pretrained encoder (Huber loss; frozen encoder, then end to end at a lower lr).
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Sequence

import numpy as np

from archsearch.cost.constraints import Constraint
from archsearch.errors import ConstraintError
from archsearch.methods.context import Evaluation, RunContext
from archsearch.methods.nars.config import NARSConfig
from archsearch.methods.nars.space import NARSSpace
from archsearch.methods.nars.stage1 import PredictorPretraining
from archsearch.methods.nars.training import task_seed, train_until
from archsearch.predictors.nars import NARSPredictor
from archsearch.search.predictor_evolution import correlation_per_epoch, early_stop_epoch, select_by_flops_bins
from archsearch.space.space import Arch
from archsearch.train.task import EvalTask


class ConstrainedOptimisation:
    """Stage 2; `evaluated` holds one row per trained candidate (pool index, curve, label, ...), `current` the
    iteration in progress (chosen pool indices, finished results), so a resumed run continues mid-iteration."""

    def __init__(self, space: NARSSpace, predictor: NARSPredictor, pretraining: PredictorPretraining,
                 config: NARSConfig, ctx: RunContext, constraints: Sequence[Constraint],
                 checkpoint: Callable[[], None]) -> None:
        self.space, self.predictor, self.pretraining = space, predictor, pretraining
        self.config, self.ctx, self.constraints, self.checkpoint = config, ctx, tuple(constraints), checkpoint
        self.iteration = 0  # iterations completed
        self.evaluated: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.stop_epoch: int | None = None  # the early-stop epoch e, set after the first iteration
        self.correlations: list[float] = []  # each epoch's rank correlation with the final ranking
        if config.train_size is not None:  # a size the data cannot give fails now, not in the first candidate
            from archsearch.train.task import cached_splits

            data = self.data_spec
            cached_splits(data["data"], data.get("data_dir"), dict(data["split"]), data.get("image_size"))

    @property
    def done(self) -> bool:
        return self.iteration >= self.config.total_iterations

    def ranked(self) -> list[Arch]:
        """The labelled candidates, best label first (stage 3's first generation starts from them)."""
        labelled = sorted((r for r in self.evaluated if r["label"] is not None), key=lambda r: -r["label"])
        return [self.space.pool[r["index"]] for r in labelled]

    def iterate(self) -> None:
        """One iteration: choose, train, label, refit the predictor."""
        cfg, ctx = self.config, self.ctx
        t = self.iteration
        if self.current is None:
            chosen = self.choose_candidates()
            predicted = (self.predictor.predict(self.space.joint.encode_many([self.space.pool[i] for i in chosen]))
                         if self.predictor.fitted else np.full(len(chosen), math.nan))
            self.current = {"chosen": chosen, "predicted": [float(p) for p in predicted], "results": {}}
            self.checkpoint()
        stop = cfg.epochs if t == 0 else int(self.stop_epoch or cfg.epochs)
        chosen, results = self.current["chosen"], self.current["results"]
        pending = {j: i for j, i in enumerate(chosen) if str(j) not in results}
        self._train(t, pending, stop)
        rows = []
        for j, index in enumerate(chosen):
            result = results[str(j)]
            rows.append({"index": int(index), "iteration": t, "curve": result["curve"],
                         "predicted": self.current["predicted"][j], "macs": result["macs"],
                         "params": result["params"], "diverged": result["diverged"], "key": result["key"]})
        if t == 0:
            self._choose_stop_epoch(rows)
        for k, row in enumerate(rows):
            row["label"] = self.label(row["curve"])
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
        self.checkpoint()

    # -- choosing -------------------------------------------------------------------------------------------------------
    def flops_range(self) -> tuple[float, float]:
        flops = self.space.pool_flops
        if self.space.fixed_arch is not None:  # recipe-only: one architecture, one FLOPs value
            return float(flops.min()), float(flops.max())
        low = self.config.flops_min if self.config.flops_min is not None else float(flops.min())
        # the most FLOPs any stage-3 search may return: every FLOPs bound holds at once, the family's largest target
        limits = [c.bound for c in self.constraints if c.metric == "flops" and c.op in ("<=", "<")]
        limits = ([min(limits)] if limits else []) + ([max(self.config.flops_family)] if self.config.flops_family
                                                      else [])
        high = self.config.flops_max if self.config.flops_max is not None else (
            min(limits) if limits else float(flops.max()))
        return float(low), float(high)

    def choose_candidates(self) -> list[int]:
        """Pool indices of this iteration's m candidates."""
        m = self.config.candidates_per_iteration
        low, high = self.flops_range()
        flops = self.space.pool_flops
        done = {e["index"] for e in self.evaluated}
        if self.iteration == 0:  # the first iteration: straight from the QMC pool
            inside = [i for i in range(len(self.space.pool)) if low <= flops[i] <= high and i not in done]
            if not inside:
                raise ConstraintError(f"nars: no pool candidate has FLOPs in [{low:.4g}, {high:.4g}]")
            return inside[:m]
        predicted = self.predictor.predict(self.space.joint.encode_many(self.space.pool))
        return select_by_flops_bins(flops, predicted, m, low=low, high=high, exclude=sorted(done))

    # -- training -------------------------------------------------------------------------------------------------------
    def _task(self, point: Arch, key: str) -> EvalTask:
        spec = self.ctx.space_spec
        return EvalTask(space=spec["name"], space_options=dict(spec.get("options", {})),
                        arch=self.space.full(point).to_dict(), recipe=self.space.recipe_of(point).to_dict(),
                        epochs=self.config.epochs, seed=task_seed(self.ctx, key), threads=self.config.threads,
                        test=False, **self.data_spec)

    @property
    def data_spec(self) -> dict[str, Any]:
        """The run's data, its training split cut to `train_size` images when the config says so."""
        data = dict(self.ctx.data_spec)
        if self.config.train_size is not None:
            data["split"] = {**(data.get("split") or {}), "train_size": self.config.train_size}
        return data

    def _train(self, t: int, pending: dict[int, int], stop: int) -> None:
        """Train the pending candidates through the executor; record each in the ledger and checkpoint."""
        ctx, space = self.ctx, self.space
        results = self.current["results"]  # type: ignore[index]
        evaluations = []
        for j, index in pending.items():
            point = space.pool[index]
            key = f"stage2/{t}/{j}"
            cost = space.cost(point)
            attrs = {"macs": cost.macs, "params": cost.params, "phase": "stage2", "key": key, "iteration": t,
                     "stop_epoch": stop, "recipe": space.recipe_of(point).to_dict()}
            evaluations.append(Evaluation(key, space.full(point), "stage2", train_until,
                                          (self._task(point, key), stop), attrs, tag=(j, index)))
        with ctx.progress(f"nars stage 2, iteration {t + 1}", total=len(evaluations)) as bar:
            for done in ctx.evaluate_many(evaluations):
                (j, index), key, outcome = done.evaluation.tag, done.evaluation.key, done.outcome
                cost = space.cost(space.pool[index])
                macs, params, latency = cost.macs, cost.params, cost.latency_ms  # (latency<= runs: reports judge it)
                curve: list[float | None] = ([] if isinstance(outcome, BaseException) else
                                             [e.get("val_accuracy") for e in outcome.per_epoch])
                accuracy = ctx.record(done, {"macs": float(macs), "params": float(params)},
                                      attrs={"macs": macs, "params": params, "phase": "stage2", "key": key,
                                             "curve": json.dumps(curve),
                                             **({} if latency is None else {"latency_ms": latency})},
                                      full_curve=True)
                results[str(j)] = {"curve": curve, "macs": macs, "params": params, "diverged": accuracy is None,
                                   "key": key}
                bar.advance()
                self.checkpoint()

    # -- labels and the predictor ---------------------------------------------------------------------------------------
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

    def label(self, curve: list[float | None]) -> float | None:
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
        self.pretraining.reset_predictor()
        x = self.space.joint.encode_many([self.space.pool[r["index"]] for r in labelled])
        y = np.array([r["label"] for r in labelled])
        history = self.predictor.fit(x, y, frozen_epochs=self.config.frozen_epochs,
                                     unfrozen_epochs=self.config.unfrozen_epochs)
        self.ctx.log_metrics("predictor_fit", self.iteration + 1, final_loss=history["loss"][-1] if
                             history["loss"] else math.nan, labels=float(len(y)))

    # -- state ----------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "evaluated": json.dumps(self.evaluated),
                "current": json.dumps(self.current), "stop_epoch": self.stop_epoch,
                "correlations": list(self.correlations)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iteration = int(state["iteration"])
        self.evaluated = json.loads(state["evaluated"])
        self.current = json.loads(state["current"])
        self.stop_epoch = None if state["stop_epoch"] is None else int(state["stop_epoch"])
        self.correlations = [float(c) for c in state["correlations"]]


__all__ = ["ConstrainedOptimisation"]
