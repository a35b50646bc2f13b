"""The kinds of choice a space is made of.

Strategies and predictors see a choice only through this interface: draw a value, draw a *different* value,
encode a value as numbers, and map a point of the unit interval to a value (for quasi-Monte-Carlo pools).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np

from archsearch.errors import ConfigError

Value = Union[str, int, float, bool]


@dataclass(frozen=True)
class Categorical:
    """An unordered set of values, encoded one-hot."""

    values: tuple[Value, ...]

    def __init__(self, values: Sequence[Value]) -> None:
        values = tuple(values)
        if not values:
            raise ConfigError("a categorical choice needs at least one value")
        if len(set(values)) != len(values):
            raise ConfigError(f"categorical values must be distinct, got {list(values)}")
        object.__setattr__(self, "values", values)

    @property
    def cardinality(self) -> int:
        return len(self.values)

    @property
    def width(self) -> int:
        """Length of this choice's encoding."""
        return len(self.values)

    def contains(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) or _same_number(value, v) for v in self.values)

    def canonical(self, value: Any) -> Value:
        for v in self.values:
            if value == v and (type(value) is type(v) or _same_number(value, v)):
                return v
        raise ValueError(value)

    def allowed(self) -> str:
        return ", ".join(map(repr, self.values))

    def sample(self, rng: np.random.Generator) -> Value:
        return self.values[int(rng.integers(len(self.values)))]

    def sample_other(self, value: Value, rng: np.random.Generator) -> Value:
        others = [v for v in self.values if v != value]
        return others[int(rng.integers(len(others)))]

    def encode(self, value: Value) -> list[float]:
        return [1.0 if v == value else 0.0 for v in self.values]

    def decode(self, code: Sequence[float]) -> Value:
        return self.values[int(np.argmax(code))]

    def from_unit(self, u: float) -> Value:
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]

    def index(self, value: Value) -> int:
        return self.values.index(value)


@dataclass(frozen=True)
class Numeric:
    """An ordered numeric range ``[low, high]``, encoded min-max as one number.

    With ``step`` the values are the grid ``low, low+step, ..., high`` (ints if all three are ints); without it the
    range is continuous. ``log=True`` spaces samples evenly in log scale (learning rates, weight decays).
    """

    low: float
    high: float
    step: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ConfigError(f"numeric choice needs low <= high, got [{self.low}, {self.high}]")
        if self.step is not None and self.step <= 0:
            raise ConfigError(f"numeric step must be positive, got {self.step}")
        if self.log and self.low <= 0:
            raise ConfigError(f"log-scale numeric choice needs low > 0, got {self.low}")

    @functools.cached_property  # these two are read on every sample / encode / contains: worked out once
    def integral(self) -> bool:
        return all(isinstance(x, int) and not isinstance(x, bool) for x in (self.low, self.high, self.step or 1))

    @functools.cached_property
    def grid(self) -> list[float] | None:
        if self.step is None:
            return None
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        points = [self.low + i * self.step for i in range(count)]
        return [int(p) for p in points] if self.integral else [round(p, 12) for p in points]

    @property
    def cardinality(self) -> float:
        grid = self.grid
        if grid is not None:
            return len(grid)
        return 1 if self.low == self.high else math.inf

    @property
    def width(self) -> int:
        return 1

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not self.low - 1e-12 <= value <= self.high + 1e-12:
            return False
        grid = self.grid
        return grid is None or any(abs(value - g) <= 1e-9 * max(1.0, abs(g)) for g in grid)

    def canonical(self, value: Any) -> Value:
        grid = self.grid
        if grid is None:
            return float(value)
        return min(grid, key=lambda g: abs(g - value))

    def allowed(self) -> str:
        if self.step is not None:
            return f"{self.low}..{self.high} step {self.step}"
        return f"[{self.low}, {self.high}]" + (" (log)" if self.log else "")

    def from_unit(self, u: float) -> Value:
        u = min(max(float(u), 0.0), 1.0)
        grid = self.grid
        if grid is not None:
            return grid[min(int(u * len(grid)), len(grid) - 1)]
        if self.log:
            return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))
        return float(self.low + u * (self.high - self.low))

    def sample(self, rng: np.random.Generator) -> Value:
        return self.from_unit(float(rng.random()))

    def sample_other(self, value: Value, rng: np.random.Generator) -> Value:
        grid = self.grid
        if grid is not None:
            others = [g for g in grid if g != value]
            return others[int(rng.integers(len(others)))]
        while True:
            other = self.sample(rng)
            if other != value:
                return other

    def encode(self, value: Value) -> list[float]:
        if self.high == self.low:
            return [0.0]
        if self.log:
            return [(math.log(float(value)) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))]
        return [(float(value) - self.low) / (self.high - self.low)]

    def decode(self, code: Sequence[float]) -> Value:
        u = min(max(float(code[0]), 0.0), 1.0)
        if self.log:
            raw = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            raw = self.low + u * (self.high - self.low)
        return self.canonical(raw)


Choice = Union[Categorical, Numeric]


def _same_number(a: Any, b: Any) -> bool:
    """1 == 1.0 counts as the same value (JSON turns 1.0 into 1), but True is not 1."""
    numbers = (int, float)
    return (
        isinstance(a, numbers) and isinstance(b, numbers)
        and not isinstance(a, bool) and not isinstance(b, bool)
        and a == b
    )
