"""Plots of a random-search run: fitness per evaluation (and motifs on genotype spaces), as for evolution."""

from archsearch.report.methods.evolution import plots

__all__ = ["plots"]
