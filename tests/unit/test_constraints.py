"""`cost_predicate`: the one feasibility test every search and the comparison study use."""

from archsearch.cost import Cost, cost_predicate, parse_constraints


def test_cost_predicate_keeps_exactly_the_archs_meeting_every_constraint():
    costs = {"a": Cost(macs=100, params=10), "b": Cost(macs=300, params=10), "c": Cost(macs=100, params=30)}
    within = cost_predicate(parse_constraints("flops<=200,params<20"), costs.__getitem__)
    assert [name for name in costs if within(name)] == ["a"]


def test_without_constraints_every_arch_passes_and_nothing_is_costed():
    costed = []
    within = cost_predicate((), lambda arch: costed.append(arch) or Cost(1, 1))
    assert within("a") and within("b") and costed == []
