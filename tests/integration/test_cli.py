"""The `archsearch` command: one-line errors with exit 2, ls / show / report / export / train on a tiny run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from archsearch.errors import ArchsearchError, ConfigError, UsageError
from archsearch.experiment.options import check_keys, load_run_config, parse_assignments
from archsearch.export import export_run, load_exported, require_onnx
from archsearch.spaces import SPACES, register_space
from support import ToySpace, run_cli, write_run

# -- errors -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    ([], "the following arguments are required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["show"], "the following arguments are required: run"),
    (["export", "x", "--format", "pdf"], "invalid choice: 'pdf'"),
    (["show", "nope", "--runs-dir", "RUNS"], "no run 'nope'"),
    (["train", "missing.json", "--space", "clitoy"], "no arch file 'missing.json'"),
    (["latency", "build", "--batch-size", "two"], "invalid int value: 'two'"),
    (["latency", "build", "--repeats", "0"], "--batch-size, --repeats, --rounds and --threads must be >= 1"),
    (["train", "missing.json", "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["run", "random", "--budgt", "3"], "unrecognized argument '--budgt' for method 'random'; did you mean "
                                        "'--budget'?"),  # the closest of the run's own flags and the method's
    (["run", "darts", "--ordr", "2"], "did you mean '--order'?"),
])
def test_usage_errors_are_one_line_and_exit_2(capsys, tmp_path, argv, fragment):
    argv = [str(tmp_path) if a == "RUNS" else a for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("archsearch: error: ") and fragment in err
    assert "Traceback" not in err


def test_run_help_lists_the_methods_and_an_unknown_method_is_a_usage_error(capsys):
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0 and out.startswith("usage: archsearch run") and "\nmethods: darts (DARTS), evolution" in out
    code, _, err = run_cli(capsys, "run", "nosuch", "-h")
    assert code == 2 and "unknown method 'nosuch'" in err


def test_a_subprocess_never_prints_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "archsearch.cli", "show", "ghost", "--runs-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == f"archsearch: error: no run 'ghost' (no runs in {tmp_path})\n"


def test_config_file_rejects_unknown_keys_with_a_suggestion(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("method: random\nbudjet: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'budjet' in .*run.yaml; did you mean 'budget'\?"):
        load_run_config(path)
    path.write_text("method: random\nbudget: 3\nconstraints: flops<=3M\nmethod_options: {trials: 2}\n")
    assert load_run_config(path) == {"method": "random", "budget": 3, "constraints": ["flops<=3M"],
                                     "method_options": {"trials": 2}}
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_run_config(path)


def test_set_values_are_typed_and_checked():
    assert parse_assignments(["lr=0.1", "ema=true", "sizes=[1, 2]", "name=abc", "drop-path=none"], "--set") == {
        "lr": 0.1, "ema": True, "sizes": [1, 2], "name": "abc", "drop_path": "none"}
    with pytest.raises(UsageError, match="'lr' must look like field=value"):
        parse_assignments(["lr"], "--set")
    with pytest.raises(ConfigError, match="unknown key 'epocs' in the recipe; did you mean 'epochs'"):
        check_keys(["epocs"], ["epochs", "lr"], "the recipe")


def test_train_rejects_an_unknown_recipe_field_with_exit_2(capsys, tmp_path):
    arch = tmp_path / "a.json"
    arch.write_text(json.dumps({"kernel": "k3", "act": "relu"}))
    code, _, err = run_cli(capsys, "train", str(arch), "--space", "clitoy", "--set", "lrr=0.1", "--data", "digits")
    assert code == 2 and "unknown key 'lrr' in the recipe; did you mean 'lr'?" in err


# -- inspecting runs --------------------------------------------------------------------------------------------
def test_ls_and_show(capsys, tmp_path):
    write_run(tmp_path, "toyrun")
    code, out, _ = run_cli(capsys, "ls", "--runs-dir", str(tmp_path))
    assert code == 0 and "toyrun" in out and "random" in out and "90.00%" in out
    code, out, _ = run_cli(capsys, "show", "toyrun", "--runs-dir", str(tmp_path), "--top", "2")
    assert code == 0
    lines = [line for line in out.splitlines() if "%" in line and "k" in line]
    assert "90.00%" in lines[0] and "k5 tanh" in lines[0]  # best first
    assert "80.00%" in lines[1] and "70.00%" not in out.split("Pareto")[0]  # top 2 only in the table


@pytest.mark.integration
def test_ls_and_show_leave_no_files_beside_a_ledger(capsys, tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "archsearch.cli", "run", "random", "--preset", "smoke", "--data", "digits",
                    "--runs-dir", str(tmp_path), "--name", "r", "--final-epochs", "0"], check=True, capture_output=True)
    before = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert run_cli(capsys, "ls", "--runs-dir", str(tmp_path))[0] == 0
    assert run_cli(capsys, "show", "r", "--runs-dir", str(tmp_path))[0] == 0
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == before and "ledger.db-wal" not in before


@pytest.mark.integration
def test_report_command_writes_pngs_and_summary(capsys, tmp_path):
    run_dir = write_run(tmp_path)
    code, out, _ = run_cli(capsys, "report", str(run_dir))
    assert code == 0
    assert {p.name for p in (run_dir / "report").iterdir()} >= {  # plus the method's own (random: fitness curve)
        "pareto_macs.png", "pareto_params.png", "progress.png", "summary.md"}
    assert f"wrote {run_dir / 'report' / 'summary.md'}" in out


# -- export -----------------------------------------------------------------------------------------------------
def test_export_from_supernet_weights_reloads_to_the_same_outputs(capsys, tmp_path):
    space = ToySpace()
    torch.manual_seed(1)
    supernet = space.supernet()
    run_dir = write_run(tmp_path, extra={"supernet_weights": "checkpoints/supernet.pt"})
    (run_dir / "checkpoints").mkdir()
    torch.save({"supernet": supernet.state_dict()}, run_dir / "checkpoints" / "supernet.pt")

    code, out, _ = run_cli(capsys, "export", str(run_dir), "--top", "2", "--format", "torchscript")
    assert code == 0 and "rank 1:" in out and "weights: supernet" in out
    x = torch.randn(5, 1, 8, 8)
    for rank, arch in ((1, {"kernel": "k5", "act": "tanh"}), (2, {"kernel": "k5", "act": "relu"})):
        directory = run_dir / "export" / f"rank{rank}"
        doc = json.loads((directory / "arch.json").read_text())
        assert doc["arch"] == arch and doc["space"] == "clitoy" and doc["weights"] == "supernet"
        expected = space.inherit(supernet, arch).eval()(x)
        assert torch.equal(load_exported(directory)(x), expected)
        scripted = torch.jit.load(str(directory / "model.torchscript.pt"))
        assert torch.allclose(scripted(x), expected, atol=1e-6)


def test_export_with_per_arch_weights_and_without_weights(tmp_path):
    space = ToySpace()
    best = {"kernel": "k5", "act": "tanh"}
    torch.manual_seed(2)
    trained = space.build(best)
    run_dir = write_run(tmp_path, extra={"weights": {space.space.validate(best).key: "export/best.pt"}})
    (run_dir / "export").mkdir()
    torch.save(trained.state_dict(), run_dir / "export" / "best.pt")
    first, second = export_run(run_dir, top=2)
    x = torch.randn(3, 1, 8, 8)
    assert first.weights == "trained" and torch.equal(load_exported(first.directory)(x), trained.eval()(x))
    assert second.weights == "init"  # random search keeps no weights: seeded init, said so in arch.json
    assert json.loads((second.directory / "arch.json").read_text())["weights"] == "init"
    assert (run_dir / "export" / "best.pt").exists()  # the method's own file is left alone


def test_onnx_export_without_onnx_names_the_extra(monkeypatch, capsys, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith("onnx") else
                        real(name, *a))
    with pytest.raises(ArchsearchError, match=r"pip install 'archsearch\[onnx\]'"):
        require_onnx()
    run_dir = write_run(tmp_path)
    code, _, err = run_cli(capsys, "export", str(run_dir), "--format", "onnx")
    assert code == 1 and err.count("\n") == 1 and "archsearch[onnx]" in err


# -- train ------------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_train_an_exported_arch_on_digits(capsys, tmp_path):
    run_dir = write_run(tmp_path)
    (export,) = export_run(run_dir)
    out_dir = tmp_path / "trained"
    code, out, _ = run_cli(capsys, "train", str(export.files["arch"]), "--epochs", "2", "--set", "lr=0.1",
                           "--set", "batch_size=64", "--out", str(out_dir))
    assert code == 0, out
    assert "on digits (1437 images)" in out  # the run's data, the whole training set
    accuracy = float(out.split("test accuracy: ")[1].split("%")[0])
    assert 15.0 < accuracy <= 100.0  # two epochs of a 1-conv net: well above chance (10%)
    doc = json.loads((out_dir / "arch.json").read_text())
    assert doc["weights"] == "trained" and doc["retrained"]["epochs"] == 2
    assert abs(100 * doc["retrained"]["test_accuracy"] - accuracy) < 0.01
    model = load_exported(out_dir)
    assert isinstance(model, nn.Sequential) and not model.training


def test_export_finds_the_best_weights_a_method_left_under_export_even_after_a_move(tmp_path):
    best = {"kernel": "k5", "act": "tanh"}
    torch.manual_seed(4)
    trained = ToySpace().build(best)
    run_dir = write_run(tmp_path / "a", extra={"export": str(tmp_path / "a" / "toyrun" / "export" / "model.pt")})
    (run_dir / "export").mkdir()
    torch.save(trained.state_dict(), run_dir / "export" / "model.pt")
    moved = tmp_path / "b"
    run_dir.rename(moved)
    (first,) = export_run(moved)
    x = torch.randn(2, 1, 8, 8)
    assert first.weights == "trained" and torch.equal(load_exported(first.directory)(x), trained.eval()(x))


# -- latency ----------------------------------------------------------------------------------------------------
def test_latency_build_measures_every_op_once_and_reuses_the_table(capsys, tmp_path):
    from archsearch.cost.latency import LatencyTable, device_fingerprint

    path = tmp_path / "lut.json"
    argv = ["latency", "build", "--space", "clitoy", "--warmup", "1", "--repeats", "2", "--out", str(path)]
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and "measuring 2 ops" in out and f"wrote {path}" in out
    assert "calibrated on 4 whole networks" in out  # the space's every arch (it has 4), none left to hold out
    table = LatencyTable.load(path, expect=device_fingerprint("cpu", 1))
    assert sorted(table.entries) == ["kernel:k3", "kernel:k5"] and all(v > 0 for v in table.entries.values())
    assert table.scale_offset[0] > 0 and table.meta["calibration"]["heldout"] == []
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and "exists" in out  # not re-measured without --force
    code, out, _ = run_cli(capsys, *argv, "--force")
    assert code == 0 and "measuring 2 ops" in out


def test_latency_build_for_a_space_without_blocks_is_a_usage_error(capsys, tmp_path):
    class Flat(ToySpace):
        blocks = None

    if "clitoy_flat" not in SPACES.names():
        register_space("clitoy_flat")(Flat)
    code, _, err = run_cli(capsys, "latency", "build", "--space", "clitoy_flat", "--out", str(tmp_path / "x.json"))
    assert code == 2 and "no per-op description" in err


@pytest.mark.integration  # CLI runs (the nested case loads digits)
@pytest.mark.parametrize("case", ["no onnxruntime", "onnxruntime on cuda", "nested choices", "no such file"])
def test_latency_build_usage_errors_are_one_line_exit_2(capsys, tmp_path, monkeypatch, case):
    """What a user can get wrong about a table's space or runtime: one line, exit 2, no table written."""
    import importlib.util

    (tmp_path / "space.py").write_text(
        "import torch.nn as nn\nfrom archsearch import LayerChoice\n\n"
        "def nested(num_classes=10):\n"
        "    inner = LayerChoice([nn.Identity(), nn.ReLU()], label='inner')\n"
        "    return nn.Sequential(LayerChoice([nn.Sequential(inner), nn.Identity()], label='outer'), nn.Flatten(),\n"
        "                         nn.Linear(64, num_classes))\n")
    out = tmp_path / "lut.json"
    argv = {"no onnxruntime": ["--space", "clitoy", "--runtime", "onnxruntime"],
            "onnxruntime on cuda": ["--space", "clitoy", "--runtime", "onnxruntime", "--device", "cuda"],
            "nested choices": ["--space", f"{tmp_path / 'space.py'}:nested", "--data", "digits"],
            "no such file": ["--space", f"{tmp_path / 'missing.py'}:f", "--data", "digits"]}[case]
    fragment = {"no onnxruntime": "pip install 'archsearch[onnx]'", "onnxruntime on cuda": "timed on the CPU",
                "nested choices": "choice 'inner' sits inside a candidate of choice 'outer'",
                "no such file": "not found"}[case]
    if case == "no onnxruntime":
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    code, _, err = run_cli(capsys, "latency", "build", *argv, "--out", str(out))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err, err
    assert not out.exists()


def test_latency_build_in_onnxruntime_records_the_runtime(capsys, tmp_path):
    pytest.importorskip("onnxruntime")
    from archsearch.cost.latency import LatencyTable

    path = tmp_path / "lut.json"
    code, out, err = run_cli(capsys, "latency", "build", "--space", "clitoy", "--runtime", "onnxruntime", "--warmup",
                             "1", "--repeats", "2", "--out", str(path))
    assert code == 0 and "in onnxruntime" in out and "measured in onnxruntime" in out, out + err
    table = LatencyTable.load(path)
    assert table.runtime == "onnxruntime" and sorted(table.entries) == ["kernel:k3", "kernel:k5"]
