"""The contract every search method follows, so that the CLI, the ledger, checkpoints and executors serve all.

A method is built from its config dataclass (defaults citing the paper) and a `RunContext` (`context.py`); `run()`
loops like the paper's algorithm box and calls ``ctx.checkpoint(self)`` at safe points (after an iteration, an
epoch, a recorded trial). `state_dict()` must hold *everything* the loop needs to continue exactly (counters, pools,
RNG states, model/optimizer states, in-flight work), so a run killed at any point and resumed equals an
uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

from archsearch.errors import ConfigError
from archsearch.space.space import Arch
from archsearch.spaces import LatencyCostedSpace, SearchSpace, WeightSharingSpace, space_label
from archsearch.tasks.final import FinalResult


@dataclass(frozen=True)
class Candidate:
    """One architecture with what the search measured or predicted for it."""

    arch: Arch
    objectives: dict[str, float]  # e.g. {"accuracy": 0.91, "macs": 3.1e6}
    attrs: dict[str, Any] = field(default_factory=dict)


DERIVE_PHASE = "derive"  # the ledger phase of the architecture a one-shot method derives from its supernet
WEIGHTS_DIR = "weights"  # every weight file a method saves lives here, inside the run directory


def weights_file(role: str) -> str:
    """The run-relative path of a method's weights for `role` ("supernet", "child", "final_0"): one convention
    for every method (`RunContext.save_weights` takes it)."""
    return f"{WEIGHTS_DIR}/{role}.pt"


def weights_key(arch_key: str, recipe: Mapping[str, Any] | None = None) -> str:
    """A key of `SavedWeights.per_arch`: the arch's key, plus a digest of its training recipe when the weights
    depend on one (NARS finds architecture-recipe pairs: one architecture trained with two recipes is two networks,
    and both sets of weights must be kept)."""
    if not recipe:
        return arch_key
    blob = json.dumps(dict(recipe), sort_keys=True, default=str).encode()
    return f"{arch_key}+recipe:{hashlib.sha256(blob).hexdigest()[:12]}"


@dataclass(frozen=True)
class SavedWeights:
    """The weight files a search left for `archsearch export`, paths relative to the run directory (what
    `RunContext.save_weights` returned). In result.json's ``extra`` they are ``supernet_weights``, ``weights`` and
    ``export``."""

    supernet: str | None = None  # the supernet's state_dict: every arch of the space inherits from it
    per_arch: Mapping[str, str] | None = None  # `weights_key` (arch, + recipe) -> that child's trained state_dict
    best: str | None = None  # the chosen arch's child (BN statistics recalibrated), when not in `per_arch`

    def to_json(self) -> dict[str, Any]:
        """The keys of result.json's ``extra`` that hold these paths (only those set)."""
        document: dict[str, Any] = {}
        if self.supernet is not None:
            document["supernet_weights"] = self.supernet
        if self.per_arch is not None:
            document["weights"] = dict(self.per_arch)
        if self.best is not None:
            document["export"] = self.best
        return document

    @classmethod
    def split(cls, extra: Mapping[str, Any]) -> tuple[SavedWeights, dict[str, Any]]:
        """The weights named in result.json's ``extra``, and the rest of it."""
        rest = dict(extra)
        per_arch = dict(rest.pop("weights")) if isinstance(rest.get("weights"), Mapping) else None
        return cls(rest.pop("supernet_weights", None), per_arch, rest.pop("export", None)), rest


@dataclass(frozen=True)
class SearchResult:
    """What `run()` returns: the chosen arch(es) and the Pareto front over (accuracy, cost); `extra`: the method's
    own figures (plain JSON values: result.json's ``extra``); `weights`: the files it saved for export; `final`:
    the chosen arch's final training (from scratch, test set), which the experiment runs after the search unless
    the method ran its own (NARS trains every found pair with its searched recipe); `run_dir`: where the run lives
    (set by the experiment)."""

    best: Candidate
    pareto_front: tuple[Candidate, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    final: FinalResult | None = None
    weights: SavedWeights = field(default_factory=SavedWeights)
    run_dir: Path | None = None


@runtime_checkable
class Method(Protocol):
    """A search method; its name and everything else the experiment reads about it is its `MethodSpec`."""

    def run(self) -> SearchResult: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def require_weight_sharing(search_space: object, method: str, latency: bool = False) -> None:
    """What weight-sharing methods check: they train the space's supernet (one `MixedOp` per choice) and score its
    children with inherited weights, and a latency objective needs a latency table of the space's ops.

    A method class may define ``check_space(search_space, method, config)``; a run calls it before creating
    anything, so a method that cannot search a space (with this config) says why in one line."""
    if latency and not isinstance(search_space, LatencyCostedSpace):  # not already costed from a table
        from archsearch.cost.latency import space_ops

        space_ops(search_space)  # raises, naming the space, when it does not describe its ops
    if not isinstance(search_space, WeightSharingSpace):
        raise ConfigError(f"{method} needs a weight-sharing space (with supernet() and inherit()); "
                          f"{space_label(search_space)!r} has none")


def require_search_space(search_space: object, method: str) -> None:
    """What methods that train every candidate from scratch check: the space builds and costs its networks."""
    if not isinstance(search_space, SearchSpace):
        raise ConfigError(f"{method} trains candidates from scratch and needs a space with build() and cost(); "
                          f"{space_label(search_space)!r} has none")
