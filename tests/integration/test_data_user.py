"""The user's own data: a .npz, an image folder, an in-memory `Dataset`; bad data refused before a run exists;
content hashes checked on resume; Ray workers get the data from the object store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import archsearch
from archsearch.cli import main
from archsearch.data import from_arrays, load_dataset
from archsearch.data.files import dataset_hash, save_dataset
from archsearch.errors import UsageError
from archsearch.experiment.run import resume, run
from archsearch.experiment.testing import SimulatedCrash, crash_after
from support import ROOT

SMOKE = dict(space="hierarchical", preset="smoke", quiet=True)


def _arrays(n_train=300, n_test=60, size=12, classes=3, seed=0):
    """Tiny images whose class is visible (a bright band at a class-dependent row), so a search learns something."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, classes, n)
        x = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
        for i, label in enumerate(y):
            x[i, 2 + 3 * label: 4 + 3 * label] = 220
        return x, y

    (x_train, y_train), (x_test, y_test) = make(n_train), make(n_test)
    return x_train, y_train, x_test, y_test


def _write_npz(path, **overrides):
    x_train, y_train, x_test, y_test = _arrays()
    arrays = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                  classes=np.array(["low", "mid", "high"]))
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _write_folder(root: Path, per_class=(6, 2), size=(10, 10), mode="L", odd=None):
    from PIL import Image

    rng = np.random.default_rng(1)
    for part, count in zip(("train", "test"), per_class):
        for label, name in enumerate(("cat", "dog")):
            folder = root / part / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (size[1], size[0]) + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
                Image.fromarray(pixels, mode).save(folder / f"{i}.png")
    return root


# -- the forms ----------------------------------------------------------------------------------------------------
def test_npz_is_read_checked_and_channels_last_is_recognised(tmp_path):
    d = load_dataset(_write_npz(tmp_path / "mine.npz"))
    assert d.name == "mine" and d.classes == ("low", "mid", "high") and d.num_classes == 3
    assert d.x_train.shape == (300, 1, 12, 12) and d.source == str(tmp_path / "mine.npz")
    rgb = np.random.default_rng(0).integers(0, 256, (20, 9, 9, 3), dtype=np.uint8)
    d = load_dataset(_write_npz(tmp_path / "rgb.npz", x_train=rgb, y_train=np.arange(20) % 3, x_test=rgb[:4],
                            y_test=np.arange(4) % 3))
    assert d.input_shape == (3, 9, 9)
    assert torch.equal(d.x_train[5], torch.from_numpy(rgb[5].transpose(2, 0, 1).copy()))


def test_image_folder_reads_pngs_as_labelled_images_and_resizes(tmp_path):
    root = _write_folder(tmp_path / "pets")
    d = load_dataset(root)
    assert d.classes == ("cat", "dog") and d.x_train.shape == (12, 1, 10, 10) and d.x_test.shape == (4, 1, 10, 10)
    assert d.y_train.tolist() == [0] * 6 + [1] * 6
    from PIL import Image

    assert np.array_equal(d.x_train[7, 0].numpy(), np.asarray(Image.open(root / "train" / "dog" / "1.png")))
    small = load_dataset(root, image_size=6)
    assert small.input_shape == (1, 6, 6) and small.name == "pets"
    colour = load_dataset(_write_folder(tmp_path / "colour", mode="RGB"))
    assert colour.input_shape == (3, 10, 10)


def test_save_dataset_round_trips_exactly(tmp_path):
    from archsearch.data import Augmentation

    x_train, y_train, x_test, y_test = _arrays()
    d = from_arrays(x_train.astype(np.float32) / 7, y_train, x_test.astype(np.float32) / 7, y_test, name="f",
                    augmentation=Augmentation(crop_padding=1, flip=True), classes=("a", "b", "c"))
    save_dataset(d, tmp_path / "d.npz")
    back = load_dataset(tmp_path / "d.npz")
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(back, key), getattr(d, key))
    assert (back.name, back.mean, back.std, back.augmentation, back.classes, back.num_classes) == \
        (d.name, d.mean, d.std, d.augmentation, d.classes, d.num_classes)
    assert dataset_hash(back) == dataset_hash(d)
    save_dataset(d, tmp_path / "again.npz")  # deterministic bytes: same arrays, same file
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "d.npz").read_bytes()


