"""The one Pareto front (archsearch.search.pareto) against the definition, on random points with many ties."""

import numpy as np
import pytest

from archsearch.search.pareto import pareto_front


def _dominated(p, points):
    return any(q[0] >= p[0] and q[1] <= p[1] and (q[0], q[1]) != (p[0], p[1]) for q in points)


@pytest.mark.parametrize("seed", range(20))
def test_the_front_is_exactly_the_non_dominated_points_by_increasing_cost(seed):
    rng = np.random.default_rng(seed)
    # (accuracy, cost, index): few distinct values, so equal accuracies, equal costs and exact duplicates abound
    points = [(float(a), float(c), i) for i, (a, c) in enumerate(rng.integers(0, 5, size=(30, 2)))]
    with_ties = pareto_front(points, lambda p: p[0], lambda p: p[1], ties=True)
    assert with_ties == sorted((p for p in points if not _dominated(p, points)), key=lambda p: (p[1], -p[0]))
    front = pareto_front(points, lambda p: p[0], lambda p: p[1])
    # without ties: one point per (accuracy, cost) on the front, the first given
    firsts = {}
    for p in with_ties:
        firsts.setdefault((p[0], p[1]), p)
    assert front == list(firsts.values())
    assert [p[1] for p in front] == sorted({p[1] for p in front}) and [p[0] for p in front] == sorted(
        {p[0] for p in front})


def test_an_empty_input_has_an_empty_front():
    assert pareto_front([], lambda p: p, lambda p: p) == []
