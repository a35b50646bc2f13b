"""GreedyNAS' candidate pool, its exploration schedule and the pool-based early stop (You et al. 2020, sec. 3.3-3.4).

The pool is "a fixed-size ordered queue" holding the best n paths evaluated so far, ordered by their score (the loss
on a small-validation batch: lower is better). It serves three purposes in the paper: paths are re-sampled from it
with probability eps (exploitation), its stability over time decides when supernet training can stop, and its top
seeds the NSGA-II population of the search.

Pure Python + numpy: the pool never sees a network, only `Arch` values and their scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from archsearch.errors import ConfigError, unknown_name
from archsearch.space.space import Arch, Space


@dataclass(frozen=True)
class PoolEntry:
    arch: Arch
    score: float  # lower is better (a loss)
    order: int  # insertion counter: breaks score ties deterministically (earlier first)


class CandidatePool:
    """The best `capacity` paths seen so far, ordered by score (ascending loss).

    `push(arch, score)` inserts a new path when the pool has room or when it beats the worst entry (which is then
    evicted); a path already in the pool gets its score *refreshed* to the new value (the supernet's weights have
    moved since it was last scored, so the old score is stale), whether the new value is better or worse.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ConfigError(f"candidate pool size must be >= 1, got {capacity}")
        self.capacity = capacity
        self._entries: dict[str, PoolEntry] = {}  # arch.key -> entry
        self._counter = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, arch: object) -> bool:
        return isinstance(arch, Arch) and arch.key in self._entries

    def push(self, arch: Arch, score: float) -> bool:
        """Offer a scored path; returns whether it is in the pool afterwards."""
        score = float(score)
        if math.isnan(score):
            score = math.inf  # a diverged path ranks last
        key = arch.key
        old = self._entries.get(key)
        if old is not None:
            self._entries[key] = PoolEntry(old.arch, score, old.order)
            return True
        if len(self._entries) >= self.capacity:
            worst = self._worst()
            if (score, self._counter) >= (worst.score, worst.order):
                return False
            del self._entries[worst.arch.key]
        self._entries[key] = PoolEntry(arch, score, self._counter)
        self._counter += 1
        return True

    def push_many(self, scored: Iterable[tuple[Arch, float]]) -> None:
        for arch, score in scored:
            self.push(arch, score)

    def entries(self) -> list[PoolEntry]:
        """All entries, best (lowest score) first."""
        return sorted(self._entries.values(), key=lambda e: (e.score, e.order))

    def top(self, n: int) -> list[Arch]:
        return [e.arch for e in self.entries()[:n]]

    def keys(self) -> frozenset[str]:
        return frozenset(self._entries)

    def ranking(self) -> list[str]:
        """Keys of the entries, best first (what the order-sensitive difference compares)."""
        return [e.arch.key for e in self.entries()]

    def mean_score(self) -> float:
        finite = [e.score for e in self._entries.values() if math.isfinite(e.score)]
        return float(np.mean(finite)) if finite else math.nan

    def sample(self, rng: np.random.Generator) -> Arch:
        """A path drawn uniformly from the pool (GreedyNAS eq. 5: a ~ U(P) with probability eps)."""
        if not self._entries:
            raise ConfigError("cannot sample from an empty candidate pool")
        entries = self.entries()  # a deterministic order, so a seed fixes the draw
        return entries[int(rng.integers(len(entries)))].arch

    def _worst(self) -> PoolEntry:
        return max(self._entries.values(), key=lambda e: (e.score, e.order))

    # -- state (plain data, for checkpoints) ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "counter": self._counter,
            "entries": [{"arch": e.arch.to_dict(), "score": e.score, "order": e.order} for e in self.entries()],
        }

    def load_state_dict(self, state: dict[str, Any], space: Space | None = None) -> None:
        """Restore from `state_dict`; with `space` the archs are validated (and canonicalised) against it."""
        self.capacity = int(state["capacity"])
        self._counter = int(state["counter"])
        self._entries = {}
        for item in state["entries"]:
            arch = space.validate(item["arch"]) if space is not None else Arch(item["arch"])
            self._entries[arch.key] = PoolEntry(arch, float(item["score"]), int(item["order"]))


