"""Stage 3 of NARS, predictor-based evolution (FBNetV3 sec. 3.3 / appendix) under every resource constraint at once
(eq. 1); with `flops_family`, one search per FLOPs target, each also under every constraint (sec. 4.3: FBNetV3-B..E
from one predictor). 100 initial = 50 best of stage 2 + 50 random, every one a parent; 24 children per parent within
the constraints; keep the top 40 of parents + children; stop when the best predicted score saturates."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Sequence

import numpy as np

from archsearch.cost.constraints import Constraint, cost_predicate
from archsearch.errors import ConstraintError
from archsearch.methods.context import RunContext
from archsearch.methods.nars.config import NARSConfig
from archsearch.methods.nars.space import NARSSpace
from archsearch.predictors.nars import NARSPredictor
from archsearch.search.predictor_evolution import PredictorEvolutionConfig, evolve, initial_population
from archsearch.space.space import Arch


class PredictorEvolution:
    """Stage 3; `found` holds one entry per finished search (constraint, arch, predicted accuracy, costs, ...)."""

    def __init__(self, space: NARSSpace, predictor: NARSPredictor, config: NARSConfig, ctx: RunContext,
                 constraints: Sequence[Constraint]) -> None:
        self.space, self.predictor, self.config, self.ctx = space, predictor, config, ctx
        self.constraints = tuple(constraints)
        self.found: list[dict[str, Any]] = []

    def searches(self) -> list[tuple[Constraint, ...]]:
        """The constraints of each search: all of the run's at once (FBNetV3 eq. 1), plus, with `flops_family`,
        one FLOPs target per search (smallest first)."""
        family = self.config.flops_family
        if not family:
            return [self.constraints]
        return [self.constraints + (Constraint("flops", "<=", float(target)),) for target in family]

    def _feasible(self, constraints: tuple[Constraint, ...]) -> Callable[[Arch], bool]:
        return cost_predicate(constraints, self.space.cost)  # latency<= too, from the run's table

    def search(self, index: int, history: Sequence[Arch]) -> None:
        """Search number `index` of `searches()`, its first generation drawn from `history` (stage 2's trained
        candidates, best first)."""
        cfg, ctx, space = self.config, self.ctx, self.space
        constraints = self.searches()[index]
        described = ", ".join(str(c) for c in constraints) or "none"
        feasible = self._feasible(constraints)
        if space.fixed_arch is not None and not feasible(space.pool[0]):
            raise ConstraintError(f"nars recipe mode: the fixed architecture breaks {described}")
        evolution = PredictorEvolutionConfig(population=cfg.population, from_history=cfg.from_history,
                                             children_per_parent=cfg.children_per_parent, keep=cfg.keep,
                                             patience=cfg.patience, max_generations=cfg.max_generations)
        rng = ctx.rng("nars", "stage3", index)
        start = time.perf_counter()
        initial = initial_population(space.joint, list(history), feasible, rng, evolution)

        def score(points: Sequence[Arch]) -> np.ndarray:
            return self.predictor.predict(space.joint.encode_many(list(points)))

        def on_generation(generation: int, best: float, size: int) -> None:
            ctx.log_metrics(f"evolution_{index}", generation, best_predicted=best, population=float(size))

        result = evolve(space.joint, score, feasible, initial, rng, evolution, on_generation)
        cost = space.cost(result.best)
        macs, params = cost.macs, cost.params
        self.found.append({"constraint": described, "arch": result.best.to_json(),
                           "predicted": result.best_score, "macs": macs, "params": params,
                           **({} if cost.latency_ms is None else {"latency_ms": cost.latency_ms}),
                           "generations": len(result.best_per_generation) - 1, "scored": result.scored,
                           "seconds": time.perf_counter() - start, "history": result.best_per_generation})
        ctx.log(f"nars stage 3 [{self.found[-1]['constraint']}]: predicted {result.best_score:.4f}, "
                f"{macs / 1e6:.3g}M MACs, {len(result.best_per_generation) - 1} generations, "
                f"{self.found[-1]['seconds']:.1f} s")

    def state_dict(self) -> dict[str, Any]:
        return {"found": json.dumps(self.found)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.found = json.loads(state["found"])


__all__ = ["PredictorEvolution"]
