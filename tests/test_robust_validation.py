"""Every check runs before anything is written: `--set` values are read by the field's type, run settings are
range-checked, absurd budgets are refused unless forced. Usage errors exit 2 with one line and leave no run."""

from __future__ import annotations

import math

import pytest

from archsearch._values import coerce, load_yaml, scalar
from archsearch.cli import main
from archsearch.errors import ConfigError, UsageError
from archsearch.methods import make_config

RUN = ["run", "random", "--space", "hierarchical", "--preset", "smoke", "--data", "digits"]


def test_yaml_12_scalars():
    assert scalar("1e-3") == 0.001 and scalar("3e-4") == 0.0003 and scalar("1e9") == 1e9
    assert scalar("true") is True and scalar("yes") == "yes" and scalar("on") == "on"
    assert scalar("12") == 12 and scalar("[1, 2e1]") == [1, 20.0] and scalar("null") is None
    assert math.isinf(scalar(".inf")) and load_yaml("lr: 1E-2\nok: False") == {"lr": 0.01, "ok": False}


def test_set_values_take_the_type_of_their_field():
    darts = make_config("darts", "smoke", lr="1e-3", arch_lr="3e-4", epochs="2")
    assert darts.lr == 0.001 and darts.arch_lr == 0.0003 and darts.epochs == 2 and isinstance(darts.epochs, int)
    assert make_config("proxyless", "smoke", weight_decay=scalar("4e-5")).weight_decay == 4e-5
    assert make_config("proxyless", "smoke", latency_target_ms="5ms").latency_target_ms == 5.0  # its own parser
    assert make_config("random", "smoke", evaluations=3.0).evaluations == 3
    assert make_config("darts", "smoke", augment="false").augment is False
    assert make_config("darts", "smoke", steps_per_epoch="null").steps_per_epoch is None


@pytest.mark.parametrize("method, options, message", [
    ("random", {"evaluations": 1.5}, "random option evaluations must be a whole number, got 1.5"),
    ("random", {"evaluations": True}, "random option evaluations must be a whole number, got true"),
    ("darts", {"batch_size": 1.5}, "darts option batch_size must be a whole number, got 1.5"),
    ("darts", {"augment": "yes"}, "darts option augment must be true or false, got 'yes'"),
    ("darts", {"augment": 1}, "darts option augment must be true or false, got 1"),
    ("darts", {"lr": "fast"}, "darts option lr must be a finite number, got 'fast'"),
    ("darts", {"lr": math.nan}, "darts option lr must be a finite number, got nan"),
    ("darts", {"epochs": -3}, "darts option epochs must be >= 0, got -3"),
    ("proxyless", {"latency_target_ms": "soon"}, "cannot parse constraint 'latency<=soon'"),
    ("proxyless", {"flops_target": [3]}, "proxyless option flops_target must be a finite number or null, got [3]"),
    ("random", {"threads": 0}, "threads must be >= 1"),
    ("random", {"train_size": 0}, "train_size must be >= 1"),
])
def test_bad_values_are_config_errors(method, options, message):
    with pytest.raises(UsageError) as caught:
        make_config(method, "smoke", **options)
    assert message in str(caught.value)


def test_coerce_names_the_field():
    with pytest.raises(ConfigError, match="seed must be a whole number, got 'x'"):
        coerce("x", int, "seed")


@pytest.mark.parametrize("flags, message", [
    (["--seed", "-1"], "seed must be between 0 and 2**63-1, got -1"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--device", "cuda"], "this host has no CUDA device"),
    (["--device", "cuda:7"], "CUDA"),
    (["--storage", "notaurl"], "is not a database URL"),
    (["--storage", "nosuchdb://h/x"], "unknown database kind 'nosuchdb'"),
    (["--storage", "sqlite://"], "in-memory SQLite"),
    (["--storage", "sqlite:////no/such/dir/l.db"], "no directory"),
    (["--workers", "0"], "workers must be between 1 and 4096, got 0"),
    (["--workers", "99999999999"], "workers must be between 1 and 4096"),
    (["--name", ""], "run name must not be blank"),
    (["--name", "   "], "run name must not be blank"),
    (["--name", "a\nb"], "must not hold control characters"),
    (["--name", "a/b"], "must be a plain file name"),
    (["--name", ".hidden"], "must be a plain file name"),
    (["--name", "x" * 300], "at most 200"),
    (["--budget", "inf"], "must be a finite"),
    (["--budget", "nan"], "must be a finite"),
    (["--budget", "-3"], "finite positive number"),
    (["--budget", "1.5"], "evaluations must be a whole number, got 1.5"),
    (["--budget", "1e9"], "is absurd (more than 1000x the paper's 7000); pass --force"),
    (["--set", "epochs=1000000000000"], "random epochs=1e+12 is absurd"),
    (["--set", "evaluations=true"], "evaluations must be a whole number, got true"),
    (["--ray-address", "auto"], "--ray-address is for the ray executor"),
    (["--set", "val_size=100000"], "leaves none to train on"),
])
def test_bad_run_settings_exit_2_and_create_nothing(tmp_path, capsys, flags, message):
    root = tmp_path / "runs"
    assert main([*RUN, "--runs-dir", str(root), *flags]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not root.exists()


def test_a_large_budget_warns_and_force_runs_past_the_bound(tmp_path, capsys):
    from archsearch.methods import check_budget

    warnings = []
    config = make_config("random", "smoke", evaluations=100_000)
    check_budget("random", config, warn=warnings.append)
    assert warnings == ["random evaluations=100000 is 14x the paper's 7000: this run will take long"]
    absurd = make_config("random", "smoke", epochs=10**6)
    with pytest.raises(ConfigError, match="pass --force"):
        check_budget("random", absurd)
    warnings.clear()
    check_budget("random", absurd, force=True, warn=warnings.append)
    assert warnings and "running it as forced" in warnings[0]


def test_config_file_values_are_typed(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("method: darts\nseed: 1.5\n")
    assert main(["run", "--config", str(config), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "seed must be a whole number or null, got 1.5" in capsys.readouterr().err
    config.write_bytes(b"method: darts\nname: caf\xe9\n")
    assert main(["run", "--config", str(config), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_start_that_fails_late_removes_what_it_made(tmp_path, capsys):
    """A failure after the run directory exists (the ledger cannot be opened: its path is a directory) leaves no
    half-created run."""
    (tmp_path / "a-directory").mkdir()
    root = tmp_path / "runs"
    assert main([*RUN, "--runs-dir", str(root), "--name", "late", "--storage",
                 f"sqlite:///{tmp_path / 'a-directory'}"]) == 2
    assert "cannot open the ledger" in capsys.readouterr().err
    assert not root.exists()
