"""Space core as properties (hypothesis), and every registered space at tiny size: builds, runs forward and
backward, and its analytic MACs/params equal what torch's flop counter and the parameters say."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from archsearch.errors import UsageError
from archsearch.space import Arch, Categorical, Numeric, Space, product
from archsearch.spaces import SearchSpace, create_space, space_names
from support import ROOT

SPACE = Space({"op": Categorical(["conv", "pool", "skip"]), "width": Categorical([8, 16, 32]),
               "lr": Numeric(1e-4, 1e-1, log=True), "depth": Numeric(1, 4, step=1),
               "drop": Numeric(0.0, 0.5, step=0.1)}, name="props")
seeds = st.integers(0, 2**32 - 1)


@given(seeds)
def test_sample_is_in_the_space_and_round_trips_json_and_encoding(seed):
    arch = SPACE.sample(np.random.default_rng(seed))
    assert arch in SPACE and SPACE.validate(arch.to_dict()) == arch
    assert SPACE.from_json(arch.to_json()) == arch and hash(SPACE.from_json(arch.to_json())) == hash(arch)
    code = SPACE.encode(arch)
    assert code.shape == (SPACE.encoding_width,) and np.all((code >= 0) & (code <= 1))
    decoded = SPACE.decode(code)
    assert {k: decoded[k] for k in ("op", "width", "depth")} == {k: arch[k] for k in ("op", "width", "depth")}
    assert decoded["lr"] == pytest.approx(arch["lr"], rel=1e-5) and decoded["drop"] == pytest.approx(arch["drop"])


@given(seeds, st.integers(1, 5))
def test_mutate_changes_exactly_n_choices_each_to_another_value(seed, n):
    rng = np.random.default_rng(seed)
    arch = SPACE.sample(rng)
    child = SPACE.mutate(arch, rng, n)
    assert child in SPACE and sum(arch[k] != child[k] for k in arch) == n


@given(seeds)
def test_crossover_takes_every_choice_from_a_parent(seed):
    rng = np.random.default_rng(seed)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    child = SPACE.crossover(a, b, rng)
    assert all(child[k] in (a[k], b[k]) for k in SPACE.choices)


def test_cardinality_product_and_validation_errors():
    small = Space({"a": Categorical(["x", "y"]), "b": Categorical([1, 2, 3])}, name="s")
    assert small.cardinality == 6
    joint = product(small, Space({"c": Categorical([True, False])}, name="t"))
    assert joint.cardinality == 12 and small.project(joint.sample(np.random.default_rng(0))) in small
    with pytest.raises(UsageError, match=r"b=4 is not allowed \(allowed: 1, 2, 3\)"):
        small.validate({"a": "x", "b": 4})
    with pytest.raises(UsageError) as error:
        small.validate({"a": "x", "b": 1, "c": 2})
    assert "c" in str(error.value)
    assert repr(Arch({"a": "x", "b": 1})) == "Arch(a=x, b=1)"


# -- every registered space ----------------------------------------------------------------------------------------------
_EXAMPLE_SPACE = str(ROOT / "examples" / "user_space.py") + ":make_space"
_TINY = {"mobilenet": {"preset": "smoke"}, "darts": {"preset": "smoke"}, "hierarchical": {"preset": "smoke"},
         "flat": {"preset": "smoke"}, "fbnet": {"preset": "smoke"}, "fbnet-recipe": {"preset": "smoke"},
         "user": {"source": _EXAMPLE_SPACE, "input_shape": (1, 16, 16), "num_classes": 10}}  # a user's LayerChoice module, by file (the README's example)


def _network_spaces() -> list[str]:
    """The built-in spaces that build networks (not `recipe`, nor spaces other tests register)."""
    from archsearch.spaces import SPACES

    builtin = [n for n in space_names() if SPACES.factory(n).__module__.startswith("archsearch.spaces.")]
    return [n for n in builtin if isinstance(create_space(n, **_TINY.get(n, {})), SearchSpace)]


def test_every_network_space_is_covered():
    assert set(_network_spaces()) == set(_TINY)


@pytest.mark.parametrize("name", sorted(_TINY))
@pytest.mark.integration
def test_registered_space_builds_trains_and_costs_exactly(name):
    search_space = create_space(name, **_TINY[name])
    rng = np.random.default_rng(0)
    for i in range(20):
        arch = search_space.space.sample(rng)
        torch.manual_seed(i)
        model = search_space.build(arch).eval()
        x = torch.randn(1, *search_space.input_shape)
        with FlopCounterMode(display=False) as counter:
            model(x)
        cost = search_space.cost(arch)
        assert cost.macs == counter.get_total_flops() // 2, arch
        assert cost.params == sum(p.numel() for p in model.parameters()), arch
        if i < 3:  # forward and backward in training mode
            model.train()
            out = model(torch.randn(2, *search_space.input_shape))
            out = out[0] if isinstance(out, tuple) else out
            assert out.shape == (2, search_space.num_classes)
            out.sum().backward()
            assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
