"""Accuracy predictors over encoded architectures (usable on their own, with any `Space`)."""

from archsearch.predictors.nars import NARSPredictor, PredictorConfig

__all__ = ["NARSPredictor", "PredictorConfig"]