def linear_eps(iteration: int, total_iterations: int, *, start: float = 0.0, end: float = 0.8) -> float:
    """GreedyNAS sec. 3.3: the probability of sampling from the pool grows linearly from `start` (0: the pool is
    still untrustworthy) to `end` (0.8, the paper's best) over training; iteration 0 gives `start`, the last
    iteration (``total_iterations - 1``) gives `end`."""
    if total_iterations <= 1:
        return end
    fraction = min(max(iteration / (total_iterations - 1), 0.0), 1.0)
    return start + (end - start) * fraction


# -- pool difference for the early stop -----------------------------------------------------------------------------
POOL_DIFFERENCES = ("membership", "rank")


def pool_difference(current: Sequence[str], earlier: Sequence[str], metric: str = "membership") -> float:
    """How much the pool changed between two snapshots (lists of arch keys, best first).

    Our interpretation of GreedyNAS' pool difference (sec. 3.4; the paper stops when it falls below 0.08):

    * ``"membership"`` (default): the fraction of paths in the current pool that were not in the earlier one,
      ``|P \\ P_t| / |P|``: paths entering (and hence others leaving) the pool.
    * ``"rank"``: the fraction of pool positions whose path changed, so re-ordering also counts (the early stop is also
      described as firing when the pool sees few "order changes and entries/exits"; docs/methods/greedynas.md).

    An empty current pool counts as fully changed (1.0).
    """
    if metric not in POOL_DIFFERENCES:
        raise unknown_name("pool difference", metric, POOL_DIFFERENCES)
    if not current:
        return 1.0
    if metric == "membership":
        earlier_set = set(earlier)
        return sum(1 for key in current if key not in earlier_set) / len(current)
    changed = sum(1 for i, key in enumerate(current) if i >= len(earlier) or earlier[i] != key)
    return changed / len(current)


class PoolEarlyStop:
    """Every `every` iterations compare the pool with its snapshot from `every` iterations earlier; stop once the
    difference is below `threshold` (GreedyNAS sec. 3.4: 0.08). Only a full pool can trigger the stop (a filling
    pool changes by construction, and comparing partial pools would fire on noise)."""

    def __init__(self, every: int, threshold: float = 0.08, metric: str = "membership") -> None:
        if every < 1:
            raise ConfigError(f"early-stop interval must be >= 1 iteration, got {every}")
        if metric not in POOL_DIFFERENCES:
            raise unknown_name("pool difference", metric, POOL_DIFFERENCES)
        self.every = every
        self.threshold = threshold
        self.metric = metric
        self.snapshot: list[str] | None = None  # ranking at the last check
        self.history: list[tuple[int, float]] = []  # (iteration, difference) at each check
        self.fired_at: int | None = None

    def update(self, iteration: int, pool: CandidatePool) -> float | None:
        """Call after iteration `iteration` (1-based count of completed iterations). Returns the difference when
        a check happened, else None. Sets `fired_at` the first time the difference falls below the threshold."""
        if iteration % self.every != 0:
            return None
        ranking = pool.ranking()
        difference = None
        if self.snapshot is not None and len(pool) >= pool.capacity:
            difference = pool_difference(ranking, self.snapshot, self.metric)
            self.history.append((iteration, difference))
            if self.fired_at is None and difference < self.threshold:
                self.fired_at = iteration
        self.snapshot = ranking
        return difference

    @property
    def fired(self) -> bool:
        return self.fired_at is not None

    def state_dict(self) -> dict[str, Any]:
        return {"snapshot": None if self.snapshot is None else list(self.snapshot),
                "history": [[int(i), float(d)] for i, d in self.history],
                "fired_at": self.fired_at}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.snapshot = None if state["snapshot"] is None else list(state["snapshot"])
        self.history = [(int(i), float(d)) for i, d in state["history"]]
        self.fired_at = None if state["fired_at"] is None else int(state["fired_at"])


__all__ = ["CandidatePool", "POOL_DIFFERENCES", "PoolEarlyStop", "PoolEntry", "linear_eps", "pool_difference"]
