"""Spaces users write themselves: by file or module path (CLI and API), as objects, with every method that fits,
reproducible under the run's seed, and bad input as one line with exit 2 and nothing created."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import yaml
from support import ROOT, run_cli

import archsearch
from archsearch import LayerChoice, ModuleSpace, freeze, set_path
from archsearch.errors import ConfigError, UsageError
from archsearch.experiment.settings import resolve_settings
from archsearch.experiment.testing import SimulatedCrash, crash_after
from archsearch.report import open_run
from archsearch.spaces import create_space, user

EXAMPLE = ROOT / "examples" / "user_space.py"
SOURCE = f"{EXAMPLE}:make_space"
DIGITS = dict(data="digits", preset="smoke", quiet=True)
LABELS = [f"layer{i}" for i in range(1, 6)]
OPS = ("conv3x3", "conv5x5", "sepconv3x3", "maxpool3x3", "identity")


def _example_module():
    spec = importlib.util.spec_from_file_location("example_user_space_for_tests", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- loading -----------------------------------------------------------------------------------------------------------
def test_space_by_file_path_is_recorded_absolute_with_its_hash_and_rebuilt_from_it(monkeypatch):
    monkeypatch.chdir(ROOT)
    settings = resolve_settings("random", space="examples/user_space.py:make_space", data="digits", preset="smoke")
    assert settings.space["name"] == "user" and settings.name.startswith("random-make_space-")
    options = settings.space["options"]
    assert options["source"] == SOURCE  # absolute: resume and workers find it from any directory
    assert len(options["sha256"]) == 64
    assert options["input_shape"] == [1, 8, 8] and options["num_classes"] == 10  # from the data, not the defaults
    yaml.safe_load(yaml.safe_dump(settings.space))  # plain values
    search_space = create_space("user", **options)  # what a worker and `resume` do
    assert isinstance(search_space, ModuleSpace) and search_space.input_shape == (1, 8, 8)
    assert search_space.space.names() == LABELS
    assert all(search_space.space.choices[n].values == OPS for n in LABELS)
    assert search_space.model.head[-1].out_features == 10


def test_space_by_module_path_and_space_options_become_keyword_arguments(tmp_path, monkeypatch):
    package = tmp_path / "myspaces"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        from archsearch import LayerChoice

        def tiny(input_shape, num_classes, width=4):
            c, h, w = input_shape
            return nn.Sequential(nn.Conv2d(c, width, 3, padding=1),
                                 LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act"),
                                 nn.Flatten(), nn.Linear(width * h * w, num_classes))
    """))
    monkeypatch.chdir(tmp_path)  # the package is found from the working directory, as with python -m
    settings = resolve_settings("random", space={"name": "myspaces.nets:tiny", "options": {"width": 3}},
                                data="digits", preset="smoke")
    options = settings.space["options"]
    assert options["source"] == "myspaces.nets:tiny" and options["kwargs"] == {"width": 3}
    search_space = create_space("user", **options)
    assert search_space.model[0].out_channels == 3 and search_space.space.names() == ["act"]
    with pytest.raises(UsageError, match=r"unknown option of space .*'depth'"):
        resolve_settings("random", space={"name": "myspaces.nets:tiny", "options": {"depth": 3}}, data="digits",
                         preset="smoke")
    # a function passed as an object, importable from its module, is recorded by its import path
    from myspaces.nets import tiny

    assert resolve_settings("random", space=tiny, data="digits", preset="smoke").space["options"]["source"] == \
        "myspaces.nets:tiny"


