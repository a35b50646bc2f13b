"""Experiments: the run directory, the trial ledger (Optuna storage), atomic checkpoints, run / resume.

(`retrain` is ``archsearch.retrain`` / ``archsearch.experiment.retrain.retrain``: not re-exported here, where its
name would hide its module.)"""

from archsearch.experiment.checkpoint import CheckpointStore
from archsearch.experiment.ledger import OptunaLedger, TrialRecord
from archsearch.experiment.retrain import FinalResult, final_tasks, summarise_final
from archsearch.experiment.experiment import Experiment
from archsearch.experiment.run import resume, run
from archsearch.experiment.settings import RunRequest, RunSettings

__all__ = ["CheckpointStore", "Experiment", "FinalResult", "OptunaLedger", "RunRequest", "RunSettings",
           "TrialRecord", "final_tasks", "resume", "run", "summarise_final"]
