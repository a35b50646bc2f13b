"""The offline default: the bundled class-balanced subset of the real Fashion-MNIST, used only when the full set is
found nowhere, recorded by the run, and big enough that every quick preset keeps its sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from archsearch.data import _locate, datasets, fashion_subset, load_dataset, make_splits
from archsearch.errors import DataError

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not (SYSTEM_FASHION / "train-labels-idx1-ubyte.gz").is_file(),
                                   reason="dataset-fashion-mnist not installed")


@pytest.fixture
def no_full_set(tmp_path, monkeypatch):
    """A machine without the full set: no $ARCHSEARCH_DATA, an empty cache, no system copy, no network (every
    download attempt is recorded and fails as it does offline)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("ARCHSEARCH_DATA", raising=False)
    monkeypatch.delenv("ARCHSEARCH_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIRS", (str(tmp_path / "no-system-copy"),))
    attempts: list[str] = []

    def no_network(filename, mirrors):
        attempts.append(filename)
        return None

    monkeypatch.setattr(_locate, "_fetch_first", no_network)
    return attempts


def test_fashion_mnist_falls_back_to_the_balanced_subset_of_real_images(no_full_set):
    d = load_dataset("fashion-mnist")
    assert no_full_set == ["train-images-idx3-ubyte.gz"]  # the look-up order still ends with a download try
    assert d.name == "fashion-mnist-subset" and "full Fashion-MNIST was not found" in d.source
    assert d.x_train.shape == (16000, 1, 28, 28) and d.x_test.shape == (2000, 1, 28, 28)
    assert np.bincount(d.y_train.numpy()).tolist() == [1600] * 10
    assert np.bincount(d.y_test.numpy()).tolist() == [200] * 10
    assert d.classes == datasets.FASHION_MNIST_CLASSES and d.augmentation.flip
    # real Fashion-MNIST pixels: the published training set's mean and std are 0.2860 and 0.3530
    assert d.mean[0] == pytest.approx(0.2860, abs=0.003) and d.std[0] == pytest.approx(0.3530, abs=0.003)


def test_an_explicit_data_dir_never_falls_back(no_full_set, tmp_path):
    with pytest.raises(DataError, match="Fashion-MNIST not found in"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "nowhere")


@needs_fashion
@pytest.mark.integration
def test_the_subset_is_the_documented_selection_of_the_published_files(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("ARCHSEARCH_OFFLINE", "1")
    full = load_dataset("fashion-mnist")
    assert full.name == "fashion-mnist" and full.source == str(SYSTEM_FASHION)
    arrays = fashion_subset.load_subset_arrays()
    train_index = fashion_subset.select_balanced(full.y_train.numpy(), fashion_subset.TRAIN_PER_CLASS)
    test_index = fashion_subset.select_balanced(full.y_test.numpy(), fashion_subset.TEST_PER_CLASS)
    np.testing.assert_array_equal(arrays["train_index"], train_index)
    np.testing.assert_array_equal(arrays["test_index"], test_index)
    np.testing.assert_array_equal(arrays["x_train"], full.x_train[train_index, 0].numpy())
    np.testing.assert_array_equal(arrays["y_train"], full.y_train[train_index].numpy())
    np.testing.assert_array_equal(arrays["x_test"], full.x_test[test_index, 0].numpy())
    np.testing.assert_array_equal(arrays["y_test"], full.y_test[test_index].numpy())


def test_a_damaged_subset_file_is_named(tmp_path, monkeypatch):
    broken = tmp_path / "fashion_mnist_subset.npz.xz"
    broken.write_bytes(fashion_subset.SUBSET_FILE.read_bytes()[:1000])
    monkeypatch.setattr(fashion_subset, "SUBSET_FILE", broken)
    with pytest.raises(DataError, match=f"{broken} is corrupt"):
        load_dataset("fashion-mnist-subset")


@pytest.mark.integration
def test_every_quick_preset_keeps_its_sizes_on_the_subset(no_full_set):
    from archsearch.experiment.settings import resolve_settings
    from archsearch.methods import make_config, method_names

    subset = load_dataset("fashion-mnist-subset")
    for method in method_names():
        settings = resolve_settings(method, preset="quick")
        assert settings.data == "fashion-mnist-subset" and settings.split == fashion_subset.SUBSET_SPLIT
        splits = make_splits(subset, **settings.split)
        train, val = len(splits.train), len(splits.val)
        assert len(splits.small_val) == 1000  # GreedyNAS' small validation set, as on the full set
        cfg = make_config(method, "quick", None)
        if getattr(cfg, "train_size", None) and hasattr(cfg, "val_size"):  # random / evolution: own split sizes
            assert cfg.train_size + cfg.val_size + len(splits.small_val) <= len(subset.y_train)
        elif getattr(cfg, "train_size", None):  # nars: stage-2 candidates train on part of the run's split
            assert cfg.train_size <= train, method
        # supernet epochs are step counts (steps_per_epoch), the same on the subset as on the full set: a
        # smaller split is cycled (tests/integration/test_greedynas.py, test_a_preset_epoch_is_a_step_count_on_any_data)
        if getattr(cfg, "search_val_images", None):
            assert cfg.search_val_images <= val


@pytest.mark.integration
def test_a_run_without_the_full_set_says_so_once_and_records_the_subset(no_full_set, tmp_path, capsys):
    from archsearch.experiment.run import run

    # one evaluation and a one-epoch final training: every stage of a run, each reading the data
    run("random", space="hierarchical", preset="smoke", budget=1, final_epochs=1, runs_dir=tmp_path, name="offline",
        quiet=False)
    config = yaml.safe_load((tmp_path / "offline" / "config.yaml").read_text())
    assert config["data"] == "fashion-mnist-subset" and "bundled subset" in config["data_source"]
    log = (tmp_path / "offline" / "log.txt").read_text().splitlines()
    assert sum("bundled subset" in line for line in log) == 1
    assert any("final training of the chosen arch" in line for line in log)  # the final stage ran too
    assert sum("bundled subset" in line for line in capsys.readouterr().err.splitlines()) == 1