def test_api_objects_run_in_this_process_and_a_new_process_is_told_to_use_a_file(monkeypatch):
    example = _example_module()
    torch.manual_seed(5)
    model = example.make_space((1, 8, 8), 10)
    as_module = resolve_settings("random", space=model, data="digits", preset="smoke").space["options"]
    as_space = resolve_settings("random", space=ModuleSpace(model), data="digits", preset="smoke").space["options"]
    as_lambda = resolve_settings("random", space=lambda **kw: example.make_space(**kw), data="digits",
                                 preset="smoke").space["options"]
    for options in (as_module, as_space, as_lambda):
        assert options["source"].startswith("object:") and options["input_shape"] == [1, 8, 8]
        assert create_space("user", **options).space.names() == LABELS
    # the module object's weights never decide the search: fresh networks are re-initialised copies
    fresh = create_space("user", **as_module)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        first = fresh.supernet().state_dict()
        torch.manual_seed(0)
        second = fresh.supernet().state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["stem.0.weight"], model.stem[0].weight)
    monkeypatch.setattr(user, "_objects", {})  # what a new process sees
    with pytest.raises(UsageError, match="Python object given to archsearch.run in another process.*FILE.py"):
        create_space("user", **as_module)
    with pytest.raises(UsageError, match="exists in this process only"):
        resolve_settings("random", space=model, data="digits", preset="smoke", executor="ray")


def test_a_fresh_model_runs_its_first_candidates_until_a_path_is_set():
    torch.manual_seed(0)
    model = nn.Sequential(LayerChoice({"a": nn.Identity(), "b": nn.Flatten()}, label="x"))
    x = torch.randn(2, 3, 4)
    assert model(x).shape == (2, 3, 4)  # no "no active path" error: the first candidate runs
    set_path(model, {"x": "b"})
    assert model(x).shape == (2, 12)
    assert isinstance(freeze(model, {"x": "a"})[0], nn.Identity)


# -- every method that fits, on the example space -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["random", "evolution", "spos", "greedynas", "proxyless"])
@pytest.mark.integration
def test_each_method_runs_on_the_example_user_space_and_show_prints_its_leaderboard(capsys, tmp_path, method):
    code, out, err = run_cli(capsys, "run", method, "--preset", "smoke", "--space", SOURCE, "--data", "digits",
                             "--runs-dir", str(tmp_path), "--name", "u")
    assert code == 0, err
    result = open_run(tmp_path / "u").result
    assert set(result["best"]["arch"]) == set(LABELS) and set(result["best"]["arch"].values()) <= set(OPS)
    assert 0 <= result["best"]["objectives"]["accuracy"] <= 1
    code, out, _ = run_cli(capsys, "show", "u", "--runs-dir", str(tmp_path))
    assert code == 0 and "leaderboard" in out and "space=user_space.py:make_space" in out
    trials = [t for t in open_run(tmp_path / "u").trials() if t.state == "complete"]
    assert trials and all(set(t.arch) == set(LABELS) for t in trials)
    if method == "evolution":  # the paper's mutation, on a flat space: a winner with one choice changed
        by_key = {t.attrs["key"]: t for t in trials}
        mutants = [t for t in trials if t.attrs.get("origin") == "mutation"]
        assert mutants
        for child in mutants:
            parent = by_key[f"evolution/{child.attrs['parent']}"]
            assert sum(child.arch[n] != parent.arch[n] for n in LABELS) == 1


