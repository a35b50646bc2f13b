"""ProxylessNAS: binary-gate gradients, two-path rescale, the config, LUTs, resume (expected cost, loss forms and
REINFORCE: test_proxyless_objective.py)."""

from __future__ import annotations

import types

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.cost.constraints import Cost, parse_constraints, satisfied
from archsearch.cost.latency import (LatencyTable, device_fingerprint, ensure_table, op_key, predict_latency,
                                     space_ops, with_latency)
from archsearch.errors import ConfigError, UsageError
from archsearch.experiment.testing import MemoryContext, SimulatedCrash
from archsearch.methods.proxyless import ProxylessConfig
from archsearch.supernet import BinaryGate, BinaryGates, MixedOp, recompute_allowed

torch.set_num_threads(1)


# -- binary gates --------------------------------------------------------------------------------------------------
def _linear_op(n: int) -> MixedOp:
    torch.manual_seed(0)
    candidates = {f"c{i}": nn.Linear(3, 2) for i in range(n)}
    return MixedOp("b0", candidates)


def _closed_form(alpha: torch.Tensor, dg: torch.Tensor, index: list[int]) -> torch.Tensor:
    """dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i), over `index`, p renormalised over it; zero elsewhere."""
    p = F.softmax(alpha.detach()[index], 0)
    out = torch.zeros_like(alpha)
    for a, i in enumerate(index):
        out[i] = sum(dg[b] * p[b] * ((1.0 if a == b else 0.0) - p[a]) for b in range(len(index)))
    return out


