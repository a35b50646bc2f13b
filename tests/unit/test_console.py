"""What the `archsearch` command does below its parser: the rows of `ls`, the one progress bar, the rendering helpers
of `report.console`, an arch file's retraining plan and the end-of-run copy of the chosen arch."""

from __future__ import annotations

import json
import types

import pytest

import archsearch.export as export
from archsearch.errors import UsageError
from archsearch.report import open_run
from archsearch.report.common import space_text
from archsearch.report.console import ProgressBar, method_help, print_latency_table, print_listing, training_status
from archsearch.report.listing import (LEDGER_COLUMNS, RUN_COLUMNS, Listing, finished_run_dir, ledger_listing,
                                       runs_listing)
from support import write_run  # a finished 3-trial run of the tiny `clitoy` space


# -- ls -----------------------------------------------------------------------------------------------------------
def test_runs_listing_has_a_row_per_run_with_its_final_and_search_accuracy(tmp_path):
    write_run(tmp_path, "toyrun")
    listing = runs_listing(tmp_path)
    assert listing.place == str(tmp_path) and listing.columns == RUN_COLUMNS and listing.damaged == []
    assert listing.rows == [["toyrun", "random", "clitoy", "digits", "smoke", "done", "3", "-", "90.00% (val. acc.)"]]
    assert runs_listing(tmp_path / "none") == Listing(str(tmp_path / "none"), RUN_COLUMNS, [])


def test_runs_listing_names_damaged_runs_without_hiding_the_others(tmp_path):
    write_run(tmp_path, "good")
    (write_run(tmp_path, "bad-ledger") / "ledger.db").write_bytes(b"garbage" * 100)
    (write_run(tmp_path, "bad-config") / "config.yaml").write_bytes(b"\xff\xfe")
    listing = runs_listing(tmp_path)
    rows = {row[0]: row for row in listing.rows}
    assert rows["good"][5] == "done"
    assert rows["bad-ledger"] == ["bad-ledger", "random", "clitoy", "digits", "smoke", "damaged", "?", "?"]
    assert rows["bad-config"] == ["bad-config", "?", "?", "?", "?", "damaged", "?", "?"]  # no config to read
    reasons = dict(listing.damaged)
    assert reasons["bad-config"] == "config.yaml is not UTF-8 text (byte 0)"
    assert "is not a database" in reasons["bad-ledger"] and set(reasons) == {"bad-ledger", "bad-config"}


def test_ledger_listing_counts_each_study_s_trials(tmp_path):
    url = f"sqlite:///{write_run(tmp_path, 'toyrun') / 'ledger.db'}"
    listing = ledger_listing(url)
    assert listing.place == url and listing.columns == LEDGER_COLUMNS
    assert listing.rows == [["toyrun", "3", "3", "0", "0", "90.00%"]]


def test_a_runs_final_training_is_its_test_accuracy_not_a_row(tmp_path):
    import optuna

    url = f"sqlite:///{write_run(tmp_path, 'toyrun') / 'ledger.db'}"
    final = optuna.create_study(study_name="toyrun:final", storage=url, directions=["maximize"])
    for accuracy in (0.5, 0.7):  # two seeds
        final.add_trial(optuna.trial.create_trial(values=[accuracy], params={}, distributions={}))
    listing = ledger_listing(url)
    assert listing.columns == (*LEDGER_COLUMNS, "test acc.")
    assert listing.rows == [["toyrun", "3", "3", "0", "0", "90.00%", "60.00%"]]


def test_print_listing_shows_the_table_then_the_damaged_runs(capsys):
    print_listing(Listing("RUNS", ("name", "status"), []))
    assert capsys.readouterr().out == "no runs in RUNS\n"
    print_listing(Listing("RUNS", ("name", "status"), [["a", "done"], ["b", "damaged"]], [("b", "why")]))
    out = capsys.readouterr().out
    assert out.startswith("runs in RUNS") and "│ a    │ done" in out and out.endswith("damaged: b: why\n")


def test_a_finished_run_is_found_by_its_result_its_name_or_as_the_newest(tmp_path):
    assert finished_run_dir(types.SimpleNamespace(), None, tmp_path) is None  # no runs at all
    first, newest = write_run(tmp_path, "first"), write_run(tmp_path, "newest")
    assert finished_run_dir(types.SimpleNamespace(run_dir=str(first)), "newest", tmp_path) == first
    assert finished_run_dir(types.SimpleNamespace(), "first", tmp_path) == first
    assert finished_run_dir(types.SimpleNamespace(), None, tmp_path) == newest


def test_space_text_names_a_user_space_by_its_file_and_function():
    assert space_text({"name": "mobilenet", "options": {}}) == "mobilenet"
    assert space_text({"name": "user", "options": {"source": "/home/me/my_space.py:make"}}) == "my_space.py:make"
    assert space_text({"name": "user", "options": {"source": "object:123"}}) == "user"


