"""Search engines over `Arch` values: GreedyNAS' candidate pool, NSGA-II, NARS' Sobol pool and predictor-based
evolution, the hierarchical mutation and tournament selection.

Pure: no training and no networks inside; randomness comes only from the generator passed in.
"""