def _gate_step(mode: str, seed: int):
    op = _linear_op(4)
    alpha = nn.Parameter(torch.tensor([0.3, -0.2, 0.5, 0.1]))
    gate = BinaryGate(alpha)
    op.policy = gate
    gate.sample(torch.Generator().manual_seed(seed), mode)
    gate.arch_grad = True
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    w = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    loss = (op(x) * w).sum()  # dL/dy = w, so dL/dg_j = <w, o_j(x)>
    loss.backward(inputs=[gate.gate])
    with torch.no_grad():
        dg = torch.stack([(op.ops[f"c{j}"](x) * w).sum() for j in gate.sampled])
    expected = _closed_form(alpha, dg, gate.sampled)
    gate.accumulate_alpha_grad()
    return op, alpha, gate, expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_mode_gate_gradient_equals_the_closed_form(seed):
    _, alpha, gate, expected = _gate_step("full", seed)
    assert gate.sampled == [0, 1, 2, 3]
    torch.testing.assert_close(alpha.grad, expected, rtol=1e-5, atol=1e-6)
    assert alpha.grad.sum().abs() < 1e-5  # softmax gradients sum to zero


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_path_gradient_is_the_closed_form_over_the_pair_only(seed):
    _, alpha, gate, expected = _gate_step("two", seed)
    assert len(gate.sampled) == 2 and gate.active in gate.sampled
    torch.testing.assert_close(alpha.grad, expected, rtol=1e-5, atol=1e-6)
    unsampled = [i for i in range(4) if i not in gate.sampled]
    assert torch.all(alpha.grad[unsampled] == 0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_path_update_leaves_unsampled_probabilities_unchanged(seed):
    _, alpha, gate, _ = _gate_step("two", seed)
    before = F.softmax(alpha.detach(), 0).clone()
    old = alpha.detach().clone()
    # the code's arch optimiser: Adam with beta1 = 0, so a zero gradient moves nothing; lr large to see the change
    torch.optim.Adam([alpha], lr=0.1, betas=(0.0, 0.999)).step()
    gate.rescale_after_step(old)
    after = F.softmax(alpha.detach(), 0)
    unsampled = [i for i in range(4) if i not in gate.sampled]
    torch.testing.assert_close(after[unsampled], before[unsampled], rtol=0, atol=1e-7)
    pair = gate.sampled
    assert after[pair].sum() == pytest.approx(float(before[pair].sum()), abs=1e-6)
    assert not torch.allclose(after[pair], before[pair])  # the pair itself did move


def _conv_supernet(recompute: bool, mode: str, seed: int) -> tuple[nn.Module, list[MixedOp], list[nn.Parameter]]:
    """Stem, three conv / pool / identity MixedOps with BN, head; gates sampled in `mode`, arch gradients on."""
    def candidate(value: str) -> nn.Module:
        if value == "skip":
            return nn.Identity()
        if value == "pool":
            return nn.MaxPool2d(3, 1, 1)
        k = int(value[1])
        return nn.Sequential(nn.Conv2d(4, 4, k, padding=k // 2, bias=False), nn.BatchNorm2d(4), nn.ReLU())

    torch.manual_seed(0)
    ops = [MixedOp(f"b{i}", {v: candidate(v) for v in ("k3", "k5", "pool", "skip")}) for i in range(3)]
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), *ops, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    alphas = [nn.Parameter(torch.randn(4, generator=torch.Generator().manual_seed(10 + i))) for i in range(3)]
    generator = torch.Generator().manual_seed(seed)
    for op, alpha in zip(ops, alphas):
        op.policy = BinaryGate(alpha, recompute=recompute)
        op.policy.sample(generator, mode)
        op.policy.arch_grad = True
    return model, ops, alphas


@pytest.mark.parametrize("mode", ["full", "two"])
@pytest.mark.parametrize("seed", [0, 3])
def test_recomputed_gate_gradients_equal_the_kept_outputs_ones(mode, seed):
    """`recompute` (one path's activations, outputs re-formed in backward) gives `keep`'s alpha gradients, weight
    gradients, input gradient, and BN statistics (every sampled candidate ran once in train mode)."""
    results = {}
    for recompute in (False, True):
        model, ops, alphas = _conv_supernet(recompute, mode, seed)
        x = torch.randn(6, 3, 7, 7, generator=torch.Generator().manual_seed(1), requires_grad=True)
        y = torch.randint(0, 5, (6,), generator=torch.Generator().manual_seed(2))
        F.cross_entropy(model(x), y).backward()
        for op in ops:
            op.policy.accumulate_alpha_grad()
        results[recompute] = {"alpha": [a.grad.clone() for a in alphas], "x": x.grad.clone(),
                              "active": [op.policy.active for op in ops], "sampled": [op.policy.sampled for op in ops],
                              "weights": {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None},
                              "state": {k: v.clone() for k, v in model.state_dict().items()}}
    kept, recomputed = results[False], results[True]
    assert kept["active"] == recomputed["active"] and kept["sampled"] == recomputed["sampled"]
    assert all(len(s) == (4 if mode == "full" else 2) for s in kept["sampled"])
    for a, b in zip(kept["alpha"], recomputed["alpha"]):
        assert a.abs().sum() > 0
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6)
    torch.testing.assert_close(recomputed["x"], kept["x"], rtol=0, atol=1e-6)
    assert set(recomputed["weights"]) == set(kept["weights"]) and len(kept["weights"]) > 4
    for name, grad in kept["weights"].items():
        torch.testing.assert_close(recomputed["weights"][name], grad, rtol=0, atol=1e-6)
    for name, value in kept["state"].items():
        torch.testing.assert_close(recomputed["state"][name], value, rtol=0, atol=1e-6)


def test_recompute_holds_no_inactive_candidate_output_until_backward():
    """The saving itself: after the forward, `keep`'s graph holds every sampled candidate's output; `recompute`'s
    holds only tensors the active path already has (counted by the saved-tensor hooks)."""
    def saved_bytes(recompute: bool) -> int:
        model, ops, _ = _conv_supernet(recompute, "full", 0)
        for op in ops:  # a conv path everywhere, so the inactive outputs are distinct tensors
            op.policy.active = 0
        seen: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        x = torch.randn(6, 3, 7, 7, generator=torch.Generator().manual_seed(1))
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(x).sum().backward()
        return sum(seen.values())

    activation = 6 * 4 * 7 * 7 * 4  # one op output in bytes
    assert saved_bytes(False) - saved_bytes(True) >= 3 * 2 * activation  # >= 2 inactive outputs per block, 3 blocks


@pytest.mark.parametrize("policy", ["single", "softmax", "binary"])
def test_a_channels_last_choice_passes_channels_last_gradients_back(policy):
    """A global-pooling head returns an NCHW gradient; MixedOp hands its candidates (and, through an identity, the
    earlier layers) a channels_last one, the layout of their activations, with the same values."""
    from archsearch.supernet import SinglePath, Weighted

    def run(hooked: bool):
        torch.manual_seed(0)
        op = MixedOp("b0", {"conv": nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()), "skip": nn.Identity()})
        alpha = nn.Parameter(torch.tensor([0.1, -0.2]))
        if policy == "single":
            op.policy = SinglePath("skip")
        elif policy == "softmax":
            op.policy = Weighted(alpha)
        else:
            op.policy = BinaryGate(alpha)
            op.policy.sample(torch.Generator().manual_seed(1), "full")
            op.policy.active, op.policy.arch_grad = 1, True  # skip runs; the conv is recomputed for its gate
        x = torch.randn(3, 4, 6, 6, generator=torch.Generator().manual_seed(2)).contiguous(
            memory_format=torch.channels_last).requires_grad_()
        earlier, seen = nn.ReLU(), []  # the layer before the choice, and the candidate's last op
        for module in (earlier, op.ops["conv"][1]):
            module.register_full_backward_hook(lambda m, grad_in, grad_out: seen.append(grad_out[0]))
        h = earlier(x)
        out = op(h) if hooked else op.policy.forward(op, h)
        out.mean((2, 3)).pow(2).sum().backward()
        return x.grad, seen

    grad, seen = run(True)
    reference, reference_seen = run(False)
    assert all(g.is_contiguous(memory_format=torch.channels_last) for g in seen) and len(seen) >= 1
    assert not reference_seen[-1].is_contiguous(memory_format=torch.channels_last)  # what the head sends back
    torch.testing.assert_close(grad, reference, rtol=1e-6, atol=1e-7)


