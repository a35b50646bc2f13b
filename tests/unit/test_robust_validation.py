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


DEEP = "[" * 5000 + "]" * 5000  # a YAML nested past Python's recursion limit


@pytest.mark.parametrize("argv, config, message", [
    (["--runs-dir", "/proc/forbidden"], None, "cannot create the runs directory '/proc/forbidden'"),
    (["--runs-dir", "/dev/null"], None, "--runs-dir '/dev/null' is not a directory"),
    (["--runs-dir", "/dev/null/runs"], None, "'/dev/null' is not a directory"),
    (["--runs-dir", ""], None, "--runs-dir must not be empty"),
    ([], "constraints: 5\n", "constraints in {config} must be a list of constraints"),
    ([], "runs_dir: 5\n", "runs_dir in {config} must be text, got 5"),
    ([], DEEP + "\n", "is not valid YAML: it is nested too deeply"),
    (["--set", f"epochs={DEEP}"], None, "epochs must be a whole number"),
    (["--space-option", "input_size=100000"], None, "but space 'hierarchical' was made for (1, 100000, 100000)"),
    (["--set", "threads=1e12"], None, "random: threads=1000000000000 is more than any machine takes"),
    (["--set", "recipe={batch_size: 1e12}"], None, "recipe.batch_size=1000000000000 is more than any machine"),
    (["--constraint", "flops>=5M"], None, "constraint flops>=5M cannot be met: the networks of space 'hierarchical'"),
    (["--constraint", "params<=1e-9"], None, "constraint params<=1e-09 cannot be met"),
    (["--constraint", "flops<=1e999"], None, "the bound must be a finite number"),
    (["--constraint", "latency<=5s"], None, "no latency table can be built for it"),
    (["--data", ""], None, "--data must not be empty"),
    (["--space", ""], None, "--space must not be empty"),
])
def test_the_fuzzed_usage_errors_exit_2_in_one_line_before_any_run_folder(tmp_path, capsys, argv, config, message):
    """The cases a fuzz of the CLI found ending in an internal error, in a run folder without result.json, or
    accepted silently: each is one line, exit 2, and nothing written."""
    root = tmp_path / "runs"
    flags = [*RUN]
    if config is not None:
        path = tmp_path / "run.yaml"
        path.write_text(config)
        flags += ["--config", str(path)]
        message = message.format(config=path)
    if not any(a == "--runs-dir" for a in argv) and "runs_dir" not in (config or ""):
        flags += ["--runs-dir", str(root)]
    assert main([*flags, *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not root.exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("method, option, message", [
    ("darts", "batch_size=1e12", "darts: batch_size=1000000000000 is more than any machine takes"),
    ("nars", "population=0", "nars: population must be >= 1, got 0"),
    ("nars", "iterations=''", "nars option iterations must be a whole number or null, got ''"),
    ("nars", "recipe={lr: 1e9}", "nars searches the recipe field(s) lr"),
    ("evolution", "init_mutations=0", "evolution: init_mutations must be >= 1, got 0"),
    ("evolution", "generations=0", "unknown key 'generations'"),
])
def test_method_values_that_cannot_work_are_refused_before_the_run(tmp_path, capsys, method, option, message):
    root = tmp_path / "runs"
    space = ["--space", "hierarchical"] if method == "evolution" else []
    assert main(["run", method, *space, "--preset", "smoke", "--data", "digits", "--runs-dir", str(root),
                 "--set", option]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not root.exists()


def test_ls_of_a_file_is_an_error(capsys):
    assert main(["ls", "--runs-dir", "/etc/passwd"]) == 2
    assert "--runs-dir '/etc/passwd' is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("text, canonical", [("flops<5M", "flops<5M"), ("flops <= 5 M", "flops<=5M"),
                                             (" params< 2.5M ", "params<2.5M"), ("latency<=5s", "latency<=5000ms"),
                                             ("latency <= 500 us", "latency<=0.5ms")])
def test_constraints_read_with_spaces_and_units_in_one_canonical_form(text, canonical):
    """Spaces are insignificant and `<` / `>` strict, everywhere; seconds and microseconds become milliseconds.
    The run logs each constraint in this form, so the user sees what was read."""
    from archsearch.cost.constraints import parse_constraint

    assert str(parse_constraint(text)) == canonical