# -- the progress bar ---------------------------------------------------------------------------------------------
def test_the_progress_bar_counts_epochs_with_a_status_and_sweeps_by_position(monkeypatch, capsys):
    monkeypatch.setenv("ARCHSEARCH_PROGRESS", "1")
    with ProgressBar("train", 2) as bar:  # archsearch train: one step per epoch, its loss at the end of the line
        bar.update(advance=1, status=training_status({"train_loss": 0.5}))
        bar.advance()
    assert "train" in (err := capsys.readouterr().err) and "2/2" in err and "loss 0.500" in err
    with ProgressBar("latency sweeps", 8) as bar:  # archsearch latency build: the sweeps done so far
        bar.update(completed=6)
    assert "latency sweeps" in (err := capsys.readouterr().err) and "6/8" in err


def test_the_progress_bar_is_silent_with_progress_off(monkeypatch, capsys):
    monkeypatch.setenv("ARCHSEARCH_PROGRESS", "0")
    with ProgressBar("train", 2) as bar:
        bar.update(advance=1, status="x")
        bar.advance()
    assert capsys.readouterr() == ("", "")


def test_training_status_shows_the_loss_and_the_validation_accuracy_when_there_is_one():
    assert training_status({"train_loss": 0.41234, "val_accuracy": 0.912}) == "loss 0.412 val 91.20%"
    assert training_status({"train_loss": 1.0, "val_accuracy": None}) == "loss 1.000"


# -- other rendering ----------------------------------------------------------------------------------------------
def test_print_latency_table_says_what_was_measured_or_that_a_table_exists(capsys, tmp_path):
    table = types.SimpleNamespace(entries={"fixed:stem": 0.25, "fixed:head": 0.5, "kernel:k3": 1.0}, runtime="torch",
                                  meta={"calibration": {"fit": [1, 2], "offset_ms": 0.1, "scale": 1.5}})
    print_latency_table(tmp_path / "t.json", table, False, ["ignored"])
    assert capsys.readouterr() == (f"a latency table for this device exists: {tmp_path / 't.json'} (3 ops); --force "
                                   "re-measures\n", "")
    print_latency_table(tmp_path / "t.json", table, True, ["noisy"])
    out, err = capsys.readouterr()
    assert out == (f"wrote {tmp_path / 't.json'} (3 ops measured in torch; fixed parts 0.750 ms)\n"
                   "calibrated on 2 whole networks: latency = +0.100 ms + 1.500 x table sum\n")
    assert err == "warning: noisy\n"


def test_method_help_lists_the_methods_or_one_method_s_options():
    assert method_help(None).startswith("\nmethods: ") and "random" in method_help(None)
    text = method_help("random")
    assert "options of method 'random'" in text and "--budget sets evaluations." in text
    with pytest.raises(UsageError, match="unknown method 'nosuch'"):
        method_help("nosuch")


# -- export: retraining an arch file, and the chosen arch of a finished run -------------------------------------
def test_plan_training_checks_its_numbers_then_resolves_the_arch_file_s_data_and_recipe(tmp_path):
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"space": "clitoy", "arch": {"kernel": "k3", "act": "relu"}, "recipe": {"lr": 0.2},
                                "source": {"data": "digits"}}))
    with pytest.raises(UsageError, match="--epochs must be >= 1, got 0"):
        export.plan_training(arch, epochs=0)
    with pytest.raises(UsageError, match="--val-size and --threads must be >= 0, got -1 and 0"):
        export.plan_training(arch, val_size=-1)
    training = export.plan_training(arch, epochs=2, overrides=["batch_size=64"], val_size=37, seed=1)
    assert (training.data, training.epochs, training.seed) == ("digits", 2, 1)  # the data it was searched on
    assert training.recipe == {"lr": 0.2, "batch_size": 64} and training.train_images == 1437 - 37
    arch.write_text(json.dumps({"space": "clitoy", "arch": {"kernel": "k3", "act": "relu"},
                                "source": {"data": "mnist", "image_size": 28}}))
    other = export.plan_training(arch, data="digits")  # other data than the search's: not resized as it was
    assert (other.data, other.image_size, other.recipe, other.train_images) == ("digits", None, {}, 1437)


def test_write_best_says_in_one_line_why_best_could_not_be_written(monkeypatch, tmp_path):
    record = open_run(write_run(tmp_path, "toyrun"))
    assert export.write_best(record) is None and (record.run_dir / "best" / "arch.json").is_file()

    def fail(run):
        raise RuntimeError("the space\n cannot rebuild it")

    monkeypatch.setattr(export, "export_best", fail)
    assert export.write_best(record) == f"could not write {record.run_dir / 'best'}: the space cannot rebuild it"