# -- the config -------------------------------------------------------------------------------------------------------
def test_config_parses_targets_and_rejects_bad_values():
    assert ProxylessConfig(latency_target_ms="5ms").latency_target_ms == 5.0
    assert ProxylessConfig(latency_target_ms="800us", loss_form="linear").latency_target_ms == pytest.approx(0.8)
    assert ProxylessConfig(flops_target="300M").objective == "flops"
    with pytest.raises(ConfigError, match="not both"):
        ProxylessConfig(latency_target_ms=5.0, flops_target=3e8)
    assert ProxylessConfig(latency_target_ms=0.5).latency_target_ms == 0.5  # rescaled log form
    with pytest.raises(ConfigError, match="log T"):
        ProxylessConfig(latency_target_ms=0.5, mul_log_latency_reference=None)
    with pytest.raises(UsageError, match="grad_mode"):
        ProxylessConfig(grad_mode="three")


# -- lookup tables of a space ---------------------------------------------------------------------------------------
class _Block:
    def __init__(self, name, input_shape, values):
        self.name, self.input_shape, self.values = name, input_shape, values


class _LutSpace:
    """The part of a space a latency table needs (docs/architecture.md): blocks, make_candidate, fixed_modules, cost."""

    name = "lut-toy"

    def __init__(self) -> None:
        self.blocks = [_Block("b0", (2, 6, 6), ["c1", "c3"]), _Block("b1", (4, 6, 6), ["c1", "skip"])]

    def make_candidate(self, block, value):
        if value == "skip":
            return nn.Identity()
        cin = 2 if block == "b0" else 4
        k = int(value[1])
        return nn.Conv2d(cin, 4, k, padding=k // 2)

    def fixed_modules(self):
        return [("head", nn.Flatten(), (4, 6, 6))]

    def cost(self, arch):
        return Cost(macs=100, params=10)


def test_space_lut_round_trips_predicts_and_refuses_a_foreign_device(tmp_path):
    space = _LutSpace()
    keys = [k for k, _, _ in space_ops(space)]
    assert keys == ["fixed:head", "b0:c1", "b0:c3", "b1:c1", "b1:skip"]
    path = tmp_path / "lut.json"
    table = ensure_table(space, path=path)  # measured and cached
    assert path.exists() and sorted(table.entries) == sorted(keys)
    again = ensure_table(space, path=path, build_if_missing=False)
    assert again.entries == table.entries
    arch = {"b0": "c3", "b1": "skip"}
    assert predict_latency(table, arch) == pytest.approx(table["fixed:head"] + table["b0:c3"] + table["b1:skip"])

    wrapped = with_latency(space, table)
    cost = wrapped.cost(arch)
    assert cost.macs == 100 and cost.latency_ms == pytest.approx(predict_latency(table, arch))
    assert wrapped.name == "lut-toy"
    assert satisfied(parse_constraints(f"latency<={cost.latency_ms + 1}ms"), cost)
    assert not satisfied(parse_constraints(f"latency<={cost.latency_ms / 2}ms"), cost)

    LatencyTable(dict(table.fingerprint, processor="Some Phone SoC"), table.entries).save(path)
    with pytest.raises(UsageError, match="another device"):
        ensure_table(space, path=path)
    assert ensure_table(space, path=path, force=True).entries == table.entries
    LatencyTable(table.fingerprint, {"b0:c1": 1.0}).save(path)
    with pytest.raises(UsageError, match="lacks"):
        ensure_table(space, path=path)


# -- the method on a toy weight-sharing space: resume equals an uninterrupted run ------------------------------------

from archsearch.data.splits import TensorPair
from archsearch.methods.proxyless import ProxylessNAS
from archsearch.space import Categorical, Space
from archsearch.space.space import Arch
from support import PathToySpace, toy_splits

_OPS = {"c1": 1, "c3": 3, "skip": 0}


def _conv(k: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(4, 4, k, padding=k // 2, bias=False), nn.BatchNorm2d(4), nn.ReLU())


class _ToySpace(PathToySpace):
    """Two searchable blocks on 1x8x8 images with the per-op description a latency table needs."""
    space = Space({"b0": Categorical(list(_OPS)), "b1": Categorical(list(_OPS))}, name="toy")
    blocks = [_Block("b0", (4, 8, 8), list(_OPS)), _Block("b1", (4, 8, 8), list(_OPS))]

    def make_candidate(self, block, value):
        return _conv(_OPS[value]) if _OPS[value] else nn.Identity()

    def supernet(self) -> nn.Module:
        torch.manual_seed(0)
        blocks = [MixedOp(f"b{i}", {v: self.make_candidate(f"b{i}", v) for v in _OPS}) for i in range(2)]
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), *blocks,
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    def cost(self, arch: Arch) -> Cost:
        return Cost(macs=1000 + sum(8 * 8 * 16 * _OPS[v] ** 2 for v in arch.values()), params=100)



def _toy_context(tmp_path, crash_after=None):
    return MemoryContext(_ToySpace(), splits=toy_splits, run_dir=tmp_path, crash_after=crash_after)


def _toy_config(tmp_path, **changes) -> ProxylessConfig:
    table = {"fixed:stem": 0.2, **{op_key(b, v): (0.05 + 0.3 * _OPS[v]) for b in ("b0", "b1") for v in _OPS}}
    path = LatencyTable(device_fingerprint("cpu", 1), table).save(tmp_path / "toy-lut.json")
    values = dict(warmup_epochs=1, epochs=3, steps_per_epoch=4, batch_size=8, arch_update_every=2,
                  latency_target_ms=1.5, latency_table=str(path), bn_recalibration_batches=2, rl_batch_size=3,
                  rl_update_every=2, arch_lr=0.05)
    values.update(changes)
    return ProxylessConfig(**values)


def _run(tmp_path, config, crash_after=None):
    ctx = _toy_context(tmp_path, crash_after)
    method = ProxylessNAS(config, ctx)
    if crash_after is None:
        return method, method.run(), ctx
    with pytest.raises(SimulatedCrash):
        method.run()
    resumed_ctx = _toy_context(tmp_path)
    resumed_ctx.ledger = ctx.ledger
    resumed = ProxylessNAS(config, resumed_ctx)
    resumed.load_state_dict(resumed_ctx_latest := ctx.latest())
    assert resumed_ctx_latest["epoch"] >= 0
    return resumed, resumed.run(), resumed_ctx


@pytest.mark.parametrize("changes", [{}, {"grad_mode": "two", "loss_form": "linear"}, {"algo": "reinforce"}],
                         ids=["full-mullog", "two-linear", "reinforce"])
def test_resume_equals_an_uninterrupted_run(tmp_path, changes):
    config = _toy_config(tmp_path, **changes)
    straight, result, ctx = _run(tmp_path, config)
    resumed, resumed_result, _ = _run(tmp_path, config, crash_after=3)  # after warm-up + 2 search epochs
    for name in straight.gates.alphas:
        torch.testing.assert_close(resumed.gates.alphas[name], straight.gates.alphas[name], rtol=0, atol=0)
    assert resumed_result.best.arch == result.best.arch
    assert resumed_result.best.objectives == result.best.objectives
    resumed_weights = resumed.supernet.state_dict()
    for key, value in straight.supernet.state_dict().items():
        torch.testing.assert_close(resumed_weights[key], value, rtol=0, atol=0)
    # the arch steps happened, and logged probabilities and expected latency per step
    assert straight.arch_step_count == (3 - 1) * 2  # 2 search epochs with arch steps, every 2nd of 4 batches
    assert set(ctx.metrics) == {"proxyless_probs", "proxyless_arch"}
    row = ctx.metrics["proxyless_arch"][0]
    assert row["target"] == 1.5 and 0.2 < row["expected_latency_ms"] < 0.2 + 2 * 0.95
    assert result.best.objectives["latency_ms"] == pytest.approx(predict_latency(straight.latency_table,
                                                                                 result.best.arch))
    assert (tmp_path / "weights" / "child.pt").exists() and result.weights.per_arch == {
        result.best.arch.key: "weights/child.pt"}


@pytest.mark.parametrize("objective", [{"latency_target_ms": 1.5}, {"latency_target_ms": None, "flops_target": 2e3}],
                         ids=["latency", "flops"])
@pytest.mark.parametrize("loss_form", ["mul_log", "linear", "add"])
def test_two_path_arch_step_with_a_cost_term_keeps_unsampled_probabilities(tmp_path, objective, loss_form):
    """One two-path arch step with a hardware term: every unsampled path keeps its probability and the sampled
    pair its combined probability (the rescale); the pair itself moves. In "full" mode every path moves."""
    for mode in ("two", "full"):
        config = _toy_config(tmp_path, grad_mode=mode, loss_form=loss_form, arch_lr=0.1, **objective)
        method = ProxylessNAS(config, _toy_context(tmp_path))
        method._setup_costs()
        assert method.expected_cost is not None
        before = {name: torch.tensor(p) for name, p in method.probabilities().items()}
        method.gradient_arch_step()
        after = {name: torch.tensor(p) for name, p in method.probabilities().items()}
        for op in method.gates.ops:
            moved = ~torch.isclose(after[op.name], before[op.name], rtol=0, atol=1e-6)
            if mode == "full":
                assert bool(moved.all()), (op.name, before[op.name], after[op.name])
                continue
            pair = op.policy.sampled
            unsampled = [i for i in range(len(op.ops)) if i not in pair]
            assert len(pair) == 2 and len(unsampled) == 1
            torch.testing.assert_close(after[op.name][unsampled], before[op.name][unsampled], rtol=0, atol=1e-6)
            assert float(after[op.name][pair].sum()) == pytest.approx(float(before[op.name][pair].sum()), abs=1e-6)
            assert bool(moved[pair].all())


@pytest.mark.parametrize("grad_mode", ["full", "two"])
def test_arch_memory_modes_take_the_same_arch_steps(tmp_path, grad_mode):
    """The method's arch step (hardware loss, Adam, two-path rescale) moves the alphas identically whether the
    inactive outputs are kept or recomputed; "recompute" is the default."""
    assert ProxylessConfig().arch_memory == "recompute"
    with pytest.raises(UsageError, match="arch_memory"):
        ProxylessConfig(arch_memory="checkpoint")
    alphas = {}
    for memory in ("keep", "recompute"):
        method = ProxylessNAS(_toy_config(tmp_path, grad_mode=grad_mode, arch_lr=0.1, arch_memory=memory),
                              _toy_context(tmp_path))
        method._setup_costs()
        assert all(op.policy.recompute == (memory == "recompute") for op in method.gates.ops)
        for _ in range(3):
            method.gradient_arch_step()
        alphas[memory] = {name: alpha.detach().clone() for name, alpha in method.gates.alphas.items()}
    for name, alpha in alphas["keep"].items():
        torch.testing.assert_close(alphas["recompute"][name], alpha, rtol=0, atol=1e-6)


class _InPlaceAfterChoice(nn.Module):
    """A user model that adds a residual in place onto a choice's output (``out += x``)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.choice = MixedOp("b0", {"c1": nn.Conv2d(3, 3, 1), "c3": nn.Conv2d(3, 3, 3, padding=1)})
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.choice(x)
        out += x
        return self.head(out.mean((2, 3)))


def test_an_in_place_op_on_a_choice_output_falls_back_to_keeping_outputs(tmp_path):
    """Autograd forbids modifying `GateGradient`'s pass-through output in place: `recompute_allowed` detects it
    (eval-mode probe, gate state restored), and the method then keeps outputs, with the same gradients."""
    model = _InPlaceAfterChoice()
    alpha = nn.Parameter(torch.tensor([0.2, -0.1]))
    model.choice.policy = BinaryGate(alpha)
    model.choice.policy.sample(torch.Generator().manual_seed(0), "full")
    x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    assert not recompute_allowed(model, x)
    assert model.training and model.choice.policy.recompute and not model.choice.policy.arch_grad
    assert model.choice.policy.sampled == [0, 1]
    assert recompute_allowed(_conv_supernet(True, "full", 0)[0], torch.randn(2, 3, 7, 7))
    model.choice.policy.arch_grad = True
    with pytest.raises(RuntimeError, match="modified inplace"):
        model(x)
    model.choice.policy.recompute = False
    model(x).sum().backward()  # the kept form runs
    assert model.choice.policy.gate.grad is not None

    method = ProxylessNAS(_toy_config(tmp_path), _toy_context(tmp_path))
    method._check_recompute(method.ctx.splits())
    assert all(op.policy.recompute for op in method.gates.ops) and not method.ctx.messages
    method.supernet = _InPlaceAfterChoice()
    method.gates = BinaryGates(method.supernet, init_std=1e-3, generator=torch.Generator().manual_seed(0),
                               device=torch.device("cpu"), recompute=True)
    method._check_recompute(types.SimpleNamespace(val=TensorPair(x, torch.zeros(4, dtype=torch.long))))
    assert not method.supernet.choice.policy.recompute
    assert "in place" in method.ctx.messages[-1]


def test_a_tight_latency_target_pushes_probability_to_cheap_ops(tmp_path):
    config = _toy_config(tmp_path, warmup_epochs=0, epochs=4, arch_start_epoch=0, arch_update_every=1,
                         latency_target_ms=0.3, loss_form="linear", linear_lambda=5.0, arch_lr=0.1)
    method, result, _ = _run(tmp_path, config)
    probs = method.probabilities()
    for name in ("b0", "b1"):
        assert probs[name][2] == max(probs[name])  # "skip" (0.05 ms) wins every block
    assert dict(result.best.arch) == {"b0": "skip", "b1": "skip"}


def test_report_plots_from_logged_metrics(tmp_path):
    import json

    from archsearch.report.methods.proxyless import plots

    config = _toy_config(tmp_path, warmup_epochs=0, epochs=2, arch_start_epoch=0, arch_update_every=1)
    _, _, ctx = _run(tmp_path, config)
    (tmp_path / "metrics").mkdir()
    for series in ("proxyless_probs", "proxyless_arch"):
        lines = [json.dumps(row) for row in ctx.metrics[series]]
        (tmp_path / "metrics" / f"{series}.jsonl").write_text("\n".join(lines) + "\n")
    made = plots(tmp_path, tmp_path / "report")
    assert sorted(p.name for p in made) == ["proxyless_expected_latency.png", "proxyless_final_probabilities.png",
                                            "proxyless_op_probabilities.png"]
    assert all(p.stat().st_size > 1000 for p in made)


def test_a_latency_or_flops_constraint_is_the_target_when_none_is_given():
    from archsearch.methods.proxyless import _objective

    assert _objective(ProxylessConfig(), parse_constraints("params<=1M,latency<=2ms")) == ("latency", 2.0)
    assert _objective(ProxylessConfig(), parse_constraints("flops<=5M")) == ("flops", 5e6)
    assert _objective(ProxylessConfig(latency_target_ms=3.0), parse_constraints("flops<=5M")) == ("latency", 3.0)
    assert _objective(ProxylessConfig(), ()) == (None, None)


# -- end to end on the real mobilenet space, through the experiment layer ---------------------------------------------
@pytest.mark.integration
def test_mobilenet_smoke_resume_equals_an_uninterrupted_run(tmp_path):
    """The real run (Experiment, SQLite ledger, checkpoint files, metric files) on `mobilenet` smoke: crashed after
    the warm-up and the first search epoch, then resumed, it ends as the uninterrupted run (two-path arch steps
    against a latency target, from a table given as a file)."""
    from archsearch.experiment.run import run
    from archsearch.experiment.testing import run_with_crash
    from archsearch.report import open_run

    from archsearch.experiment.settings import resolve_settings
    from archsearch.spaces import create_space

    common = dict(space="mobilenet", preset="smoke", data="digits", quiet=True)
    settings = resolve_settings("proxyless", **{k: v for k, v in common.items() if k != "quiet"})
    space = create_space("mobilenet", **settings.space["options"])  # the space the run resolves for digits
    # a synthetic table (this test checks resume, not timing): skip cheap, MBConvs 0.2-0.5 ms
    entries = {key: 0.05 if key.endswith(":skip") else 0.2 + 0.01 * i for i, (key, _, _) in enumerate(space_ops(space))}
    lut = LatencyTable(device_fingerprint("cpu", 1), entries).save(tmp_path / "lut.json")
    # arch steps in both search epochs (every 2nd of 6 batches), so the crash falls between arch steps
    options = dict(common, latency_target_ms=2.0, grad_mode="two", latency_table=str(lut), arch_start_epoch=0,
                   arch_update_every=2, measure_derived_latency=False)
    full = run("proxyless", runs_dir=tmp_path / "runs", name="full", **options)
    resumed = run_with_crash("proxyless", 2, runs_dir=tmp_path / "runs", name="crashed", **options)
    assert dict(resumed.best.arch) == dict(full.best.arch)
    assert resumed.best.objectives == full.best.objectives
    assert resumed.extra["probabilities"] == full.extra["probabilities"]
    for name in ("proxyless_arch.jsonl", "proxyless_probs.jsonl"):  # metric rows cut back and rewritten, not doubled
        assert (tmp_path / "runs" / "crashed" / "metrics" / name).read_text() == \
            (tmp_path / "runs" / "full" / "metrics" / name).read_text()

    def completed(name):
        return [(t.arch, t.objectives) for t in open_run(tmp_path / "runs" / name).trials() if t.state == "complete"]

    assert completed("crashed") == completed("full") and len(completed("full")) == 3  # 2 epochs + derived
    child = torch.load(tmp_path / "runs" / "crashed" / "weights" / "child.pt", weights_only=True)
    reference = torch.load(tmp_path / "runs" / "full" / "weights" / "child.pt", weights_only=True)
    for key, value in reference.items():
        torch.testing.assert_close(child[key], value, rtol=0, atol=0)
