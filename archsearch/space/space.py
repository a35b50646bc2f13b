"""`Space`: ordered named choices; `Arch`: one immutable point of a space.

Everything that searches (strategies, predictors, the ledger) sees only `Arch` values and their encodings, never
modules, so one strategy serves every space.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from archsearch.errors import ConfigError, ConstraintError, unknown_name
from archsearch.space.choices import Categorical, Choice, Numeric, Value

Predicate = Callable[["Arch"], bool]


class Arch(Mapping[str, Value]):
    """An immutable, hashable assignment name -> value, in its space's order. Prints compactly."""

    __slots__ = ("_items", "_hash")

    def __init__(self, items: Mapping[str, Value] | Iterable[tuple[str, Value]]) -> None:
        pairs = tuple(items.items() if isinstance(items, Mapping) else items)
        object.__setattr__(self, "_items", pairs)
        object.__setattr__(self, "_hash", hash(pairs))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Arch is immutable; use arch.replace(name=value)")

    def __getitem__(self, key: str) -> Value:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Arch):
            return self._items == other._items
        return NotImplemented

    def __repr__(self) -> str:
        return "Arch(" + ", ".join(f"{k}={_short(v)}" for k, v in self._items) + ")"

    def replace(self, **changes: Value) -> "Arch":
        for key in changes:
            if key not in self:
                raise unknown_name("choice", key, self.keys())
        return Arch((k, changes.get(k, v)) for k, v in self._items)

    def to_dict(self) -> dict[str, Value]:
        return dict(self._items)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @property
    def key(self) -> str:
        """A stable string identity (JSON with sorted keys), used for dedup in ledgers and pools."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))


def _short(value: Value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Space:
    """Ordered named choices plus optional predicates an `Arch` must satisfy.

    Randomness comes only from the `np.random.Generator` passed in, so a seed fixes every draw.
    """

    def __init__(
        self,
        choices: Mapping[str, Choice] | Iterable[tuple[str, Choice]],
        *,
        constraints: Sequence[Predicate] = (),
        name: str = "space",
    ) -> None:
        pairs = list(choices.items() if isinstance(choices, Mapping) else choices)
        names = [n for n, _ in pairs]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(f"space {name!r}: duplicate choice names {dup}")
        for n, c in pairs:
            if not isinstance(c, (Categorical, Numeric)):
                raise ConfigError(f"space {name!r}: choice {n!r} is a {type(c).__name__}, not Categorical/Numeric")
        self.choices: dict[str, Choice] = dict(pairs)
        self.constraints = tuple(constraints)
        self.name = name
        self._mutable = [n for n, c in pairs if c.cardinality > 1]

    # -- structure --------------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self.choices)

    def __len__(self) -> int:
        return len(self.choices)

    def __contains__(self, arch: object) -> bool:
        if not isinstance(arch, Mapping):
            return False
        try:
            self.validate(arch)
        except ConfigError:
            return False
        return True

    def __repr__(self) -> str:
        return f"Space({self.name!r}, {len(self)} choices, cardinality {self.cardinality:.3g})"

    @property
    def cardinality(self) -> float:
        """Number of distinct archs before constraints (inf if any choice is continuous)."""
        return math.prod(c.cardinality for c in self.choices.values())

    @property
    def encoding_width(self) -> int:
        return sum(c.width for c in self.choices.values())

    def with_constraints(self, *predicates: Predicate) -> "Space":
        return Space(self.choices, constraints=self.constraints + predicates, name=self.name)

    def is_valid(self, arch: Arch) -> bool:
        return all(p(arch) for p in self.constraints)

    # -- validation -------------------------------------------------------------------------------------------
    def validate(self, values: Mapping[str, Any]) -> Arch:
        """Turn a mapping into an `Arch` of this space, or raise an error naming the bad key or value."""
        unknown = [k for k in values if k not in self.choices]
        if unknown:
            raise unknown_name(f"choice in space {self.name!r}:", unknown[0], self.choices)
        missing = [k for k in self.choices if k not in values]
        if missing:
            raise ConfigError(f"space {self.name!r}: missing choice(s) {missing}")
        items = []
        for name, choice in self.choices.items():
            value = values[name]
            if not choice.contains(value):
                raise ConfigError(
                    f"space {self.name!r}: {name}={value!r} is not allowed (allowed: {choice.allowed()})"
                )
            items.append((name, choice.canonical(value)))
        return Arch(items)

    def from_json(self, text: str) -> Arch:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"not valid JSON for an arch: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError("an arch in JSON must be an object of name: value")
        return self.validate(data)

    # -- sampling and variation -------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, *, where: Predicate | None = None, max_tries: int = 10_000) -> Arch:
        """A uniform draw, re-drawn until the space's constraints (and `where`) hold."""
        for _ in range(max_tries):
            arch = Arch((n, c.sample(rng)) for n, c in self.choices.items())
            if self.is_valid(arch) and (where is None or where(arch)):
                return arch
        raise ConstraintError(
            f"space {self.name!r}: no architecture satisfying the constraints in {max_tries} random draws; "
            "the constraints are probably impossible"
        )

    def mutate(self, arch: Arch, rng: np.random.Generator, n: int = 1) -> Arch:
        """Change exactly `n` distinct choices, each to a value different from its current one (drawn in the
        space's order)."""
        mutable = self._mutable
        if not 0 <= n <= len(mutable):
            raise ConfigError(f"cannot mutate {n} choices: space {self.name!r} has {len(mutable)} mutable choices")
        picked = sorted(rng.choice(len(mutable), size=n, replace=False).tolist()) if n else []
        values = arch.to_dict()  # one pass: an Arch looks names up linearly
        for i in picked:
            values[mutable[i]] = self.choices[mutable[i]].sample_other(values[mutable[i]], rng)
        return Arch(values.items())

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform crossover: each choice from either parent with probability 1/2."""
        take_a = rng.random(len(self.choices)) < 0.5
        return Arch((name, a[name] if t else b[name]) for name, t in zip(self.choices, take_a))

    # -- encodings --------------------------------------------------------------------------------------------
    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot for categorical choices, min-max in [0, 1] for numeric ones (FBNetV3 section 3)."""
        return self.encode_many([arch])[0]

    def encode_many(self, archs: Sequence[Arch]) -> np.ndarray:
        """`encode` of each arch, as rows (predictors score ~10^5 archs a search: each arch is read once and each
        value's code comes from a table)."""
        if not archs:
            return np.zeros((0, self.encoding_width), dtype=np.float32)
        rows = []
        for arch in archs:
            values = arch.to_dict() if isinstance(arch, Arch) else arch
            row: list[float] = []
            for name, choice, table in self._code_tables:
                value = values[name]
                code = table.get(value) if table is not None and not isinstance(value, bool) else None
                row.extend(code if code is not None else choice.encode(value))
            rows.append(row)
        return np.asarray(rows, dtype=np.float32)

    @functools.cached_property
    def _code_tables(self) -> list[tuple[str, Choice, dict[Any, list[float]] | None]]:
        """Per choice, value -> code when it has finitely many values (None for a continuous range; booleans are
        left to `Choice.encode`, since True == 1 would share a key with the number 1)."""
        out = []
        for name, choice in self.choices.items():
            values = choice.values if isinstance(choice, Categorical) else choice.grid
            table = None
            if values is not None and not any(isinstance(v, bool) for v in values):
                try:
                    table = {v: choice.encode(v) for v in values}
                except TypeError:  # unhashable values
                    table = None
            out.append((name, choice, table))
        return out

    def decode(self, code: Sequence[float]) -> Arch:
        code = np.asarray(code, dtype=np.float64)
        if code.shape != (self.encoding_width,):
            raise ConfigError(f"space {self.name!r}: code has shape {code.shape}, expected ({self.encoding_width},)")
        items, offset = [], 0
        for name, choice in self.choices.items():
            items.append((name, choice.decode(code[offset : offset + choice.width])))
            offset += choice.width
        return Arch(items)

    def from_unit(self, point: Sequence[float]) -> Arch:
        """Map a point of the unit hypercube (one coordinate per choice) to an arch: QMC pools use this."""
        point = np.asarray(point, dtype=np.float64)
        if point.shape != (len(self.choices),):
            raise ConfigError(f"space {self.name!r}: unit point has shape {point.shape}, expected ({len(self)},)")
        return Arch((name, choice.from_unit(u)) for (name, choice), u in zip(self.choices.items(), point))

    # -- products ---------------------------------------------------------------------------------------------
    def __mul__(self, other: "Space") -> "Space":
        return product(self, other)

    def project(self, arch: Arch) -> Arch:
        """The part of `arch` (e.g. of a product space) that belongs to this space."""
        return Arch((name, arch[name]) for name in self.choices)


def product(*spaces: Space, name: str | None = None) -> Space:
    """The product of spaces (FBNetV3's architecture x recipe). Names must not collide; `project` splits."""
    choices: list[tuple[str, Choice]] = []
    for space in spaces:
        choices.extend(space.choices.items())
    constraints: list[Predicate] = []
    for space in spaces:
        for predicate in space.constraints:
            constraints.append(lambda arch, s=space, p=predicate: p(s.project(arch)))
    return Space(choices, constraints=constraints, name=name or " x ".join(s.name for s in spaces))
