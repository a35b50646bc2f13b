"""The contract every search method follows, so that the CLI, the ledger, checkpoints and executors serve all.

A method is built from its config dataclass (defaults citing the paper) and a `RunContext`; `run()` loops like the
paper's algorithm box and calls ``ctx.checkpoint(self)`` at safe points (after an iteration, an epoch, a recorded
trial). `state_dict()` must hold *everything* the loop needs to continue exactly (counters, pools, RNG states,
model/optimizer states, in-flight work), so a run killed at any point and resumed equals an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from archsearch.errors import ConfigError
from archsearch.space.space import Arch
from archsearch.train.final import FinalResult


@dataclass(frozen=True)
class Candidate:
    """One architecture with what the search measured or predicted for it."""

    arch: Arch
    objectives: dict[str, float]  # e.g. {"accuracy": 0.91, "macs": 3.1e6}
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    """What `run()` returns: the chosen arch(es) and the Pareto front over (accuracy, cost); `final`: the chosen
    arch's final training (from scratch, test set), which the experiment runs after the search unless the method
    ran its own (NARS trains every found pair with its searched recipe)."""

    best: Candidate
    pareto_front: tuple[Candidate, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    final: FinalResult | None = None


@runtime_checkable
class Method(Protocol):
    name: ClassVar[str]

    def run(self) -> SearchResult: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def require_supernet(search_space: Any, method: str, latency: bool = False) -> None:
    """What weight-sharing methods check: they train the space's supernet (one `MixedOp` per choice), and a
    latency objective needs a latency table of the space's ops.

    A method class may define ``check_space(search_space, method, config)``; a run calls it before creating
    anything, so a method that cannot search a space (with this config) says why in one line."""
    if latency and not hasattr(search_space, "latency_table"):  # not already costed from a table
        from archsearch.cost.latency import space_ops

        space_ops(search_space)  # raises, naming the space, when it does not describe its ops
    if not hasattr(search_space, "supernet"):
        raise ConfigError(f"{method} needs a weight-sharing space (with supernet()); "
                          f"{getattr(search_space, 'name', search_space)!r} has none")
