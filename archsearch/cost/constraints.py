"""Resource constraints written as strings: ``flops<=300M``, ``params<=2M``, ``latency<=5ms``.

FLOPs here are multiply-adds (MACs), the convention of the NAS papers (MobileNetV2's "300M FLOPs" is 300M MACs).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from archsearch.errors import ConstraintError, unknown_name

METRICS = {"flops": "macs", "macs": "macs", "params": "params", "latency": "latency_ms"}
_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
_TIME = {"ms": 1.0, "us": 1e-3, "s": 1e3}
_PATTERN = re.compile(r"^\s*([a-zA-Z_]+)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class Cost:
    """What an arch costs: `macs` = multiply-adds (papers' "FLOPs"), `params`, optional `latency_ms` from a LUT."""

    macs: int
    params: int
    latency_ms: float | None = None

    def metric(self, name: str) -> float:
        field = METRICS.get(name)
        if field is None:
            raise unknown_name("cost metric", name, METRICS)
        value = getattr(self, field)
        if value is None:
            raise ConstraintError(f"no {name} known for this arch (build a latency table: archsearch latency build)")
        return float(value)


@dataclass(frozen=True)
class Constraint:
    metric: str  # "flops" | "params" | "latency"
    op: str  # "<=", "<", ">=", ">"
    bound: float  # in base units: MACs, parameters, milliseconds

    def satisfied(self, cost: Cost) -> bool:
        return self.satisfied_by(cost.metric(self.metric))

    def satisfied_by(self, value: float) -> bool:
        """Whether `value`, in this constraint's base unit (MACs, parameters, ms), meets it."""
        return {
            "<=": value <= self.bound,
            "<": value < self.bound,
            ">=": value >= self.bound,
            ">": value > self.bound,
        }[self.op]

    def __str__(self) -> str:
        if self.metric == "latency":
            return f"latency{self.op}{self.bound:g}ms"
        for suffix, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
            if self.bound >= scale:
                return f"{self.metric}{self.op}{self.bound / scale:g}{suffix}"
        return f"{self.metric}{self.op}{self.bound:g}"


def parse_constraint(text: str) -> Constraint:
    """Parse ``flops<=300M`` / ``params<2.5M`` / ``latency<=5ms`` into a `Constraint`, or say what is wrong.

    Spaces are insignificant (``flops <= 5 M`` is ``flops<=5M``); ``<`` and ``>`` are strict; a latency takes
    ``ms``, ``us`` or ``s`` (converted to ms); a bound must be finite and positive. A run logs each constraint as
    it read it, in this canonical form."""
    match = _PATTERN.match(text)
    if not match:
        raise ConstraintError(
            f"cannot parse constraint {text!r}; write it like 'flops<=300M', 'params<=2M' or 'latency<=5ms'"
        )
    metric, op, number, unit = match.groups()
    metric = metric.lower()
    if metric not in METRICS:
        raise unknown_name("constraint metric", metric, ("flops", "params", "latency"))
    if metric == "latency":
        if unit not in _TIME:
            raise ConstraintError(f"constraint {text!r}: latency needs a time unit (ms, us or s)")
        bound = float(number) * _TIME[unit]
    else:
        if unit not in _SUFFIX:
            raise ConstraintError(f"constraint {text!r}: unknown suffix {unit!r} (use K, M or G)")
        bound = float(number) * _SUFFIX[unit]
    if not math.isfinite(bound):  # 1e999 reads as infinity: no bound at all, surely not what was meant
        raise ConstraintError(f"constraint {text!r}: the bound must be a finite number")
    if bound <= 0:
        raise ConstraintError(f"constraint {text!r}: the bound must be positive")
    return Constraint(metric, op, bound)


def parse_constraints(texts: Iterable[str | Constraint] | str | None) -> tuple[Constraint, ...]:
    if texts is None:
        return ()
    if isinstance(texts, str):
        texts = [t for t in texts.split(",") if t.strip()]
    return tuple(t if isinstance(t, Constraint) else parse_constraint(t) for t in texts)


def satisfied(constraints: Iterable[Constraint], cost: Cost) -> bool:
    return all(c.satisfied(cost) for c in constraints)


def cost_predicate(constraints: Iterable[Constraint], cost: Callable[[Any], Cost]) -> Callable[[Any], bool]:
    """A predicate (for `Space.sample(where=...)`, a search's feasibility test) that keeps the archs whose `cost`
    meets every constraint; with no constraints it passes every arch without costing it."""
    constraints = tuple(constraints)

    def within(arch: Any) -> bool:
        return not constraints or satisfied(constraints, cost(arch))

    return within


def cost_dict(cost: Cost) -> Mapping[str, float]:
    out: dict[str, float] = {"macs": float(cost.macs), "params": float(cost.params)}
    if cost.latency_ms is not None:
        out["latency_ms"] = float(cost.latency_ms)
    return out
