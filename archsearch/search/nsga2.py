"""NSGA-II (Deb et al. 2002, via pymoo) over a space's categorical choices, for (accuracy max, cost min).

GreedyNAS (sec. 3.4) searches the trained supernet with NSGA-II and initialises the population from the candidate
pool. This engine is pure search: it knows nothing of supernets. Every accuracy it needs comes from the `evaluate`
callback (the method scores the arch on its supernet and records it in the ledger); costs come from the analytic
`cost` callback. An arch breaking a constraint is never sent to `evaluate`: pymoo's constraint domination ranks it
by its violation alone.

Encoding: one integer variable per choice, the index of its value (categorical choices, or the grid of a numeric
choice with a step). Variation is uniform crossover plus a mutation that redraws each variable with probability
1/n_var to a *different* value (indices carry no order, so SBX/polynomial mutation would be meaningless here).

Randomness: one `np.random.Generator`, handed to pymoo as its random state; `state_dict()` holds the population
(with its ranks and crowding distances, which selection reads) and that generator's state, so a search resumed
after any generation continues exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.mutation import Mutation
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.core.termination import NoTermination
from pymoo.operators.crossover.ux import UniformCrossover

from archsearch.errors import ConfigError
from archsearch.search.pareto import pareto_front
from archsearch.space.choices import Categorical, Numeric
from archsearch.space.space import Arch, Space

EvaluateFn = Callable[[Arch], float]  # arch -> accuracy in [0, 1] (higher is better)
CostFn = Callable[[Arch], float]  # arch -> the cost objective (minimised): MACs, params or latency
ViolationFn = Callable[[Arch], float]  # arch -> constraint violation (<= 0 when every constraint holds)


@dataclass(frozen=True)
class Scored:
    """One arch NSGA-II looked at and scored: accuracy is None when it broke a constraint (never evaluated)."""

    arch: Arch
    accuracy: float | None
    cost: float
    violation: float
    generation: int

    @property
    def feasible(self) -> bool:
        return self.violation <= 0


def choice_values(space: Space) -> list[tuple]:
    """The value list each integer variable indexes into, per choice of `space`."""
    values = []
    for name, choice in space.choices.items():
        if isinstance(choice, Categorical):
            values.append(tuple(choice.values))
        elif isinstance(choice, Numeric) and choice.grid is not None:
            values.append(tuple(choice.grid))
        else:
            raise ConfigError(f"NSGA-II needs discrete choices; {name!r} is a continuous range "
                              f"({choice.allowed()}): give it a step")
    return values


class ArchNSGA2:
    """NSGA-II over `space` with ask/tell under our control: `run()` does the remaining generations, calling
    `on_generation(self)` after each (methods checkpoint there).

    Generation 0 is the initial population: `initial` archs first (GreedyNAS: the top of the candidate pool),
    then random archs satisfying the constraints (`feasible`) until `pop_size`. Then `generations` generations of
    `pop_size` offspring each.
    """

    def __init__(self, space: Space, *, evaluate: EvaluateFn, cost: CostFn, rng: np.random.Generator,
                 pop_size: int, generations: int, initial: Sequence[Arch] = (),
                 violation: ViolationFn | None = None, crossover_prob: float = 0.9,
                 mutation_prob_var: float | None = None) -> None:
        if pop_size < 2:
            raise ConfigError(f"NSGA-II population size must be >= 2, got {pop_size}")
        if generations < 0:
            raise ConfigError(f"NSGA-II generations must be >= 0, got {generations}")
        self.space = space
        self.values = choice_values(space)
        self.evaluate_fn = evaluate
        self.cost_fn = cost
        self.violation_fn = violation
        self.rng = rng
        self.pop_size = pop_size
        self.generations = generations
        self.crossover_prob = crossover_prob
        self.mutation_prob_var = mutation_prob_var
        self.generation = 0  # generations completed (0 = not even the initial population)
        self.evaluated: dict[str, Scored] = {}  # arch.key -> record, in evaluation order
        self._initial_archs = self._initial_population(list(initial))
        self._algorithm = self._make_algorithm()
        self._initialised = False

    # -- encoding -------------------------------------------------------------------------------------------------
    def encode(self, arch: Arch) -> np.ndarray:
        return np.array([vals.index(arch[name]) for name, vals in zip(self.space.choices, self.values)], dtype=int)

    def decode(self, x: Sequence[float]) -> Arch:
        return Arch((name, vals[int(round(float(v)))]) for name, vals, v in zip(self.space.choices, self.values, x))

    # -- running --------------------------------------------------------------------------------------------------
    @property
    def first_population(self) -> list[Arch]:
        """The archs of generation 0, in order (pool archs first)."""
        return list(self._initial_archs)

    def run(self, on_generation: Callable[["ArchNSGA2"], None] | None = None) -> list[Scored]:
        """Run until `generations` generations after the initial population are done; returns the Pareto front."""
        while self.generation <= self.generations:
            self.step()
            if on_generation is not None:
                on_generation(self)
        return self.pareto_front()

    def step(self) -> None:
        """One generation (the first call evaluates the initial population)."""
        algorithm = self._algorithm
        if not self._initialised:
            self._setup()
        algorithm.next()
        self.generation += 1

    def population(self) -> list[Arch]:
        pop = self._algorithm.pop
        return [] if pop is None else [self.decode(x) for x in pop.get("X")]

    def pareto_front(self) -> list[Scored]:
        """Non-dominated feasible archs among everything evaluated (max accuracy, min cost), by cost."""
        feasible = [e for e in self.evaluated.values() if e.feasible and e.accuracy is not None]
        return pareto_front(feasible, lambda e: e.accuracy, lambda e: e.cost, ties=True)

    # -- state ----------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        pop = self._algorithm.pop if self._initialised else None
        population = None
        if pop is not None and len(pop):
            population = {key: np.asarray(pop.get(key), dtype=float).tolist()
                          for key in ("X", "F", "G", "rank", "crowding")}
        return {
            "generation": self.generation,
            "initial": [a.to_dict() for a in self._initial_archs],
            "population": population,
            "rng": self.rng.bit_generator.state,
            "evaluated": [{"arch": e.arch.to_dict(), "accuracy": e.accuracy, "cost": e.cost,
                           "violation": e.violation, "generation": e.generation} for e in self.evaluated.values()],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generation = int(state["generation"])
        self._initial_archs = [self.space.validate(a) for a in state["initial"]]
        self.rng.bit_generator.state = state["rng"]
        self.evaluated = {}
        for item in state["evaluated"]:
            arch = self.space.validate(item["arch"])
            self.evaluated[arch.key] = Scored(arch, item["accuracy"], float(item["cost"]),
                                                 float(item["violation"]), int(item["generation"]))
        self._algorithm = self._make_algorithm()
        self._initialised = False
        if state["population"] is not None:
            self._setup()
            saved = state["population"]
            n_constr = self._problem.n_ieq_constr
            pop = Population.new(
                X=np.asarray(saved["X"], dtype=float),
                F=np.asarray(saved["F"], dtype=float),
                G=np.asarray(saved["G"], dtype=float).reshape(len(saved["X"]), n_constr),
                rank=np.asarray(saved["rank"], dtype=float).astype(int),
                crowding=np.asarray(saved["crowding"], dtype=float),
            )
            algorithm = self._algorithm
            algorithm._initialize()
            algorithm.pop = pop
            algorithm.is_initialized = True
            algorithm.n_iter = self.generation + 1
            algorithm.random_state = self.rng

    # -- internals ------------------------------------------------------------------------------------------------
    def _initial_population(self, initial: list[Arch]) -> list[Arch]:
        archs: dict[str, Arch] = {}
        for arch in initial:
            if len(archs) >= self.pop_size:
                break
            archs.setdefault(arch.key, self.space.validate(arch))
        feasible = None if self.violation_fn is None else (lambda a: self.violation_fn(a) <= 0)
        tries = 0
        while len(archs) < self.pop_size:
            arch = self.space.sample(self.rng, where=feasible)
            archs.setdefault(arch.key, arch)
            tries += 1
            if tries > 100 * self.pop_size:
                break  # a tiny space: fewer distinct archs than the population size
        return list(archs.values())

    def _make_algorithm(self) -> NSGA2:
        self._problem = _ArchProblem(self)
        sampling = np.stack([self.encode(a) for a in self._initial_archs]).astype(float)
        return NSGA2(pop_size=self.pop_size, sampling=sampling, crossover=UniformCrossover(prob=self.crossover_prob),
                     mutation=_RedrawMutation(self.values, self.mutation_prob_var), eliminate_duplicates=True)

    def _setup(self) -> None:
        self._algorithm.setup(self._problem, termination=NoTermination(), verbose=False)
        self._algorithm.random_state = self.rng  # our generator, not one pymoo seeds itself
        self._initialised = True

    def _evaluate_rows(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        F = np.zeros((len(X), 2))
        G = np.zeros((len(X), self._problem.n_ieq_constr))
        for i, x in enumerate(X):
            arch = self.decode(x)
            record = self.evaluated.get(arch.key)
            if record is None:
                violation = float(self.violation_fn(arch)) if self.violation_fn is not None else 0.0
                cost = float(self.cost_fn(arch))
                accuracy = float(self.evaluate_fn(arch)) if violation <= 0 else None
                record = Scored(arch, accuracy, cost, violation, self.generation)
                self.evaluated[arch.key] = record
            accuracy = record.accuracy if record.accuracy is not None and math.isfinite(record.accuracy) else 0.0
            F[i] = (-accuracy, record.cost)
            if G.shape[1]:
                G[i, 0] = record.violation
        return F, G


class _ArchProblem(Problem):
    """pymoo's view of the search: integer variables, two objectives, one aggregated constraint (if any)."""

    def __init__(self, engine: ArchNSGA2) -> None:
        upper = np.array([len(v) - 1 for v in engine.values])
        super().__init__(n_var=len(upper), n_obj=2, n_ieq_constr=1 if engine.violation_fn is not None else 0,
                         xl=np.zeros(len(upper)), xu=upper, vtype=int)
        self.engine = engine

    def _evaluate(self, X, out, *args, **kwargs):
        out["F"], G = self.engine._evaluate_rows(np.asarray(X))
        if G.shape[1]:
            out["G"] = G


class _RedrawMutation(Mutation):
    """Each variable, with probability `prob_var` (default 1/n_var), moves to a different value of its choice."""

    def __init__(self, values: list[tuple], prob_var: float | None = None) -> None:
        super().__init__(prob=1.0, prob_var=prob_var)
        self.cardinalities = np.array([len(v) for v in values])

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        X = np.round(np.asarray(X, dtype=float)).astype(int)
        prob_var = self.get_prob_var(problem, size=len(X))
        prob_var = np.broadcast_to(np.asarray(prob_var, dtype=float).reshape(-1, 1), X.shape)
        redraw = (random_state.random(X.shape) < prob_var) & (self.cardinalities > 1)
        rows, cols = np.nonzero(redraw)
        shift = random_state.integers(1, np.maximum(self.cardinalities[cols], 2))
        X[rows, cols] = (X[rows, cols] + shift) % self.cardinalities[cols]
        return X.astype(float)


__all__ = ["ArchNSGA2", "Scored", "choice_values"]
