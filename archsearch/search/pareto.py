"""The Pareto front over (accuracy up, cost down), for every method, search engine and report alike."""

from __future__ import annotations

import math
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def pareto_front(items: Iterable[T], accuracy: Callable[[T], float], cost: Callable[[T], float], *,
                 ties: bool = False) -> list[T]:
    """The items no other item beats on both accuracy (higher) and cost (lower), by increasing cost (so by
    increasing accuracy too). A sweep by increasing cost: an item is on the front iff it beats every cheaper one.

    Of items equal on both, the first in the given order stands for all of them; with `ties` every one is kept
    (non-dominated in the strict sense, as NSGA-II ranks).
    """
    ordered = sorted(items, key=lambda item: (cost(item), -accuracy(item)))
    front: list[T] = []
    best = -math.inf
    for item in ordered:
        value = accuracy(item)
        if value > best:
            front.append(item)
            best = value
        elif ties and front and value == best and cost(item) == cost(front[-1]):
            front.append(item)
    return front


__all__ = ["pareto_front"]
