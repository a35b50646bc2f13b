"""The final training of NARS (FBNetV3 sec. 4.3, "Training settings"): each found pair with its own recipe and EMA
on, in two steps: the largest found model is trained on the labels, then every found model (the largest too) is
distilled from it, 0.8 KD + 0.2 CE (`distill=False`: each is trained once, on the labels). Through the executor,
so the models train in parallel on Ray; the trained (EMA) weights go to ``run_dir/weights/final_<i>.pt``, which
`archsearch export` loads, the teacher's to ``weights/teacher.pt``."""

from __future__ import annotations

import json
from typing import Any, Callable

import torch

from archsearch.methods.nars.config import NARSConfig
from archsearch.methods.nars.space import NARSSpace
from archsearch.methods.nars.training import finished, ledger_values, task_seed, train_final
from archsearch.space.space import Arch
from archsearch.train.final import final_tasks, summarise_final
from archsearch.train.recipe import Recipe
from archsearch.train.task import EvalTask


class FinalTraining:
    """`teacher`: the distillation teacher's training (the largest found model); `finals`: one record per found
    model trained."""

    def __init__(self, space: NARSSpace, config: NARSConfig, ctx: Any, checkpoint: Callable[[], None]) -> None:
        self.space, self.config, self.ctx, self.checkpoint = space, config, ctx, checkpoint
        self.teacher: dict[str, Any] | None = None
        self.finals: list[dict[str, Any]] = []

    def run(self, found: list[dict[str, Any]]) -> None:
        """Train the `found` models (stage 3's entries) that are not trained yet."""
        cfg = self.config
        if cfg.final_epochs <= 0 or not found:
            return
        teacher: dict[str, Any] | None = None
        if cfg.distill:
            largest = min(range(len(found)), key=lambda i: (-found[i]["macs"], i))
            if self.teacher is None:
                self._train(found, [largest], None, role="teacher")
            if self.teacher is not None and self.teacher["weights"] is not None:
                teacher = {"arch": self.space.full(self._point(found, largest)).to_dict(),
                           "state": torch.load(self.ctx.run_dir / self.teacher["weights"], map_location="cpu",
                                               weights_only=True)}
            else:
                self.ctx.log("nars: the teacher's training failed; the final models train without distillation")
        done = {f["found_index"] for f in self.finals}
        self._train(found, [i for i in range(len(found)) if i not in done], teacher)

    def _point(self, found: list[dict[str, Any]], i: int) -> Arch:
        return self.space.joint.from_json(found[i]["arch"])

    def _weights_path(self, i: int, role: str = "final") -> Any:
        return self.ctx.run_dir / "weights" / (f"final_{i}.pt" if role == "final" else "teacher.pt")

    def _recipe(self, point: Arch, distilled: bool) -> Recipe:
        recipe = self.space.recipe_of(point).replace(**self.config.final_recipe)  # FBNetV3 sec. 4.3: with EMA
        return recipe if not distilled else recipe.replace(distill_weight=0.8)  # sec. 4.3: 0.8 KD + 0.2 CE

    def _train(self, found: list[dict[str, Any]], indices: list[int], teacher: dict[str, Any] | None,
               role: str = "final") -> None:
        """Train found models `indices` (distilled from `teacher` when given); `role` "teacher": the one model
        trained on the labels to teach the others, recorded in `self.teacher`."""
        ctx = self.ctx
        jobs: list[tuple[Any, tuple[int, int, EvalTask]]] = []
        for i in indices:
            point = self._point(found, i)
            key = f"final/{i}" if role == "final" else "final/teacher"
            (task,) = final_tasks(self.space.full(point).to_dict(), space=ctx.space_spec,
                                  **{"split": {}, **ctx.data_spec},
                                  epochs=self.config.final_epochs, seeds=[task_seed(ctx, key)],
                                  recipe=self._recipe(point, teacher is not None), threads=self.config.threads)
            macs, params = self.space.cost(point)
            trial = ctx.ledger.start(self.space.full(point), key=key, phase="final",
                                     attrs={"macs": macs, "params": params, "phase": "final", "key": key,
                                            "recipe": task.recipe, "distilled": teacher is not None, "role": role})
            jobs.append((ctx.executor.submit(train_final, task, teacher), (i, trial, task)))
        with ctx.progress(f"nars {role} training", total=len(jobs)) as bar:
            for (i, trial, task), outcome in finished(ctx.executor, jobs):
                record = self._record(found, i, trial, task, outcome, teacher is not None, role)
                if role == "teacher":
                    self.teacher = record
                else:
                    self.finals.append(record)
                bar.advance()
                self.checkpoint()

    def _record(self, found: list[dict[str, Any]], i: int, trial: int, task: EvalTask, outcome: Any,
                distilled: bool, role: str = "final") -> dict[str, Any]:
        ctx = self.ctx
        macs, params = self.space.cost(self._point(found, i))
        result = None if isinstance(outcome, BaseException) else outcome
        ok = result is not None and not result.diverged and result.val_accuracy is not None
        weights = None
        key = f"final/{i}" if role == "final" else "final/teacher"
        if ok:
            weights = ctx.save_weights(str(self._weights_path(i, role).relative_to(ctx.run_dir)), result.weights)
            for epoch, row in enumerate(result.per_epoch, start=1):
                if row.get("val_accuracy") is not None:
                    ctx.ledger.report_epoch(trial, epoch, float(row["val_accuracy"]))
            ctx.ledger.complete(trial, ledger_values(ctx.ledger, float(result.val_accuracy), macs, params),
                                {"macs": macs, "params": params, "seconds": result.seconds, "phase": "final",
                                 "test_accuracy": result.test_accuracy, "distilled": distilled,
                                 "weights": weights, "role": role})
            if role == "final":
                ctx.log_metrics("finals", i, accuracy=float(result.val_accuracy), macs=float(macs),
                                predicted=float(found[i]["predicted"]))
        else:
            reason = (f"{type(outcome).__name__}: {outcome}" if result is None else
                      result.error or "no validation accuracy")
            ctx.ledger.fail(trial, reason)
            ctx.log(f"nars {key} training failed: {reason}")
        return {"found_index": i, "key": key, "val_accuracy": result.val_accuracy if ok else None,
                "test_accuracy": result.test_accuracy if ok else None, "macs": macs, "params": params,
                "distilled": distilled, "constraint": found[i]["constraint"],
                "predicted": found[i]["predicted"], "weights": weights,
                **({"final": summarise_final([outcome], [task]).to_json()} if role == "final" else {})}

    def state_dict(self) -> dict[str, Any]:
        return {"teacher": json.dumps(self.teacher), "finals": json.dumps(self.finals)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.teacher = json.loads(state.get("teacher", "null"))
        self.finals = json.loads(state["finals"])


__all__ = ["FinalTraining"]
