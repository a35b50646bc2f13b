"""NARS search pieces over `Arch` values (FBNetV3, Dai et al. 2021): the quasi-Monte-Carlo candidate pool, stage 2's
FLOPs-bin selection and early-stop epoch, and stage 3's predictor-based evolution under a resource constraint.

Stage 3 (sec. 3.3 / appendix) is

An adaptive genetic algorithm (Srinivas & Patnaik 1994) over `Arch` values scored by a cheap function (the NARS
accuracy predictor): the first generation holds the best candidates measured so far plus random ones (100 = 50 + 50),
each generation mutates every parent into 24 children *within the constraints*, scores them, and keeps the top 40
(elitist: parents compete with their children); it stops when the best score stops improving. Every one of the 100
initial candidates has children (2,400 in the first generation); the cut to 40 comes after. Pure: no training;
randomness only from the `np.random.Generator` passed in. CPU seconds per search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from archsearch.errors import ConfigError, ConstraintError, unknown_name
from archsearch.space.space import Arch, Space

Scorer = Callable[[Sequence[Arch]], np.ndarray]
Feasible = Callable[[Arch], bool]


# ---------------------------------------------------------------------------------------------------------------
# Stage 2 pieces
# ---------------------------------------------------------------------------------------------------------------
def sobol_pool(space: Space, size: int, rng: np.random.Generator, *, where: Feasible | None = None,
               max_draws: int | None = None) -> list[Arch]:
    """`size` distinct archs from a scrambled Sobol sequence over the unit cube (one coordinate per choice), mapped
    by `Space.from_unit` (FBNetV3 sec. 3.2: "a pool of candidates drawn by quasi Monte-Carlo sampling"); points
    failing the space's constraints or `where` are skipped. Sobol points fill the cube far more evenly than
    uniform draws, so a small pool already covers every value of every choice."""
    from scipy.stats import qmc

    if size < 1:
        raise ConfigError(f"pool size must be >= 1, got {size}")
    seed = int(rng.integers(2**63 - 1))
    sampler = qmc.Sobol(d=len(space), scramble=True, seed=np.random.default_rng(seed))
    pool: dict[Arch, None] = {}
    draws, limit = 0, max_draws or 50 * size
    while len(pool) < size and draws < limit:
        n = 1 << max(1, int(np.ceil(np.log2(max(2, size - len(pool))))))  # Sobol is balanced at powers of 2
        for point in sampler.random(n):
            draws += 1
            arch = space.from_unit(point)
            if arch in pool or not space.is_valid(arch) or (where is not None and not where(arch)):
                continue
            pool[arch] = None
            if len(pool) == size:
                break
    if len(pool) < size:
        raise ConstraintError(f"Sobol pool: only {len(pool)} distinct valid archs in {draws} draws (asked {size}); "
                              "the space is too small or the constraints too tight")
    return list(pool)


def select_by_flops_bins(flops: np.ndarray, predicted: np.ndarray, m: int, *, low: float | None = None,
                         high: float | None = None, exclude: Sequence[int] = ()) -> list[int]:
    """Indices of the best-predicted candidate in each of `m` equal-width FLOPs bins over [low, high] (FBNetV3
    sec. 3.2: "split the FLOPs range into m bins"). Candidates outside the range or in `exclude` never count;
    empty bins are filled with the best-predicted remaining candidates in range (interpretation), so `m` are
    returned while that many exist. Ties go to the lower index."""
    flops, predicted = np.asarray(flops, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    low = float(flops.min()) if low is None else float(low)
    high = float(flops.max()) if high is None else float(high)
    if m < 1 or high < low:
        raise ConfigError(f"FLOPs-bin selection needs m >= 1 and low <= high, got m={m}, [{low}, {high}]")
    allowed = (flops >= low) & (flops <= high)
    allowed[list(exclude)] = False
    edges = np.linspace(low, high, m + 1)
    bins = np.clip(np.searchsorted(edges, flops, side="right") - 1, 0, m - 1)
    chosen: list[int] = []
    for b in range(m):
        members = np.flatnonzero(allowed & (bins == b))
        if len(members):
            chosen.append(int(members[np.argmax(predicted[members])]))
    if len(chosen) < m:
        rest = np.flatnonzero(allowed)
        rest = rest[~np.isin(rest, chosen)]
        rest = rest[np.argsort(-predicted[rest], kind="stable")]
        chosen.extend(int(i) for i in rest[:m - len(chosen)])
    return chosen


RANK_CORRELATIONS = ("kendall", "spearman")


def rank_correlation(a: np.ndarray, b: np.ndarray, kind: str = "kendall") -> float:
    from scipy import stats

    if kind not in RANK_CORRELATIONS:
        raise unknown_name("rank correlation", kind, RANK_CORRELATIONS)
    fn = stats.kendalltau if kind == "kendall" else stats.spearmanr
    value = fn(a, b)[0]
    return float(value) if np.isfinite(value) else 0.0


def correlation_per_epoch(curves: np.ndarray, kind: str = "kendall") -> np.ndarray:
    """Rank correlation of each epoch's accuracies with the final epoch's, over candidates (rows)."""
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[0] < 2:
        raise ConfigError("early stopping needs per-epoch curves of at least two candidates")
    final = curves[:, -1]
    return np.array([rank_correlation(curves[:, e], final, kind) for e in range(curves.shape[1])])


def early_stop_epoch(curves: np.ndarray, threshold: float = 0.92, kind: str = "kendall") -> int:
    """FBNetV3 sec. 3.2: the smallest epoch e (1-based) whose ranking of the candidates has rank correlation >=
    `threshold` with the final ranking (the last epoch always qualifies: correlation 1)."""
    correlations = correlation_per_epoch(curves, kind)
    return int(np.flatnonzero(correlations >= threshold - 1e-12)[0]) + 1


# ---------------------------------------------------------------------------------------------------------------
# Stage 3: predictor-based evolution
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PredictorEvolutionConfig:
    population: int = 100  # FBNetV3 appendix: initial generation of 100 ...
    from_history: int = 50  # ... = 50 best candidates of constrained iterative optimisation + 50 random
    children_per_parent: int = 24  # FBNetV3 appendix: 24 children per candidate (all 100 initial ones: 2,400)
    keep: int = 40  # FBNetV3 appendix: top 40 of parents + children go to the next generation
    patience: int = 3  # "terminate when the improvement saturates" (interpretation: 3 generations without gain)
    tolerance: float = 1e-4  # a gain of the best score above this counts as improvement (accuracy fraction)
    max_generations: int = 100  # a safety cap (interpretation)
    max_extra_mutations: float = 2.0  # adaptive mutation: weakest parents change ~1 + 2 choices, the best one 1
    adaptive_k: float = 0.5  # Srinivas & Patnaik 1994: k2 = k4 = 0.5
    max_tries: int = 30  # redraws of a child until it is feasible and new

    def __post_init__(self) -> None:
        if min(self.population, self.children_per_parent, self.keep, self.patience, self.max_generations,
               self.max_tries) < 1 or self.from_history < 0:
            raise ConfigError("evolution sizes must be >= 1 (from_history >= 0)")


@dataclass
class EvolutionResult:
    best: Arch
    best_score: float
    population: list[Arch]  # the final parents, best first
    scores: np.ndarray
    best_per_generation: list[float] = field(default_factory=list)  # generation 0 = the initial population
    scored: int = 0  # how many archs the scorer saw
    rejected: int = 0  # children that could not be made feasible within max_tries


def initial_population(space: Space, history: Sequence[Arch], feasible: Feasible, rng: np.random.Generator,
                       config: PredictorEvolutionConfig) -> list[Arch]:
    """`from_history` best feasible archs of `history` (ordered best first) + random feasible archs up to
    `population` (more random ones when the history has fewer feasible archs)."""
    chosen: list[Arch] = []
    seen: set[Arch] = set()
    for arch in history:
        if len(chosen) >= config.from_history:
            break
        if arch not in seen and feasible(arch):
            chosen.append(arch)
            seen.add(arch)
    misses = 0
    while len(chosen) < config.population:
        arch = space.sample(rng, where=feasible)
        if arch in seen:
            misses += 1
            if misses > 10 * config.population:  # a tiny feasible region: go with what we have
                break
            continue
        chosen.append(arch)
        seen.add(arch)
    return chosen


def mutation_counts(scores: np.ndarray, n_mutable: int, rng: np.random.Generator,
                    config: PredictorEvolutionConfig) -> np.ndarray:
    """Per parent, how many choices a child changes: ``1 + Binomial(n - 1, q)``, with q from the adaptive mutation
    probability of Srinivas & Patnaik (p = k (f_max - f) / (f_max - f_avg) above the mean, k below it): good parents
    are perturbed gently, weak ones explore."""
    f_max, f_avg = float(scores.max()), float(scores.mean())
    spread = f_max - f_avg
    if spread > 0:
        p = np.where(scores >= f_avg, config.adaptive_k * (f_max - scores) / spread, config.adaptive_k)
    else:
        p = np.full(len(scores), config.adaptive_k)
    if n_mutable <= 1:
        return np.ones(len(scores), dtype=np.int64)
    q = np.clip(p / config.adaptive_k * config.max_extra_mutations / (n_mutable - 1), 0.0, 1.0)
    return 1 + rng.binomial(n_mutable - 1, q)


def evolve(space: Space, score: Scorer, feasible: Feasible, initial: Sequence[Arch], rng: np.random.Generator,
           config: PredictorEvolutionConfig | None = None,
           on_generation: Callable[[int, float, int], None] | None = None) -> EvolutionResult:
    """Run the genetic search from `initial`; `on_generation(generation, best_score, population_size)`.

    Generation 0 is the whole initial population (best first): every initial candidate is a parent of the first
    generation's children; only then are the top `keep` of parents + children kept."""
    config = config or PredictorEvolutionConfig()
    population = [a for a in dict.fromkeys(initial) if feasible(a)]
    if not population:
        raise ConstraintError("predictor evolution: no feasible architecture in the initial population")
    scores = np.asarray(score(population), dtype=np.float64)
    scored = len(population)
    seen: set[Arch] = set(population)
    order = np.argsort(-scores, kind="stable")
    parents, parent_scores = [population[i] for i in order], scores[order]
    history = [float(parent_scores[0])]
    if on_generation is not None:
        on_generation(0, history[-1], len(parents))
    n_mutable = sum(1 for c in space.choices.values() if c.cardinality > 1)
    if n_mutable == 0:
        return EvolutionResult(parents[0], history[0], parents[:config.keep], parent_scores[:config.keep], history,
                               scored)
    stalled, rejected = 0, 0
    for generation in range(1, config.max_generations + 1):
        counts = mutation_counts(parent_scores, n_mutable, rng, config)
        children: list[Arch] = []
        for parent, count in zip(parents, counts):
            for _ in range(config.children_per_parent):
                for _ in range(config.max_tries):
                    child = space.mutate(parent, rng, int(count))
                    if child not in seen and space.is_valid(child) and feasible(child):
                        seen.add(child)
                        children.append(child)
                        break
                else:
                    rejected += 1
        child_scores = np.asarray(score(children), dtype=np.float64) if children else np.empty(0)
        scored += len(children)
        pool = parents + children
        pool_scores = np.concatenate([parent_scores, child_scores])
        order = np.argsort(-pool_scores, kind="stable")[:config.keep]  # elitist: parents compete with children
        parents, parent_scores = [pool[i] for i in order], pool_scores[order]
        best = float(parent_scores[0])
        stalled = stalled + 1 if best - history[-1] <= config.tolerance else 0
        history.append(best)
        if on_generation is not None:
            on_generation(generation, best, len(parents))
        if stalled >= config.patience or not children:
            break
    return EvolutionResult(parents[0], float(parent_scores[0]), parents, parent_scores, history, scored, rejected)


__all__ = ["EvolutionResult", "PredictorEvolutionConfig", "RANK_CORRELATIONS", "correlation_per_epoch",
           "early_stop_epoch", "evolve", "initial_population", "mutation_counts", "rank_correlation",
           "select_by_flops_bins", "sobol_pool"]
