"""The final training of NARS (FBNetV3 sec. 4.3, "Training settings"): each found pair with its own recipe and EMA
on, in two steps: the largest found model is trained on the labels, then every found model (the largest too) is
distilled from it, 0.8 KD + 0.2 CE (`distill=False`: each is trained once, on the labels). Through the executor,
so the models train in parallel on Ray; the trained (EMA) weights go to ``run_dir/weights/final_<i>.pt``, which
`archsearch export` loads, the teacher's to ``weights/teacher.pt``."""

from __future__ import annotations

import json
from typing import Any, Callable

from archsearch.methods._base import weights_file
from archsearch.methods.context import Evaluated, Evaluation, RunContext, failure_reason
from archsearch.methods.nars.config import NARSConfig
from archsearch.methods.nars.space import NARSSpace
from archsearch.methods.nars.training import task_seed, train_final
from archsearch.space.space import Arch
from archsearch.tasks.final import final_tasks, summarise_final
from archsearch.train.recipe import Recipe
from archsearch.train.task import EvalTask


class FoundModelsTraining:
    """`teacher`: the distillation teacher's training (the largest found model); `finals`: one record per found
    model trained."""

    def __init__(self, space: NARSSpace, config: NARSConfig, ctx: RunContext,
                 checkpoint: Callable[[], None]) -> None:
        self.space, self.config, self.ctx, self.checkpoint = space, config, ctx, checkpoint
        self.teacher: dict[str, Any] | None = None
        self.finals: list[dict[str, Any]] = []

    def run(self, found: list[dict[str, Any]]) -> None:
        """Train the `found` models (stage 3's entries) that are not trained yet."""
        cfg = self.config
        if cfg.final.epochs <= 0 or not found:
            return
        teacher: dict[str, Any] | None = None
        if cfg.distill:
            largest = min(range(len(found)), key=lambda i: (-found[i]["macs"], i))
            if self.teacher is None:
                self._train(found, [largest], None, role="teacher")
            if self.teacher is not None and self.teacher["weights"] is not None:
                teacher = {"arch": self.space.full(self._point(found, largest)).to_dict(),
                           "state": self.ctx.load_weights(self.teacher["weights"])}
            else:
                self.ctx.log("nars: the teacher's training failed; the final models train without distillation")
        done = {f["found_index"] for f in self.finals}
        self._train(found, [i for i in range(len(found)) if i not in done], teacher)

    def _point(self, found: list[dict[str, Any]], i: int) -> Arch:
        return self.space.joint.from_json(found[i]["arch"])

    @staticmethod
    def _weights_name(i: int, role: str = "final") -> str:
        return weights_file(f"final_{i}" if role == "final" else "teacher")

    def _recipe(self, point: Arch, distilled: bool) -> Recipe:
        recipe = self.space.recipe_of(point).replace(**self.config.final.recipe)  # FBNetV3 sec. 4.3: with EMA
        return recipe if not distilled else recipe.replace(distill_weight=0.8)  # sec. 4.3: 0.8 KD + 0.2 CE

    def _train(self, found: list[dict[str, Any]], indices: list[int], teacher: dict[str, Any] | None,
               role: str = "final") -> None:
        """Train found models `indices` (distilled from `teacher` when given); `role` "teacher": the one model
        trained on the labels to teach the others, recorded in `self.teacher`."""
        ctx = self.ctx
        evaluations = []
        for i in indices:
            point = self._point(found, i)
            key = f"final/{i}" if role == "final" else "final/teacher"
            (task,) = final_tasks(self.space.full(point).to_dict(), space=ctx.space_spec,
                                  **{"split": {}, **ctx.data_spec},
                                  epochs=self.config.final.epochs, seeds=[task_seed(ctx, key)],
                                  recipe=self._recipe(point, teacher is not None), threads=self.config.threads)
            cost = self.space.cost(point)
            attrs = {"macs": cost.macs, "params": cost.params, "phase": "final", "key": key, "recipe": task.recipe,
                     "searched_recipe": self.space.recipe_of(point).to_dict(),  # which found pair (export)
                     "distilled": teacher is not None, "role": role}
            evaluations.append(Evaluation(key, self.space.full(point), "final", train_final, (task, teacher), attrs,
                                          tag=i))
        with ctx.progress(f"nars {role} training", total=len(evaluations)) as bar:
            for done in ctx.evaluate_many(evaluations):
                record = self._record(found, done, teacher is not None, role)
                if role == "teacher":
                    self.teacher = record
                else:
                    self.finals.append(record)
                bar.advance()
                self.checkpoint()

    def _record(self, found: list[dict[str, Any]], done: Evaluated, distilled: bool,
                role: str = "final") -> dict[str, Any]:
        ctx = self.ctx
        i, key, outcome = done.evaluation.tag, done.evaluation.key, done.outcome
        task: EvalTask = done.evaluation.args[0]
        cost = self.space.cost(self._point(found, i))
        macs, params, latency = cost.macs, cost.params, cost.latency_ms
        reason = failure_reason(outcome)
        ok = reason is None
        weights = None
        if ok:
            weights = ctx.save_weights(self._weights_name(i, role), outcome.weights)
            ctx.record(done, {"macs": float(macs), "params": float(params)},
                       attrs={"macs": macs, "params": params, "phase": "final", "test_accuracy": outcome.test_accuracy,
                              "distilled": distilled, "weights": weights, "role": role,
                              **({} if latency is None else {"latency_ms": latency})}, full_curve=True)
            if role == "final":
                ctx.log_metrics("finals", i, accuracy=float(outcome.val_accuracy), macs=float(macs),
                                predicted=float(found[i]["predicted"]))
        else:
            ctx.record(done, full_curve=True)
            ctx.log(f"nars {key} training failed: {reason}")
        return {"found_index": i, "key": key, "val_accuracy": outcome.val_accuracy if ok else None,
                "test_accuracy": outcome.test_accuracy if ok else None, "macs": macs, "params": params,
                "distilled": distilled, "constraint": found[i]["constraint"],
                "predicted": found[i]["predicted"], "weights": weights,
                **({"final": summarise_final([outcome], [task]).to_json()} if role == "final" else {})}

    def state_dict(self) -> dict[str, Any]:
        return {"teacher": json.dumps(self.teacher), "finals": json.dumps(self.finals)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.teacher = json.loads(state.get("teacher", "null"))
        self.finals = json.loads(state["finals"])


__all__ = ["FoundModelsTraining"]
