"""What NARS searches, around the run's space: architecture x training recipe (mode "joint", FBNetV3 sec. 4.2) or
the recipe alone for one fixed architecture (mode "recipe", sec. 4.1); the Sobol pool of stages 1 and 2; the cost
of a point (its architecture part's)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import torch.nn as nn

from archsearch.cost.constraints import Constraint, Cost, satisfied
from archsearch.errors import ConfigError, ConstraintError
from archsearch.methods.nars.config import NARSConfig
from archsearch.ops.drop_path import DropPath
from archsearch.search.predictor_evolution import sobol_pool
from archsearch.space.choices import Categorical
from archsearch.space.space import Arch, Space, product
from archsearch.spaces import (ArchRecipeSpace, DefaultArchSpace, LatencyCostedSpace, SearchSpace, WeightSharingSpace,
                               space_label)
from archsearch.spaces.fbnet import RECIPE_FIELDS, recipe_from_arch, recipe_space
from archsearch.train.recipe import Recipe
from archsearch.train.task import seeded


def check_space(search_space: Any, method: str, config: NARSConfig) -> None:
    """Candidates are built and trained from scratch, so the architecture part needs `build` and `cost`; a plain
    architecture space (mobilenet, a user's) is searched together with the recipe, so its choice names must not
    be recipe fields."""
    arch_space = _architecture_of(search_space)
    if not isinstance(arch_space, SearchSpace):
        raise ConfigError(f"{method} trains candidates from scratch and needs an architecture space with build() "
                          f"and cost() (e.g. fbnet-recipe, fbnet, mobilenet, your own); "
                          f"{space_label(search_space)!r} has none")
    if not isinstance(search_space, ArchRecipeSpace):
        clash = sorted(set(arch_space.space.choices) & set(RECIPE_FIELDS))
        if clash:
            raise ConfigError(f"{method} searches space {arch_space.name!r} together with the training recipe, but "
                              f"its choice(s) {clash} are named like recipe fields; rename them (the LayerChoice / "
                              "InputChoice labels)")
    check_recipe(search_space, method, config)


def _architecture_of(search_space: Any) -> Any:
    """The architecture part of the run's space: a joint architecture-recipe space's (fbnet-recipe), else the
    space itself (fbnet, mobilenet, a user's)."""
    return search_space.architecture if isinstance(search_space, ArchRecipeSpace) else search_space


def check_recipe(search_space: Any, method: str, config: NARSConfig) -> None:
    """`recipe` holds the fields NARS does not search: a searched field set there (``--set "recipe={lr: 1e9}"``)
    would be overridden by every candidate's own value, silently. (`dropout` and `drop_path` are left to the
    run: on a plain space one may not be searched, see `NARSSpace._fit_recipes`.)"""
    searched = list(search_space.recipes.choices) if isinstance(search_space, ArchRecipeSpace) else [
        f for f in RECIPE_FIELDS if f not in ("dropout", "drop_path")]
    given, default = config.recipe.to_dict(), Recipe().to_dict()
    clash = [f for f in searched if given[f] != default[f]]
    if clash:
        shown = ", ".join(f"{f}={given[f]!r}" for f in clash)
        raise ConfigError(f"{method} searches the recipe field(s) {', '.join(clash)}: each candidate trains with its "
                          f"own value, so recipe {shown} would be ignored; set only fields it does not search "
                          "(schedule, batch_size, ema_decay, ...)")


class NARSSpace:
    """The searched space `joint` (the predictor encodes its points, the pool holds them, stage 3 mutates them):
    the run space's architecture choices followed by the recipe's, or in mode "recipe" the recipe's alone.

    `rng(*phase)` is the run's generator factory (the pool and a sampled fixed architecture draw from it); `log`
    tells the user which recipe fields are left out."""

    def __init__(self, run_space: Any, config: NARSConfig, *, preset: str,
                 rng: Callable[..., np.random.Generator], log: Callable[[str], None]) -> None:
        self.config = config
        self.run_space = run_space
        self._rng = rng
        # the run's space: a joint architecture-recipe SearchSpace ("fbnet-recipe", whose points are complete pairs
        # the ledger and `archsearch export` understand) or a plain architecture space (fbnet, mobilenet, ...)
        self.arch_space = _architecture_of(run_space)
        check_space(run_space, "nars", config)
        ema = (True,) if config.mode == "joint" and config.joint_always_ema else (True, False)
        if isinstance(run_space, ArchRecipeSpace):  # the run space's recipe ranges (EMA fixed on for the joint search)
            run_recipes = run_space.recipes
            self.recipes = Space([(n, Categorical(ema) if n == "ema" else c) for n, c in run_recipes.choices.items()],
                                 name=run_recipes.name)
        else:
            self.recipes = self._fit_recipes(recipe_space("paper" if preset == "paper" else "quick", ema=ema), log)
        self.base_recipe = config.recipe
        if config.mode == "joint":
            self.joint: Space = product(self.arch_space.space, self.recipes, name=f"{self.arch_space.name}+recipe")
            self.fixed_arch: Arch | None = None
        else:
            self.joint = self.recipes
            self.fixed_arch = self._fixed_arch()
        self._pool: list[Arch] | None = None
        self._pool_cost: np.ndarray | None = None
        self._cost_cache: dict[Any, Cost] = {}  # arch part's values -> its Cost
        self._arch_names = list(self.arch_space.space.choices)

    def _fit_recipes(self, recipes: Space, log: Callable[[str], None]) -> Space:
        """The recipe fields that act on this space's networks: the trainer sets `dropout` on nn.Dropout modules
        and `drop_path` on DropPath modules only, so on a weight-sharing space whose supernet (every candidate) has
        none, the field would be a dimension that changes nothing, and is dropped. A space without a supernet keeps
        every field (one built network cannot speak for all)."""
        if not isinstance(self.arch_space, WeightSharingSpace):
            return recipes
        with seeded(0):  # only the module types matter; the caller's random stream is left alone
            modules = list(self.arch_space.supernet().modules())
        acted_on = {"dropout": nn.modules.dropout._DropoutNd, "drop_path": DropPath}
        unused = [name for name, kind in acted_on.items()
                  if name in recipes.choices and not any(isinstance(m, kind) for m in modules)]
        if not unused:
            return recipes
        log(f"nars: recipe field(s) {', '.join(unused)} not searched: no network of space "
            f"{self.arch_space.name!r} has a module they act on")
        return Space([(n, c) for n, c in recipes.choices.items() if n not in unused], name=recipes.name)

    def _fixed_arch(self) -> Arch:
        if self.config.arch is not None:
            return self.arch_space.space.validate(self.config.arch)
        if isinstance(self.arch_space, DefaultArchSpace):
            return self.arch_space.default_arch()
        return self.arch_space.space.sample(self._rng("nars", "fixed_arch"))

    def check_fixed_arch(self, constraints: Iterable[Constraint], rng: np.random.Generator) -> None:
        """Recipe-only search cannot change the cost: a constraint (or FLOPs target) the fixed architecture breaks
        is a user error."""
        cost = self.cost(self.recipes.sample(rng))
        macs, params = cost.macs, cost.params
        broken = [str(c) for c in sorted(set(constraints), key=str) if not satisfied((c,), cost)]
        if broken:
            raise ConstraintError(f"nars recipe mode: the fixed architecture ({macs / 1e6:.4g}M MACs, "
                                  f"{params / 1e6:.4g}M params) breaks {', '.join(broken)}; choose another with "
                                  "--set arch=... or drop the constraint")

    # -- points ---------------------------------------------------------------------------------------------------------
    def split(self, point: Arch) -> tuple[Arch, Arch]:
        """(architecture, recipe part) of a point of the searched space."""
        if self.config.mode == "joint":
            values = point.to_dict()  # one pass (`Space.project` looks every name up linearly)
            return (Arch((n, values[n]) for n in self.arch_space.space.choices),
                    Arch((n, values[n]) for n in self.recipes.choices))
        return self.fixed_arch, point  # type: ignore[return-value]

    def full(self, point: Arch) -> Arch:
        """A searched point as a point of the run's space (what the ledger, results, training tasks,
        `archsearch export` and `archsearch compare` hold): the complete architecture-recipe pair in a joint run
        space (fbnet-recipe); in a plain architecture space (mobilenet, a user's) the architecture part, its
        searched recipe going with it as the attribute ``recipe``."""
        arch, recipe = self.split(point)
        if self.run_space is not self.arch_space:
            return self.run_space.space.validate({**arch.to_dict(), **recipe.to_dict()})
        return arch

    def cost(self, point: Arch) -> Cost:
        """Every cost a constraint can bound (MACs, params and, when the run's space carries a latency table, its
        latency), of the point's architecture part, memoised: the one cost every stage checks constraints on."""
        if self.config.mode != "joint":
            key: Any = None  # recipe mode: one fixed architecture
        else:  # the recipe part does not change the cost: children differing only there share an entry
            values = point.to_dict()
            key = tuple(values[n] for n in self._arch_names)
        if key not in self._cost_cache:
            arch = Arch(zip(self._arch_names, key)) if key is not None else self.fixed_arch
            cost = self.arch_space.cost(arch)
            if cost.latency_ms is None and isinstance(self.run_space, LatencyCostedSpace):
                cost = self.run_space.cost(self.full(point))  # a joint run space costs its complete pairs
            self._cost_cache[key] = Cost(int(cost.macs), int(cost.params),
                                         None if cost.latency_ms is None else float(cost.latency_ms))
        return self._cost_cache[key]

    def recipe_of(self, point: Arch) -> Recipe:
        return recipe_from_arch(self.split(point)[1], self.base_recipe)

    # -- the Sobol pool -------------------------------------------------------------------------------------------------
    @property
    def pool(self) -> list[Arch]:
        """The Sobol pool (FBNetV3 sec. 3.2): regenerated from its own seed (never stored in checkpoints)."""
        if self._pool is None:
            self._pool = sobol_pool(self.joint, self.config.pool_size, self._rng("nars", "pool"))
            self._pool_cost = np.array([(c.macs, c.params) for c in map(self.cost, self._pool)], dtype=np.float64)
        return self._pool

    @property
    def pool_costs(self) -> np.ndarray:
        """(MACs, params) of every pool point, one row each (stage 1's free labels)."""
        self.pool  # noqa: B018 (builds the pool)
        return self._pool_cost  # type: ignore[return-value]

    @property
    def pool_flops(self) -> np.ndarray:
        return self.pool_costs[:, 0]


__all__ = ["NARSSpace", "check_space"]
