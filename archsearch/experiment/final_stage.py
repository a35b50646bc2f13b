"""The end of a run: the chosen arch trained from scratch with the method's final recipe.

Each seed's training is a trial of the run's final study in the ledger (``<name>:final``, beside the search's, so
the leaderboard ranks search trials only), recorded by key, so a resumed run trains only the seeds it lacks. The
first seed's weights become ``best/model.pt``.
"""

from __future__ import annotations

from typing import Any, Sequence

from archsearch.accuracy import TEST
from archsearch.experiment.ledger import FINAL_SUFFIX
from archsearch.methods import SearchResult
from archsearch.tasks.final import FinalResult
from archsearch.train import distributed

FINAL_WEIGHTS = "final/model.pt"  # the final training's weights (its first seed), exported to best/model.pt


class FinalStage:
    """The final training of one experiment (`archsearch.experiment.experiment.Experiment`), which gives it its
    config, ledger, executor, log and progress bars."""

    def __init__(self, experiment: Any) -> None:
        self.experiment = experiment
        self._ledger: Any = None

    def run(self, result: SearchResult) -> FinalResult | None:
        """Train the chosen arch from scratch (`archsearch.retrain`, through the executor). None when the method's
        config skips it (``final_epochs=0``); the method's own when it trained one (NARS: every found pair with its
        searched recipe)."""
        from archsearch.experiment.retrain import final_plan, final_split, retrain, seed_list

        run = self.experiment
        if result.final is not None:
            return result.final
        plan = final_plan(run.config)
        if plan is None or plan.epochs <= 0:
            why = "final_epochs=0" if plan is not None else f"method {run.settings.method!r} declares none"
            run.log(f"final training skipped ({why})")
            return None
        epochs = plan.epochs
        seeds_list = seed_list(plan.seeds, first=run.seed)
        done = distributed.broadcast_object(self._done(seeds_list, epochs) if run.main else None)
        run.log(f"final training of the chosen arch: {epochs} epochs x {len(seeds_list)} seed(s), test set"
                + (f" ({len(done)} seed(s) already trained)" if done else ""))
        settings = run.settings
        with run.progress("final training", total=len(seeds_list), status="") as bar:
            bar.advance(len(done))

            def record(task: Any, outcome: Any) -> None:
                self._record(task, outcome, bar)

            final = retrain(dict(result.best.arch), space=run.space_spec, data=settings.data,
                            data_dir=settings.data_dir, image_size=settings.image_size,
                            split=final_split(settings.split), epochs=epochs, seeds=seeds_list, recipe=plan.recipe,
                            executor=run.executor, device=settings.device, keep_weights=True, done=done,
                            on_result=record)
        if final.test_accuracy is None:
            run.log(f"final training failed for every seed: {[e for e in final.errors if e]}")
        return final

    @property
    def ledger(self) -> Any:
        """The final trainings' trials, a study whose metric is the test accuracy."""
        if self._ledger is None:
            self._ledger = self.experiment.open_ledger(self.experiment.settings.name + FINAL_SUFFIX, TEST["metric"])
        return self._ledger

    def _done(self, seeds: Sequence[int], epochs: int) -> dict[int, Any]:
        """{seed: EvalResult} of the final trainings a previous session of this run completed."""
        from archsearch.train.task import EvalResult

        done = {}
        for seed in seeds:
            record = self.ledger.find(f"final/{seed}")
            if record is not None and record.state == "complete" and record.attrs.get("epochs") == epochs:
                done[seed] = EvalResult([], None, record.values["accuracy"], int(record.values["macs"]),
                                        int(record.values["params"]), float(record.attrs.get("seconds", 0.0)),
                                        cpu_seconds=float(record.attrs.get("cpu_seconds", 0.0)))
        return done

    def _record(self, task: Any, outcome: Any, bar: Any) -> None:
        run = self.experiment
        trial = self.ledger.start(run.arch(task.arch), key=f"final/{task.seed}", phase="final",
                                  attrs={"seed": task.seed, "epochs": task.epochs, "recipe": task.recipe})
        ok = not isinstance(outcome, BaseException) and not outcome.diverged and outcome.test_accuracy is not None
        if ok:
            if task.seed == run.seed and outcome.weights is not None:  # the first seed's: best/model.pt
                run.save_weights(FINAL_WEIGHTS, outcome.weights)
            self.ledger.complete(trial, {"accuracy": outcome.test_accuracy, "macs": outcome.macs,
                                         "params": outcome.params},
                                 {"seconds": outcome.seconds, "cpu_seconds": outcome.cpu_seconds,
                                  "epochs": task.epochs})
            bar.update(status=f"seed {task.seed}: {TEST['label']} {100 * outcome.test_accuracy:.2f}%")
        else:
            reason = (f"{type(outcome).__name__}: {outcome}" if isinstance(outcome, BaseException)
                      else outcome.error or "no test accuracy")
            self.ledger.fail(trial, reason)
            run.log(f"final training, seed {task.seed} failed: {reason}")
        bar.advance()
        run.checkpoint(run.prepare())


__all__ = ["FINAL_WEIGHTS", "FinalStage"]