@pytest.mark.integration
def test_the_example_npz_is_learnable_data_the_example_space_searches(tmp_path, monkeypatch):
    out = tmp_path / "small.npz"
    monkeypatch.setattr(sys, "argv", ["make_npz.py", str(out), "--train", "300", "--test", "100"])
    spec = importlib.util.spec_from_file_location("example_make_npz_for_tests", ROOT / "examples" / "make_npz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    arrays = np.load(out, allow_pickle=False)
    assert arrays["x_train"].shape == (300, 16, 16) and arrays["x_train"].dtype == np.uint8
    assert sorted(np.bincount(arrays["y_train"])) == [30] * 10 and len(arrays["classes"]) == 10
    result = archsearch.run("random", space=SOURCE, data=str(out), preset="smoke", quiet=True, runs_dir=tmp_path,
                            evaluations=2)
    assert set(result.best.arch) == set(LABELS)
    assert yaml.safe_load((Path(result.run_dir) / "config.yaml").read_text())["space"]["options"][
        "input_shape"] == [1, 16, 16]  # the space was called with the file's image shape


# -- reproducibility ------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_same_seed_same_result_whatever_the_global_rng_when_the_space_was_made(tmp_path):
    example = _example_module()
    results = []
    for i, global_seed in enumerate((1, 2)):
        torch.manual_seed(global_seed)  # the state a user's session happens to be in
        model = example.make_space((1, 8, 8), 10)
        for j, space in enumerate((SOURCE, model)):
            result = archsearch.run("spos", space=space, seed=0, name=f"r{i}{j}", runs_dir=tmp_path, final_epochs=0,
                                    **DIGITS)  # the search's choice and accuracy: no final training needed
            results.append((j, dict(result.best.arch), result.best.objectives["accuracy"]))
    by_form = {j: [(a, acc) for k, a, acc in results if k == j] for j in (0, 1)}
    assert by_form[0][0] == by_form[0][1] and by_form[1][0] == by_form[1][1]


# -- resume ---------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_in_a_new_process_imports_the_space_again_and_ends_as_uninterrupted(tmp_path):
    options = dict(space=SOURCE, seed=0, runs_dir=tmp_path, evaluations=4, population=2, **DIGITS)
    whole = archsearch.run("evolution", name="whole", **options)
    with pytest.raises(SimulatedCrash), crash_after(2):
        archsearch.run("evolution", name="cut", **options)
    proc = subprocess.run([sys.executable, "-m", "archsearch.cli", "resume", "cut", "--runs-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    resumed = open_run(tmp_path / "cut").result["best"]
    assert resumed["arch"] == dict(whole.best.arch)
    assert resumed["objectives"]["accuracy"] == pytest.approx(whole.best.objectives["accuracy"], abs=0)


def test_resume_refuses_a_space_file_that_changed(tmp_path):
    space_file = tmp_path / "space.py"
    space_file.write_text(EXAMPLE.read_text())
    runs = tmp_path / "runs"
    options = dict(space=f"{space_file}:make_space", seed=0, runs_dir=runs, evaluations=3, population=2, **DIGITS)
    with pytest.raises(SimulatedCrash), crash_after(1):
        archsearch.run("random", name="cut", **options)
    space_file.write_text(EXAMPLE.read_text().replace("CHANNELS = 16", "CHANNELS = 8"))
    with pytest.raises(ConfigError, match=r"space file .*space.py changed since the run recorded it"):
        archsearch.resume(runs / "cut", quiet=True)


# -- bad input: one line, exit 2, no run directory ------------------------------------------------------------------
BAD_SPACES = {
    "missing.py:make": ("missing.py:make", "space file 'missing.py' not found"),
    "no function": ("bad.py:mak_space", "unknown function in"),
    "raises": ("bad.py:raises", "space bad.py:raises raised ValueError: no such width 3"),
    "not a module": ("bad.py:returns_list", "returned a list, not an nn.Module"),
    "no choices": ("bad.py:no_choices", "has no LayerChoice / InputChoice"),
    "wrong output": ("bad.py:wrong_classes", "output for a batch of shape (2, 1, 8, 8) is (2, 3), expected (2, 10)"),
    "syntax": ("syntax.py:f", "cannot load space file syntax.py: SyntaxError"),
    "no supernet": ("hierarchical", "spos needs a weight-sharing space"),
    "no latency table": ("bad.py:nested", "choice 'inner' sits inside a candidate of choice 'outer'"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPACES))
def test_bad_space_input_is_one_line_exit_2_and_creates_nothing(capsys, tmp_path, monkeypatch, case):
    (tmp_path / "bad.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        from archsearch import LayerChoice

        def make_space(**data):
            return nn.Sequential(LayerChoice([nn.Identity(), nn.ReLU()], label="a"), nn.Flatten(),
                                 nn.Linear(64, data["num_classes"]))

        def raises(**data):
            raise ValueError("no such width\\n3")

        def returns_list(**data):
            return [nn.ReLU()]

        def no_choices(**data):
            return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

        def wrong_classes(**data):
            return nn.Sequential(LayerChoice([nn.Identity()], label="a"), nn.Flatten(), nn.Linear(64, 3))

        def nested(**data):
            inner = LayerChoice([nn.Identity(), nn.ReLU()], label="inner")
            return nn.Sequential(LayerChoice([nn.Sequential(inner), nn.Identity()], label="outer"), nn.Flatten(),
                                 nn.Linear(64, data["num_classes"]))
    """))
    (tmp_path / "syntax.py").write_text("def f(:\n")
    (tmp_path / "make_space.py").write_text(EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    space, fragment = BAD_SPACES[case]
    runs = tmp_path / "runs"
    # a method option this space cannot serve: a latency objective needs a table of the space's ops, which nested
    # choices cannot have (an inner choice's cost depends on the outer one)
    latency = ["--set", "search_cost=latency"] if case == "no latency table" else []
    code, out, err = run_cli(capsys, "run", "spos", "--preset", "smoke", "--space", space, "--data", "digits",
                             "--runs-dir", str(runs), "--name", "bad", *latency)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("archsearch: error: ") and "Traceback" not in err
    assert fragment in err, err
    assert not runs.exists()


# -- latency tables --------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_a_user_space_latency_table_from_the_cli_serves_a_constrained_run(capsys, tmp_path, monkeypatch):
    """`latency build --space FILE.py:FN --data DATA` measures the table a run on that data looks for; the run
    then reports its chosen net's table and measured latency, naming the runtime."""
    from archsearch.cost import latency

    monkeypatch.setattr(latency, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setenv("ARCHSEARCH_PROGRESS", "0")
    fast = ["--warmup", "1", "--repeats", "3", "--rounds", "1"]
    code, _, err = run_cli(capsys, "latency", "build", "--space", SOURCE, *fast)
    assert code == 2 and err.count("\n") == 1 and "needs --data" in err
    code, out, _ = run_cli(capsys, "latency", "build", "--space", SOURCE, "--data", "digits", *fast)
    assert code == 0 and "measuring 27 ops" in out and "measured in torch" in out, out
    (table_file,) = (tmp_path / "cache").glob("make_space-*.json")
    result = archsearch.run("random", space=SOURCE, constraints=["latency<=1s"], runs_dir=tmp_path / "runs",
                            evaluations=2, population=2, final_epochs=0, **DIGITS)
    extra = result.extra
    assert extra["measured_latency_ms"] > 0 and extra["latency_runtime"] == "torch"
    table = latency.LatencyTable.load(table_file)
    assert extra["table_latency_ms"] == pytest.approx(latency.predict_latency(table, result.best.arch))
    assert list((tmp_path / "cache").glob("*.json")) == [table_file]  # found, not measured again
    assert result.best.objectives["latency_ms"] == pytest.approx(extra["table_latency_ms"])  # trials carry it too


@pytest.mark.integration
def test_proxyless_latency_loss_on_a_user_space(tmp_path):
    """ProxylessNAS's expected latency comes from the user space's table; the derived net's table latency and its
    end-to-end time are both reported, with the runtime."""
    from archsearch.cost.latency import build_table, predict_latency

    space = create_space("user", source=SOURCE, input_shape=[1, 8, 8], num_classes=10)
    table = build_table(space, warmup=1, repeats=3, rounds=1, calibration=3, heldout=1, warn=lambda m: None)
    path = table.save(tmp_path / "lut.json")
    target = predict_latency(table, {f"layer{i}": "conv3x3" for i in range(1, 6)})
    result = archsearch.run("proxyless", space=SOURCE, runs_dir=tmp_path / "runs", latency_target_ms=target,
                            latency_table=str(path), final_epochs=0, **DIGITS)
    assert result.best.objectives["latency_ms"] == pytest.approx(predict_latency(table, result.best.arch))
    assert result.extra["measured_latency_ms"] > 0 and result.extra["latency_runtime"] == "torch"
    rows = (tmp_path / "runs").glob("*/metrics/proxyless_arch.jsonl")
    logged = [json.loads(line) for f in rows for line in f.read_text().splitlines()]
    assert logged and all(0 < row["expected_latency_ms"] for row in logged) and logged[0]["target"] == target
