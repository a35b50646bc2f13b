"""Cost model: MACs and params from per-choice tables (no model built), constraints, latency lookup tables."""

from archsearch.cost.constraints import (Constraint, Cost, cost_predicate, parse_constraint, parse_constraints,
                                         satisfied)

__all__ = ["Constraint", "Cost", "cost_predicate", "parse_constraint", "parse_constraints", "satisfied"]
