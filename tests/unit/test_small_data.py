"""A data set smaller than the sizes a method takes (its own `train_size` / `val_size`, a full batch) is one line
naming each size and the ``--set`` key that changes it, exit 2, before any run folder exists: never a run whose
every trial fails."""

from __future__ import annotations

import re

import numpy as np
import pytest

from archsearch.cli import main
from archsearch.errors import UsageError
from archsearch.experiment.run import run
from archsearch.experiment.settings import resolve_settings

METHODS = ("random", "spos", "greedynas", "proxyless", "darts", "fairdarts", "nars", "evolution")


def _npz(path, n, test=50):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 255, (n, 28, 28), dtype=np.uint8), y_train=np.arange(n) % 10,
             x_test=rng.integers(0, 255, (test, 28, 28), dtype=np.uint8), y_test=np.arange(test) % 10)
    return str(path)


@pytest.fixture(scope="module")
def thousand(tmp_path_factory):
    return _npz(tmp_path_factory.mktemp("data") / "small1000.npz", 1000)


@pytest.mark.parametrize("method", METHODS)
def test_quick_on_1000_images_is_refused_in_one_line_or_fits(method, thousand):
    """The quick preset of every method on 1,000 images: refused before anything is written, naming the sizes
    and flags, or every size the method takes fits the data (its split can be made, a full batch fits)."""
    from archsearch.data.splits import make_splits
    from archsearch.methods import make_config
    from archsearch.train.task import cached_dataset

    try:
        settings = resolve_settings(method, preset="quick", data=thousand)
    except UsageError as err:
        message = str(err)
        assert "\n" not in message and message.startswith(f"{method}: data 'small1000' has 1000 training images")
        assert re.search(r"(train_size|val_size)=\d+", message) and "--set " in message
        return
    config = make_config(method, "quick", None)
    split = dict(settings.split)
    for name in ("train_size", "val_size"):
        if getattr(config, name, None) is not None:
            split[name] = getattr(config, name)
    splits = make_splits(cached_dataset(thousand, None, None), **split)
    assert len(splits.train) >= getattr(config, "batch_size", 1)


def test_the_cli_refuses_small_data_with_exit_2_one_line_and_no_run_folder(thousand, tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["run", "random", "--preset", "quick", "--data", thousand, "--runs-dir", str(runs), "--name", "r"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "val_size=2000 leaves none to train on" in err and "train_size=4096 needs more" in err
    assert "--set val_size=" in err and "--set train_size=" in err
    assert not (runs / "r").exists()


@pytest.mark.parametrize("method", ["evolution", "nars"])
def test_the_suggested_sizes_give_a_run_whose_trials_complete(method, tmp_path):
    """Too small for the smoke preset's sizes (evolution: val_size 64 + train_size 64; nars: train_size, set
    here to 200): refused; with the sizes the line suggests, the run finishes and no trial failed."""
    data = _npz(tmp_path / "tiny.npz", 120)
    options = {"train_size": 200} if method == "nars" else {}
    with pytest.raises(UsageError) as caught:
        resolve_settings(method, preset="smoke", data=data, **options)
    fixes = dict(re.findall(r"--set (\w+)=(\d+)", str(caught.value)))
    assert fixes and set(fixes) <= {"train_size", "val_size"}
    extra = {"final_epochs": 0} if method == "nars" else {}
    result = run(method, preset="smoke", data=data, runs_dir=tmp_path, name="ok", quiet=True,
                 space="hierarchical" if method == "evolution" else "fbnet",
                 **{**options, **{k: int(v) for k, v in fixes.items()}, **extra})
    from archsearch.report import open_run

    states = [t.state for t in open_run(tmp_path / "ok").trials()]
    assert states and all(s == "complete" for s in states) and result.best is not None


def test_a_method_on_full_batches_needs_one_batch_of_training_images(tmp_path):
    data = _npz(tmp_path / "tiny.npz", 100)
    with pytest.raises(UsageError, match=r"batch_size=128 is more than the \d+ training images.*--set batch_size="):
        resolve_settings("spos", preset="quick", data=data)
