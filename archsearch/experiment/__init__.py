"""Experiments: the run directory, the trial ledger (Optuna storage), atomic checkpoints, run / resume."""

from archsearch.experiment.checkpoint import CheckpointStore
from archsearch.experiment.ledger import OptunaLedger, TrialRecord
from archsearch.experiment.run import Experiment, RunSettings, SimulatedCrash, resume, run

__all__ = ["CheckpointStore", "Experiment", "OptunaLedger", "RunSettings", "SimulatedCrash", "TrialRecord", "resume",
           "run"]
