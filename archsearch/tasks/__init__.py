"""Jobs that build a network of a space by name and train it: `run_eval_task` (a search's candidate) and the
final retraining (`final_tasks`, `run_final_task`). They sit above `archsearch.spaces` and below the methods and
executors that submit them, so training (`archsearch.train`) never imports a space."""

from archsearch.tasks.evaluate import run_eval_task
from archsearch.tasks.final import (FinalResult, WHOLE_TRAINING_SET, final_recipe, final_tasks, mean_ci95,
                                    run_final_task, summarise_final)

__all__ = ["FinalResult", "WHOLE_TRAINING_SET", "final_recipe", "final_tasks", "mean_ci95", "run_eval_task",
           "run_final_task", "summarise_final"]
