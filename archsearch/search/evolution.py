"""The search engine of hierarchical evolution (Liu et al. 2018, arXiv:1711.00436, sec. 3): mutation of a motif
edge, initialisation by random mutations of the trivial genotype, tournament selection. Pure: no training here;
randomness only from the `np.random.Generator` passed in.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from archsearch.errors import ConfigError, unknown_name
from archsearch.space.space import Arch
from archsearch.search.hierarchy import Hierarchy, edge_name


def mutate(arch: Arch, hierarchy: Hierarchy, rng: np.random.Generator) -> Arch:
    """Sec. 3.1, eq. 4: sample a non-primitive level l >= 2, a motif m of level l, a successor node i, a predecessor
    node j < i, and replace the op on edge (j, i) by a different level-(l-1) motif or ``none``. Depending on the old
    and new op this adds, alters or removes an edge."""
    values = arch.to_dict()
    _mutate_in_place(values, hierarchy, rng)
    return Arch(values)


def _mutate_in_place(values: dict[str, Any], hierarchy: Hierarchy, rng: np.random.Generator) -> None:
    level = int(rng.integers(2, hierarchy.levels + 1))
    motif = int(rng.integers(hierarchy.num_motifs(level)))
    i = int(rng.integers(1, hierarchy.num_nodes(level)))
    j = int(rng.integers(i))
    name = edge_name(level, motif, j, i)
    if name not in values:
        raise unknown_name("choice", name, values)
    current = values[name]
    others = [op for op in hierarchy.ops(level) if op != current]
    values[name] = others[int(rng.integers(len(others)))]


def random_genotype(hierarchy: Hierarchy, rng: np.random.Generator, mutations: int = 1000) -> Arch:
    """Sec. 3.1: start from the trivial genotype (identity chains) and apply `mutations` random mutations
    (1000 in the paper), which covers the space without the bias of hand-designed starting points."""
    values = hierarchy.trivial().to_dict()  # mutated as a dict: 1000 immutable copies cost 10 ms a genotype
    for _ in range(mutations):
        _mutate_in_place(values, hierarchy, rng)
    return Arch(values)


def tournament_size(population: int, fraction: float = 0.05) -> int:
    """Sec. 3.2: a tournament samples 5% of the population (at least one; rounded up)."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"tournament fraction must be in (0, 1], got {fraction}")
    return max(1, min(population, math.ceil(fraction * population - 1e-9)))


def tournament_select(fitness: Sequence[float] | np.ndarray, rng: np.random.Generator,
                      fraction: float = 0.05) -> int:
    """Index of the fittest of a uniform sample (without replacement) of `fraction` of the population; ties go to
    the first drawn. Failed candidates should carry fitness -inf, so they win only a tournament of failures."""
    fitness = np.asarray(fitness, dtype=np.float64)
    n = len(fitness)
    if n == 0:
        raise ConfigError("tournament selection needs a non-empty population")
    sample = rng.choice(n, size=tournament_size(n, fraction), replace=False)
    return int(sample[int(np.argmax(fitness[sample]))])
