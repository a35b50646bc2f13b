"""The seam between spaces and methods: what a space offers is a protocol (`archsearch.spaces`), checked with
``isinstance``; every built-in space is exactly what it claims, and a method refuses, in one line, a space that
lacks what it needs."""

from __future__ import annotations


import pytest

from archsearch.cost.latency import LatencyTable, device_fingerprint, with_latency
from archsearch.errors import ConfigError
from archsearch.methods import method_spec
from archsearch.space.choices import Categorical, Numeric
from archsearch.space.space import Space
from archsearch.spaces import (ArchRecipeSpace, DefaultArchSpace, LatencyCostedSpace, MotifSpace, RecipeSpace,
                               SearchSpace, WeightSharingSpace, create_space)
from archsearch.supernet import arch_of_path
from support import ROOT

_EXAMPLE_SPACE = str(ROOT / "examples" / "user_space.py") + ":make_space"
_OPTIONS = {"mobilenet": {"preset": "smoke"}, "darts": {"preset": "smoke"}, "hierarchical": {"preset": "smoke"},
            "flat": {"preset": "smoke"}, "fbnet": {"preset": "smoke"}, "fbnet-recipe": {"preset": "smoke"},
            "user": {"source": _EXAMPLE_SPACE, "input_shape": (1, 16, 16), "num_classes": 10}}
_CAPABILITIES = (WeightSharingSpace, LatencyCostedSpace, MotifSpace, DefaultArchSpace, RecipeSpace, ArchRecipeSpace)
# what each built-in space claims beyond `SearchSpace` (darts' supernet weighs cell edges, not its own choices,
# and its children are retrained, never inherited: it is no weight-sharing space)
_CLAIMS = {"mobilenet": {WeightSharingSpace}, "user": {WeightSharingSpace}, "darts": set(),
           "hierarchical": {MotifSpace}, "flat": {MotifSpace}, "fbnet": {DefaultArchSpace},
           "fbnet-recipe": {DefaultArchSpace, RecipeSpace, ArchRecipeSpace}}


@pytest.mark.parametrize("name", sorted(_OPTIONS))
def test_every_built_in_space_is_exactly_what_it_claims(name):
    search_space = create_space(name, **_OPTIONS[name])
    assert isinstance(search_space, SearchSpace)
    assert {p for p in _CAPABILITIES if isinstance(search_space, p)} == _CLAIMS[name]


def test_a_space_costed_from_a_table_keeps_its_protocols():
    mobilenet = create_space("mobilenet", preset="smoke")
    wrapped = with_latency(mobilenet, LatencyTable(device_fingerprint("cpu", 1), {}))
    assert not isinstance(mobilenet, LatencyCostedSpace)
    assert isinstance(wrapped, LatencyCostedSpace) and isinstance(wrapped, WeightSharingSpace)


class _WithoutInherit:
    """mobilenet without `inherit`: its supernet trains, but no child could be scored or exported with its
    weights."""

    def __init__(self) -> None:
        mobilenet = create_space("mobilenet", preset="smoke")
        self.name, self.space = "no-inherit", mobilenet.space
        self.input_shape, self.num_classes = mobilenet.input_shape, mobilenet.num_classes
        self.build, self.cost, self.supernet = mobilenet.build, mobilenet.cost, mobilenet.supernet


@pytest.mark.parametrize("method", ["proxyless", "greedynas", "spos", "darts", "fairdarts"])
def test_a_weight_sharing_method_refuses_a_space_without_inherit(method):
    search_space = _WithoutInherit()
    assert isinstance(search_space, SearchSpace) and not isinstance(search_space, WeightSharingSpace)
    spec = method_spec(method)
    with pytest.raises(ConfigError, match=rf"^{method} needs a weight-sharing space \(with supernet\(\) and "
                                          r"inherit\(\)\); 'no-inherit' has none$"):
        spec.check_space(search_space, method, spec.config_cls())


@pytest.mark.parametrize("method", ["evolution", "random", "nars"])
def test_a_method_training_from_scratch_refuses_what_is_no_search_space(method):
    spec = method_spec(method)
    with pytest.raises(ConfigError, match=rf"^{method} trains candidates from scratch and needs .*build\(\) and "
                                          r"cost\(\).*; 'half a space' has none$"):
        spec.check_space("half a space", method, spec.config_cls())
    spec.check_space(_WithoutInherit(), method, spec.config_cls())  # a space with build and cost is enough


def test_a_path_of_candidate_names_is_the_arch_of_the_choices_own_values():
    """A `MixedOp` keys its candidates by str(value): a derived path maps back to each choice's values."""
    space = Space({"kernel": Categorical([3, 5]), "act": Categorical(["relu", "tanh"]),
                   "width": Numeric(0.5, 1.0)}, name="s")
    arch = arch_of_path(space, {"kernel": "5", "act": "tanh", "width": 0.75})
    assert dict(arch) == {"kernel": 5, "act": "tanh", "width": 0.75} and type(arch["kernel"]) is int
    with pytest.raises(ConfigError, match="kernel=.7. is not allowed"):
        arch_of_path(space, {"kernel": "7", "act": "tanh", "width": 0.75})


def test_a_latency_costed_space_keeps_its_protocols_when_read_statically():
    """isinstance() on a protocol reads attributes statically from Python 3.12 on: the latency wrapper carries the
    wrapped space's protocol members itself, and only those it has."""
    import inspect

    from archsearch.cost.latency import LatencyCostSpace, LatencyTable
    from archsearch.spaces import LatencyCostedSpace, WeightSharingSpace
    from support import ToySpace

    table = LatencyTable({"device": "cpu"}, {})
    shared = LatencyCostSpace(ToySpace(), table)
    assert inspect.getattr_static(shared, "inherit") and inspect.getattr_static(shared, "supernet")
    assert isinstance(shared, WeightSharingSpace) and isinstance(shared, LatencyCostedSpace)

    class Plain:  # trains candidates from scratch: no supernet, no inherit
        name, space, input_shape, num_classes = "plain", ToySpace().space, (1, 8, 8), 10
        build, cost = ToySpace.build, ToySpace.cost

    plain = LatencyCostSpace(Plain(), table)
    assert inspect.getattr_static(plain, "inherit", "absent") == "absent"
    assert not isinstance(plain, WeightSharingSpace) and isinstance(plain, LatencyCostedSpace)
