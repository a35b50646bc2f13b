"""Plots of a SPOS run: the same figures as GreedyNAS (training loss; no pool under uniform sampling) and the
Pareto front NSGA-II found on the supernet."""

from archsearch.report.methods.greedynas import plots

__all__ = ["plots"]
