"""`NARS`: runs the stages of FBNetV3's Algorithm 1 in order, checkpoints between them, and assembles the result.

Each stage is its own unit with its own progress (`stage1.py` .. `final.py`); the method holds the pieces they share
(the searched space, the predictor) and the phase reached, and its checkpoint is the stages' states together.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Sequence

from archsearch.cost.constraints import Constraint, satisfied
from archsearch.errors import ConfigError, ConstraintError
from archsearch.methods import register_method
from archsearch.methods._base import Candidate, SavedWeights, SearchResult, weights_key
from archsearch.methods.context import RunContext
from archsearch.methods.nars.config import NARSConfig
from archsearch.methods.nars.final import FoundModelsTraining
from archsearch.methods.nars.space import NARSSpace, check_space
from archsearch.methods.nars.stage1 import PredictorPretraining
from archsearch.methods.nars.stage2 import ConstrainedOptimisation
from archsearch.methods.nars.stage3 import PredictorEvolution
from archsearch.predictors.nars import NARSPredictor, PredictorConfig
from archsearch.search.pareto import pareto_front
from archsearch.space.space import Arch
from archsearch.tasks.final import FinalResult


GAP = 0.05  # the shortfall of the chosen pair's accuracy below the best stage-2 label that the run explains


@register_method("nars", NARSConfig)
class NARS:
    """Neural Architecture-Recipe Search: predictor pretraining, constrained iterative optimisation, evolution."""

    check_space = staticmethod(check_space)

    def __init__(self, config: NARSConfig, ctx: RunContext) -> None:
        self.config = config
        self.ctx = ctx
        self.space = NARSSpace(ctx.space, config, preset=ctx.preset, rng=ctx.rng, log=ctx.log)
        constraints: tuple[Constraint, ...] = ctx.constraints
        self.predictor = NARSPredictor(
            self.space.joint.encoding_width,
            PredictorConfig(embedding_width=config.embedding_width, huber_delta=config.huber_delta,
                            lr=config.predictor_lr, unfrozen_lr_factor=config.unfrozen_lr_factor),
            generator=ctx.torch_generator("nars", "predictor"))
        self.phase = "pretrain"  # -> "stage2" -> "stage3" -> "final" -> "done"

        def checkpoint() -> None:
            ctx.checkpoint(self)

        self.pretraining = PredictorPretraining(self.space, self.predictor, config, ctx)
        self.optimisation = ConstrainedOptimisation(self.space, self.predictor, self.pretraining, config, ctx,
                                                    constraints, checkpoint)
        self.evolution = PredictorEvolution(self.space, self.predictor, config, ctx, constraints)
        self.final_training = FoundModelsTraining(self.space, config, ctx, checkpoint)
        if self.space.fixed_arch is not None:
            self.space.check_fixed_arch((c for search in self.evolution.searches() for c in search),
                                        ctx.rng("nars", "check"))

    # -- Algorithm 1 ----------------------------------------------------------------------------------------------------
    def run(self) -> SearchResult:
        if self.phase == "pretrain":  # stage 1
            self.pretraining.run()
            self.phase = "stage2"
            self.ctx.checkpoint(self)
        while self.phase == "stage2" and not self.optimisation.done:  # stage 2, T iterations
            self.optimisation.iterate()
        if self.phase == "stage2":
            self._check_stage2_trained()
            self.phase = "stage3"
            self.ctx.checkpoint(self)
        if self.phase == "stage3":  # stage 3, one search per constraint set
            for index in range(len(self.evolution.found), len(self.evolution.searches())):
                self.evolution.search(index, self.optimisation.ranked())
                self.ctx.checkpoint(self)
            self.phase = "final"
            self.ctx.checkpoint(self)
        if self.phase == "final":  # final training of the found pairs
            self.ctx.end_search()  # the final trainings are not search cost
            self.final_training.run(self.evolution.found)
            self.phase = "done"
            self.ctx.checkpoint(self)
        return self._result()

    def _check_stage2_trained(self) -> None:
        """A stage 2 whose every candidate failed (diverged, say) leaves the predictor nothing to learn from: the
        run is an error naming why, not a result made of an untrained predictor's guesses."""
        evaluated = self.optimisation.evaluated
        if not evaluated or any(r["label"] is not None for r in evaluated):
            return
        failed = self.ctx.ledger.trials(phase="stage2", state="failed")
        reason = next((t.attrs.get("fail_reason") for t in failed if t.attrs.get("fail_reason")), None)
        raise ConfigError(f"nars: none of its {len(evaluated)} stage-2 candidates trained"
                          + (f" (the first: {reason})" if reason else "")
                          + ("; lower the recipe's lr range" if reason and "diverged" in reason else "")
                          + "; the failed trials are in the ledger")

    # -- result ---------------------------------------------------------------------------------------------------------
    def proxy_accuracy(self, archs: Sequence[Arch]) -> list[float] | None:
        """The search's own estimate for other architectures (a study's proxy tau): the predictor's accuracy of
        each architecture paired with the recipe of the first pair stage 3 found (None in recipe mode, where the
        architecture is fixed)."""
        if self.config.mode != "joint" or not self.evolution.found:
            return None
        _, recipe = self.space.split(self.space.joint.from_json(self.evolution.found[0]["arch"]))
        points = [self.space.joint.validate({**arch.to_dict(), **recipe.to_dict()}) for arch in archs]
        return [float(v) for v in self.predictor.predict(self.space.joint.encode_many(points))]

    def _candidate(self, point: Arch, accuracy: float, attrs: dict[str, Any]) -> Candidate:
        """A result entry: the point of the run's space (`full`), its accuracy, costs and searched recipe."""
        cost = self.space.cost(point)
        objectives = {"accuracy": float(accuracy), "macs": float(cost.macs), "params": float(cost.params)}
        if cost.latency_ms is not None:
            objectives["latency_ms"] = float(cost.latency_ms)
        return Candidate(self.space.full(point), objectives,
                         {"recipe": self.space.recipe_of(point).to_dict(), **attrs})

    def _meets_constraints(self, point: Arch) -> bool:
        """Whether a point meets every constraint of the run (stage 2 trains candidates that may break some:
        they teach the predictor, but are no result)."""
        return satisfied(self.evolution.constraints, self.space.cost(point))

    def _result(self) -> SearchResult:
        found_entries, stage2 = self.evolution.found, self.optimisation
        trained = self.final_training.finals
        found = []
        for i, entry in enumerate(found_entries):
            final = next((f for f in trained if f["found_index"] == i), None)
            measured = final["val_accuracy"] if final and final["val_accuracy"] is not None else None
            accuracy = measured if measured is not None else entry["predicted"]
            attrs = {"constraint": entry["constraint"], "predicted_accuracy": entry["predicted"],
                     "measured": measured is not None, "test_accuracy": final["test_accuracy"] if final else None}
            found.append(self._candidate(self.space.joint.from_json(entry["arch"]), accuracy, attrs))
        labelled = [r for r in stage2.evaluated if r["label"] is not None]
        # only the stage-2 candidates within every constraint may stand in the result
        measured = [self._candidate(self.space.pool[r["index"]], r["label"], {"source": "stage2", "measured": True})
                    for r in labelled if self._meets_constraints(self.space.pool[r["index"]])]
        everything = found + measured
        if not everything:
            raise ConstraintError("nars: no trained or found network meets "
                                  f"{', '.join(map(str, self.evolution.constraints)) or 'the constraints'}")
        # the Pareto front over (accuracy up, MACs down), most accurate first
        front = pareto_front(everything, lambda c: c.objectives["accuracy"], lambda c: c.objectives["macs"])[::-1]
        # the best: the most accurate model found under the constraints (measured ones first: a final training
        # beats a prediction); with nothing found, the best stage-2 label within the constraints
        best = (max(found, key=lambda c: (c.attrs["measured"], c.objectives["accuracy"])) if found else
                max(measured, key=lambda c: c.objectives["accuracy"]))
        finals = sorted(trained, key=lambda f: f["found_index"])
        extra: dict[str, Any] = {
            "mode": self.config.mode, "iterations": stage2.iteration, "stop_epoch": stage2.stop_epoch,
            "correlations": stage2.correlations, "rank_correlation": self.config.rank_correlation,
            "trained": len(stage2.evaluated),
            "stage3": [{k: v for k, v in f.items() if k != "history"} for f in found_entries],
            "teacher": self.final_training.teacher, "finals": finals}
        # keyed by architecture and recipe: two searches may find one architecture with two recipes
        weights = SavedWeights(per_arch={weights_key(found[f["found_index"]].arch.key,
                                                     found[f["found_index"]].attrs["recipe"]): f["weights"]
                                         for f in finals if f.get("weights")})
        extra["per_constraint"] = [{"constraint": c.attrs["constraint"], "arch": c.arch.to_dict(),
                                    "recipe": c.attrs["recipe"], **c.objectives,
                                    "predicted_accuracy": c.attrs["predicted_accuracy"],
                                    "test_accuracy": c.attrs["test_accuracy"]} for c in found]
        gap = self._gap(best, labelled) if found else None
        if gap is not None:
            extra["gap"], warning = gap
            extra["warnings"] = [*extra.get("warnings", []), warning]
            self.ctx.log(f"warning: {warning}")
        # the best's final training is the run's (trained on the run's training split: its validation accuracy
        # chose the best among the found pairs)
        best_final = next((f["final"] for f in finals if f.get("final") and found[f["found_index"]] is best), None)
        return SearchResult(best, tuple(front), extra,
                            None if best_final is None else FinalResult.from_json(best_final), weights)

    def _gap(self, best: Candidate, labelled: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
        """Why the chosen pair's accuracy sits well (`GAP` or more) below the best stage-2 label, when it does: the
        user sees the best stage-2 candidate win on paper and lose in the result, and is told what differs
        (the predictor's estimate against the label, a broken constraint, the final training's length)."""
        if not labelled:
            return None
        top = max(labelled, key=lambda r: r["label"])
        shortfall = float(top["label"]) - best.objectives["accuracy"]
        if shortfall < GAP:
            return None
        cfg = self.config
        point = self.space.pool[top["index"]]
        within = self._meets_constraints(point)
        predicted_top = float(self.predictor.predict(self.space.joint.encode_many([point]))[0])
        what = ("its validation accuracy after the final training" if best.attrs.get("measured")
                else "the predictor's estimate (it was not trained)")
        reasons = []
        if not within:
            reasons.append(f"the best-labelled stage-2 candidate breaks "
                           f"{', '.join(str(c) for c in self.evolution.constraints)}, so it cannot be chosen")
        chosen_predicted = 100 * best.attrs["predicted_accuracy"]
        reasons.append(f"stage 3 chooses by the predictor, which estimated {chosen_predicted:.1f}% for the chosen pair "
                       f"and {100 * predicted_top:.1f}% for the best-labelled one (label {100 * top['label']:.1f}%)")
        if best.attrs.get("measured"):
            label_epochs = int(self.optimisation.stop_epoch or cfg.epochs)
            reasons.append(f"the labels are accuracies after {label_epochs} epoch(s)"
                           f"{f' on {cfg.train_size} training images' if cfg.train_size else ''}, the chosen "
                           f"pair's after a final training of {cfg.final.epochs} epoch(s)"
                           f"{' distilled from the largest found model' if cfg.distill else ''}")
        warning = (f"nars: the chosen pair's accuracy ({what}) is {100 * best.objectives['accuracy']:.1f}%, "
                   f"{100 * shortfall:.1f} points below the best stage-2 label ({100 * top['label']:.1f}%): "
                   + "; ".join(reasons) + ". A larger budget (--budget: more stage-2 iterations, a better "
                   "predictor) or a longer final training (--set final_epochs=N) narrows the gap")
        gap = {"best_stage2_label": float(top["label"]), "best_stage2_meets_constraints": within,
               "best_stage2_predicted": predicted_top, "chosen_accuracy": best.objectives["accuracy"],
               "chosen_predicted": float(best.attrs["predicted_accuracy"]), "chosen_measured": bool(
                   best.attrs.get("measured")), "label_epochs": int(self.optimisation.stop_epoch or cfg.epochs),
               "final_epochs": cfg.final.epochs}
        return gap, warning

    # -- state ----------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "phase": self.phase, **self.optimisation.state_dict(),
                **self.pretraining.state_dict(), "predictor": self.predictor.state_dict(),
                **self.evolution.state_dict(), **self.final_training.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.phase = str(state["phase"])
        self.optimisation.load_state_dict(state)
        self.pretraining.load_state_dict(state)
        self.predictor.load_state_dict(state["predictor"])
        self.evolution.load_state_dict(state)
        self.final_training.load_state_dict(state)


__all__ = ["NARS"]