@pytest.mark.integration
def test_npz_path_runs_end_to_end_and_records_path_and_hash(tmp_path, monkeypatch):
    path = _write_npz(tmp_path / "mine.npz")
    monkeypatch.chdir(tmp_path)
    result = run("random", data="mine.npz", runs_dir=tmp_path / "runs", name="npz", **SMOKE)
    config = yaml.safe_load((tmp_path / "runs" / "npz" / "config.yaml").read_text())
    assert config["data"] == str(path) and config["data_sha256"] == dataset_hash(load_dataset(path))
    assert result.best.objectives["accuracy"] is not None


@pytest.mark.integration
def test_in_memory_dataset_is_saved_into_the_run_and_resume_in_a_new_process_matches(tmp_path):
    dataset = from_arrays(*_arrays(), name="mem")
    full = archsearch.run("random", data=dataset, runs_dir=tmp_path, name="full", budget=4, **SMOKE)
    with pytest.raises(SimulatedCrash), crash_after(2):
        run("random", data=dataset, runs_dir=tmp_path, name="crashed", budget=4, **SMOKE)
    saved = tmp_path / "crashed" / "data.npz"
    config = yaml.safe_load((tmp_path / "crashed" / "config.yaml").read_text())
    assert config["data"] == str(saved.resolve()) and config["data_sha256"] == dataset_hash(dataset)
    env = dict(os.environ, PYTHONPATH=str(ROOT), ARCHSEARCH_PROGRESS="0")
    done = subprocess.run([sys.executable, "-m", "archsearch.cli", "resume", "crashed", "--runs-dir", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    resumed = json.loads((tmp_path / "crashed" / "result.json").read_text())
    uninterrupted = json.loads((tmp_path / "full" / "result.json").read_text())
    assert resumed["best"] == uninterrupted["best"] and resumed["pareto_front"] == uninterrupted["pareto_front"]
    assert uninterrupted["best"]["arch"] == dict(full.best.arch)


@pytest.mark.integration
def test_resume_refuses_data_that_changed(tmp_path):
    path = _write_npz(tmp_path / "mine.npz")
    with pytest.raises(SimulatedCrash), crash_after(2):
        run("random", data=str(path), runs_dir=tmp_path, name="r", **SMOKE)
    x_train, y_train, x_test, y_test = _arrays(seed=5)
    _write_npz(path, x_train=x_train)
    with pytest.raises(UsageError, match=f"the data of run 'r' changed since it started: {path}"):
        resume("r", runs_dir=tmp_path, quiet=True)
    path.unlink()
    with pytest.raises(UsageError, match=f"no such file or folder: {path}"):
        resume("r", runs_dir=tmp_path, quiet=True)


@pytest.mark.integration
def test_cli_runs_on_a_generated_png_folder(tmp_path, capsys):
    root = _write_folder(tmp_path / "pets", per_class=(100, 10), size=(14, 14))
    code = main(["run", "random", "--preset", "smoke", "--space", "hierarchical", "--budget", "3", "--data", str(root),
                 "--image-size", "12", "--runs-dir", str(tmp_path / "runs"), "--name", "pngs"])
    out = capsys.readouterr().out
    assert code == 0 and "leaderboard" in out and "data=" + str(root) in out
    config = yaml.safe_load((tmp_path / "runs" / "pngs" / "config.yaml").read_text())
    assert config["data"] == str(root) and config["image_size"] == 12 and config["data_source"] == str(root)
    assert config["space"]["options"]["input_size"] == 12 and config["space"]["options"]["num_classes"] == 2
    # export and retrain the found arch: `train` reads the folder at the size the search used
    assert main(["export", "pngs", "--runs-dir", str(tmp_path / "runs"), "--top", "1"]) == 0
    arch_file = tmp_path / "runs" / "pngs" / "export" / "rank1" / "arch.json"
    assert json.loads(arch_file.read_text())["source"]["image_size"] == 12
    capsys.readouterr()
    assert main(["train", str(arch_file), "--epochs", "1", "--val-size", "0"]) == 0
    trained = capsys.readouterr().out
    assert "test accuracy" in trained and "(20 test images" in trained


# -- bad data: one line, exit 2, no run directory -------------------------------------------------------------------
def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    x_train, y_train, x_test, y_test = _arrays()
    cases = {
        "missing file": ([str(tmp_path / "absent.npz")], "no such file or folder"),
        "missing key": ([str(_write_npz(tmp_path / "nokey.npz", y_test=None))], "has no y_test"),
        "bad shape": ([str(_write_npz(tmp_path / "shape.npz", x_train=x_train.reshape(300, -1)))],
                      r"expected images \(N, H, W\)"),
        "bad dtype": ([str(_write_npz(tmp_path / "dtype.npz", x_train=x_train.astype(np.int64)))],
                      "dtype int64 not supported"),
        "label count": ([str(_write_npz(tmp_path / "count.npz", y_train=y_train[:10]))], "expected 300 labels"),
        "float labels": ([str(_write_npz(tmp_path / "float.npz", y_train=y_train + 0.5))],
                         "labels must be integers"),
        "label out of range": ([str(_write_npz(tmp_path / "range.npz", y_test=y_test + 3))],
                               "labels go up to 5 but num_classes=3"),
        "shapes differ": ([str(_write_npz(tmp_path / "differ.npz", x_test=x_test[:, :10]))],
                          r"x_train images are \(1, 12, 12\) but x_test images are \(1, 10, 12\)"),
        "not a zip": ([str(tmp_path / "text.npz")], "is not a readable .npz file"),
        "image size on npz": ([str(tmp_path / "range.npz"), "--image-size", "8"], "not an image folder"),
    }
    (tmp_path / "text.npz").write_text("hello")
    folder = _write_folder(tmp_path / "notimage")
    (folder / "train" / "cat" / "notes.png").write_text("not an image")
    cases["not an image"] = ([str(folder)], f"{folder}/train/cat/notes.png is not an image")
    folder = _write_folder(tmp_path / "emptyclass")
    for p in (folder / "test" / "dog").iterdir():
        p.unlink()
    cases["empty class"] = ([str(folder)], f"class folder {folder}/test/dog holds no images")
    folder = _write_folder(tmp_path / "sizes")
    from PIL import Image

    Image.fromarray(np.zeros((8, 10), np.uint8)).save(folder / "test" / "dog" / "0.png")
    cases["image sizes differ"] = ([str(folder)], f"{folder}/test/dog/0.png is 10x8 but {folder}/train/cat/0.png is "
                                                  "10x10: images must share one size, or pass --image-size N")
    folder = _write_folder(tmp_path / "notrain")
    os.rename(folder / "train", folder / "training")
    cases["no train folder"] = ([str(folder)], "has no train/ sub-folder")
    return cases


def test_bad_data_is_one_line_exit_2_and_creates_no_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    for case, (data_args, message) in _bad_inputs(tmp_path).items():
        code = main(["run", "random", "--preset", "smoke", "--space", "hierarchical", "--runs-dir", str(runs),
                     "--name", "bad", "--data", *data_args])
        err = capsys.readouterr().err
        assert code == 2, (case, err)
        assert len(err.strip().splitlines()) == 1, (case, err)
        import re

        assert re.search(message, err), (case, err)
        assert not runs.exists(), case


def test_bad_data_objects_through_the_api_create_no_run(tmp_path):
    x_train, y_train, x_test, y_test = _arrays()
    with pytest.raises(UsageError, match="data must be a dataset name, a path or a Dataset"):
        run("random", data=np.zeros(3), runs_dir=tmp_path, **SMOKE)
    with pytest.raises(UsageError, match="unknown dataset 'fashion'; did you mean 'fashion-mnist'"):
        run("random", data="fashion", runs_dir=tmp_path, **SMOKE)
    with pytest.raises(UsageError, match="image_size resizes"):
        run("random", data=from_arrays(x_train, y_train, x_test, y_test), image_size=8, runs_dir=tmp_path, **SMOKE)
    assert not any(tmp_path.iterdir())


# -- Ray: the data travels once through the object store ------------------------------------------------------------
@pytest.mark.slow
def test_ray_workers_get_the_data_from_the_object_store_once(tmp_path):
    pytest.importorskip("ray")
    from archsearch.executors import create_executor
    from archsearch.spaces import create_space
    from archsearch.tasks import run_eval_task
    from archsearch.train.task import EvalTask, install_dataset

    dataset = from_arrays(*_arrays(), name="mem")
    ghost = str(tmp_path / "never-written.npz")  # no worker can read this path: only the object store has the data
    install_dataset((ghost, None, None), lambda: dataset)
    options = dict(preset="smoke", num_classes=3, in_channels=1, input_size=12)
    arch = create_space("hierarchical", **options).space.sample(np.random.default_rng(0))
    task = EvalTask(space="hierarchical", space_options=options, arch=arch.to_dict(), data=ghost,
                    split={"val_size": 50, "small_val_size": 10, "train_size": 64}, test=False,
                    recipe={"batch_size": 32})
    executor = create_executor("ray", workers=1)
    try:
        results = executor.map(run_eval_task, [task] * 3)
        assert all(r.val_accuracy is not None for r in results), [r.error for r in results]
        assert list(executor._data_refs) == [task.data_key]  # put once for all the tasks
    finally:
        executor.shutdown()
