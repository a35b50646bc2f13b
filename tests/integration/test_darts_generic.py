"""DARTS / Fair DARTS on spaces other than the cell space: a user's LayerChoice / InputChoice module and `mobilenet`.

Per choice alphas, derivation (argmax, `none` never picked by DARTS, Fair DARTS' kept set), the zero-one loss on a
user space, the inherited-weight objectives, exact resume, and the one-line refusal of a space without a supernet."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from archsearch.errors import ConfigError
from archsearch.experiment.testing import MemoryContext, SimulatedCrash
from archsearch import LayerChoice, ModuleSpace
from archsearch.spaces import create_space
from support import ROOT, ChoiceToy, rows_splits


def _toy_space() -> ModuleSpace:
    """The shared user space (`ChoiceToy`): choice `a` (4 ops, one of them `none`), choice `b` (a list: "0", "1"),
    `merge` (InputChoice: 2 of {stem, a, b}, 3 combinations); 4 classes, as `rows_splits`."""
    torch.manual_seed(0)  # the template's init; every search re-initialises from its own generator anyway
    return ModuleSpace(ChoiceToy(num_classes=4), input_shape=(1, 8, 8), num_classes=4, name="toy")


def _method(name, **changes):
    from archsearch.methods.darts import Darts, DartsConfig, FairDarts, FairDartsConfig

    values = dict(epochs=2, steps_per_epoch=2, batch_size=8, bn_recalibration_batches=2, **changes)
    return (Darts, DartsConfig(**values)) if name == "darts" else (FairDarts, FairDartsConfig(**values))


def _search(name, space=None, **changes):
    cls, config = _method(name, **changes)
    return cls(config, MemoryContext(space or _toy_space(), splits=rows_splits())).search


# -- alphas and derivation --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["darts", "fairdarts"])
def test_one_alpha_vector_per_choice_over_its_own_candidates(name):
    search = _search(name)
    assert {k: v.numel() for k, v in search.alphas.items()} == {"a": 4, "b": 2, "merge": 3}
    assert search.choices == {"a": ["conv3", "conv5", "pool", "none"], "b": ["0", "1"],
                              "merge": ["0,1", "0,2", "1,2"]}  # no `none` added: only the user's own
    # the weighted supernet mixes every candidate: each alpha gets a gradient from the validation loss
    search._setup()
    (x, y), (x_val, y_val) = next(iter(search._batches)), next(iter(search._arch_batches))
    search.arch_step(x, y, x_val, y_val)
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in search.alphas.values())


def test_darts_derives_the_argmax_and_never_the_users_none():
    search = _search("darts", order=1)
    with torch.no_grad():
        search.alphas["a"].copy_(torch.tensor([0.1, 0.3, 0.2, 5.0]))  # `none` strongest: skipped, conv5 next
        search.alphas["b"].copy_(torch.tensor([-1.0, 1.0]))
        search.alphas["merge"].copy_(torch.tensor([0.0, 2.0, 1.0]))
    arch = search.derived_arch()
    assert dict(arch) == {"a": "conv5", "b": "1", "merge": "0,2"}
    assert arch in search.space.space


def test_fairdarts_takes_the_highest_sigmoid_and_reports_the_kept_set():
    search = _search("fairdarts")
    with torch.no_grad():
        search.alphas["a"].copy_(torch.tensor([2.0, 2.5, -3.0, 0.0]))  # sigmoid 0.88, 0.92 (>= 0.85), 0.05, 0.5
        search.alphas["b"].copy_(torch.tensor([0.5, -0.5]))  # none reaches 0.85: still one op must run
        search.alphas["merge"].copy_(torch.tensor([-1.0, 3.0, 3.0]))  # a tie: the earlier combination
    chosen, kept = search.derive_choices()
    assert chosen == {"a": "conv5", "b": "0", "merge": "0,2"}
    assert kept == {"a": ["conv3", "conv5"], "b": [], "merge": ["0,2", "1,2"]}


def test_zero_one_loss_acts_on_a_user_space():
    """The architecture gradient with w01 > 0 is the one with w01 = 0 plus w01 x the gradient of L01 (Fair DARTS
    eq. 5): the same supernet, batch and alphas (drawn away from 0, where L01's gradient vanishes)."""
    from archsearch.methods.darts import zero_one_loss

    grads = []
    for w01 in (0.0, 10.0):
        search = _search("fairdarts", w01=w01, arch_init_std=0.5)
        search._setup()
        (x, y), (x_val, y_val) = next(iter(search._batches)), next(iter(search._arch_batches))
        alphas = {k: a.detach().clone() for k, a in search.alphas.items()}
        search.arch_step(x, y, x_val, y_val)
        grads.append({k: a.grad.clone() for k, a in search.alphas.items()})
    leaves = [a.requires_grad_(True) for a in alphas.values()]
    expected = torch.autograd.grad(10.0 * zero_one_loss(leaves, "l2"), leaves)
    for (key, without), with_loss, extra in zip(grads[0].items(), grads[1].values(), expected):
        torch.testing.assert_close(with_loss - without, extra, rtol=1e-4, atol=1e-7)
        assert extra.abs().sum() > 0, key


# -- the result and exact resume ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,changes", [("darts", {"order": 2}), ("fairdarts", {})])
def test_user_space_run_resumes_exactly_and_scores_the_inherited_child(name, changes, tmp_path):
    space, splits = _toy_space(), rows_splits()
    cls, config = _method(name, **changes)
    ctx = MemoryContext(space, splits=splits, run_dir=tmp_path / "straight")
    straight = cls(config, ctx)
    result = straight.run()

    crashed_ctx = MemoryContext(space, splits=splits, crash_after=1)
    with pytest.raises(SimulatedCrash):
        cls(config, crashed_ctx).run()
    resumed = cls(config, MemoryContext(space, splits=splits, run_dir=tmp_path / "resumed"))
    resumed.load_state_dict(crashed_ctx.latest())
    resumed_result = resumed.run()

    assert resumed_result.best.arch == result.best.arch
    assert resumed_result.best.objectives == result.best.objectives
    assert resumed_result.extra["weights_per_choice"] == result.extra["weights_per_choice"]
    resumed_weights = resumed.search.supernet.state_dict()
    for key, value in straight.search.supernet.state_dict().items():
        assert torch.equal(resumed_weights[key], value)

    best = result.best
    assert dict(best.arch) == dict(straight.search.derived_arch())
    cost = space.cost(best.arch)
    assert best.objectives["macs"] == cost.macs and best.objectives["params"] == cost.params
    assert 0.0 <= best.objectives["accuracy"] <= 1.0
    # the child saved for export is the standalone network of the derived arch, with the supernet's weights
    child = space.build(best.arch)
    child.load_state_dict(torch.load(tmp_path / "straight" / result.weights.per_arch[best.arch.key]))
    assert torch.equal(child.head[-1].weight, straight.search.supernet.head[-1].weight)
    rows = ctx.metrics["alphas"]
    assert [row["step"] for row in rows] == [0, 1, 2]
    assert set(rows[0]) - {"step"} == {f"{c}/{op}" for c, ops in straight.search.choices.items() for op in ops}
    assert [h["derived"] for h in result.extra["history"]][-1] == dict(best.arch)
    (trial,) = ctx.ledger.trials(phase="derive")
    assert trial.values["accuracy"] == best.objectives["accuracy"]
    if name == "fairdarts":
        assert set(best.attrs["kept"]) == {"a", "b", "merge"}


# -- mobilenet, through the experiment layer --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["darts", "fairdarts"])
@pytest.mark.integration
def test_smoke_run_on_mobilenet(name, tmp_path):
    from archsearch.experiment.run import run

    result = run(name, space="mobilenet", preset="smoke", data="digits", runs_dir=tmp_path, name="m", quiet=True)
    space = create_space("mobilenet", preset="smoke", input_size=8)
    arch = space.space.validate(dict(result.best.arch))
    assert result.best.objectives["macs"] == space.cost(arch).macs
    assert result.extra["choices"] == {b.name: list(b.values) for b in space.blocks}
    assert (tmp_path / "m" / result.weights.supernet).is_file()
    assert (tmp_path / "m" / "result.json").is_file()


# -- a space the method cannot weigh --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["darts", "fairdarts"])
def test_a_space_without_supernet_is_refused_in_one_line(name):
    from archsearch.methods import method_spec

    hierarchical = create_space("hierarchical", preset="smoke")
    with pytest.raises(ConfigError, match=rf"^{name} needs a weight-sharing space .* 'hierarchical' has none$"):
        method_spec(name).check_space(hierarchical, name, _method(name)[1])
    with pytest.raises(ConfigError, match="weight-sharing"):
        _search(name, space=hierarchical)


# -- report -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["darts", "fairdarts"])
def test_report_plots_a_generic_run_per_choice(tmp_path, method):
    """Choices with different candidate sets (a block without `skip`) get one panel each; no cell plots."""
    import importlib
    import json

    choices = {"b00": ["k3e3", "k5e3"], "b01": ["k3e3", "k5e3", "skip"], "merge": ["0,1", "0,2", "1,2"]}
    (tmp_path / "metrics").mkdir()
    rng = np.random.default_rng(0)
    with open(tmp_path / "metrics" / "alphas.jsonl", "w") as f:
        for epoch in range(3):
            row = {f"{c}/{op}": float(rng.random()) for c, ops in choices.items() for op in ops}
            f.write(json.dumps({"step": epoch, **row}) + "\n")
    with open(tmp_path / "metrics" / "search.jsonl", "w") as f:
        f.write(json.dumps({"step": 1, "train_loss": 1.0, "val_accuracy": 0.5}) + "\n")
    module = importlib.import_module(f"archsearch.report.methods.{method}")
    from archsearch.report.methods.darts import choice_weights

    paths = module.plots(tmp_path, tmp_path / "report")
    assert sorted(p.name for p in paths) == sorted([f"{method}_alphas.png", f"{method}_final_weights.png"])
    assert all(p.stat().st_size > 1000 for p in paths)
    rows = [json.loads(line) for line in (tmp_path / "metrics" / "alphas.jsonl").read_text().splitlines()]
    parsed = choice_weights(rows)
    assert {c: ops for c, (ops, _) in parsed.items()} == choices
    assert parsed["b01"][1].shape == (3, 3) and parsed["b01"][1][2, 1] == rows[1]["b01/skip"]


@pytest.mark.parametrize("name", ["darts", "fairdarts"])
def test_the_cli_refuses_a_space_without_supernet_before_creating_anything(name, tmp_path, capsys):
    from archsearch.cli import main

    code = main(["run", name, "--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--name", "h",
                 "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "needs a weight-sharing space" in err[0] and "'hierarchical'" in err[0]
    assert not (tmp_path / "h").exists()


# -- the example user space, by file, through the CLI -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["darts", "fairdarts"])
@pytest.mark.integration
def test_cli_run_on_the_example_user_space_and_show_prints_its_leaderboard(name, tmp_path, capsys):

    from archsearch.cli import main
    from archsearch.report import open_run

    source = f"{ROOT / 'examples' / 'user_space.py'}:make_space"
    assert main(["run", name, "--preset", "smoke", "--space", source, "--data", "digits", "--runs-dir",
                 str(tmp_path), "--name", "u"]) == 0
    result = open_run(tmp_path / "u").result
    labels = {f"layer{i}" for i in range(1, 6)}
    assert set(result["best"]["arch"]) == labels and set(result["extra"]["choices"]) == labels
    assert 0 <= result["best"]["objectives"]["accuracy"] <= 1
    capsys.readouterr()
    assert main(["show", "u", "--runs-dir", str(tmp_path)]) == 0
    assert "leaderboard" in capsys.readouterr().out


def test_candidates_of_different_output_shapes_are_refused_in_one_line():
    """A stride-2 pool beside an identity suits single-path methods (a global pool follows) but not a weighted sum."""

    class Strided(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(1, 8, 3, padding=1)
            self.down = LayerChoice({"same": nn.Identity(), "halve": nn.MaxPool2d(2)}, label="down")
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

        def forward(self, x):
            return self.head(self.down(self.stem(x)))

    space = ModuleSpace(Strided(), input_shape=(1, 8, 8), num_classes=4, name="strided")
    from archsearch.methods.darts import check_space

    with pytest.raises(ConfigError, match=r"^darts sums every candidate .* choice 'down' gives same \[8, 8, 8\], "
                                          r"halve \[8, 4, 4\]$"):
        check_space(space, "darts")
    check_space(_toy_space(), "darts")  # equal shapes: accepted
