"""Data: loaders and their checks, deterministic splits, batches and batched augmentation."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from archsearch.data import (Augmentation, Batches, TensorPair, augment_batch, from_arrays, load_dataset, make_splits,
                             random_crop, random_flip)
from archsearch.data import _locate, datasets
from archsearch.data._idx import KnownFile, parse_idx, read_verified
from archsearch.errors import ConfigError, DataError, UsageError

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not (SYSTEM_FASHION / "train-labels-idx1-ubyte.gz").is_file(),
                                   reason="dataset-fashion-mnist not installed")


@pytest.fixture(autouse=True)
def _isolated_lookup(tmp_path, monkeypatch):
    """No test sees the user's real cache or $ARCHSEARCH_DATA, and none touches the network."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("ARCHSEARCH_DATA", raising=False)
    monkeypatch.setenv("ARCHSEARCH_OFFLINE", "1")


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


# -- digits and user arrays -------------------------------------------------------------------------------------------
def test_digits_loads_as_uint8_images():
    d = load_dataset("digits")
    assert d.x_train.dtype == torch.uint8 and d.x_train.shape == (1437, 1, 8, 8)
    assert d.x_test.shape == (360, 1, 8, 8) and d.y_test.dtype == torch.int64
    assert d.input_shape == (1, 8, 8) and d.num_classes == 10
    assert int(d.x_train.max()) == 255 and not d.augmentation.flip
    pixels = d.x_train.double() / 255
    assert d.mean[0] == pytest.approx(float(pixels.mean()), abs=1e-12)
    assert d.std[0] == pytest.approx(float(pixels.std(unbiased=False)), abs=1e-12)
    assert torch.equal(load_dataset("digits").y_test, d.y_test)  # the fixed test split never moves


def test_unknown_dataset_lists_the_allowed_names():
    with pytest.raises(UsageError, match=r"unknown dataset 'fashion_mnist'; did you mean 'fashion-mnist'\?"):
        load_dataset("fashion_mnist")


def test_from_arrays_shapes_and_normalisation():
    x = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4) * 7
    d = from_arrays(x, np.array([0, 2]), x[:1], np.array([1]), name="toy")
    assert d.x_train.shape == (2, 1, 4, 4) and d.num_classes == 3
    expected = (x[:, None].astype(np.float32) / 255 - d.mean[0]) / d.std[0]
    np.testing.assert_allclose(d.normalise(d.x_train).numpy(), expected, rtol=1e-6, atol=1e-6)
    rgb = np.zeros((3, 5, 6, 3), dtype=np.float32)
    rgb[..., 1] = 1.0
    d = from_arrays(rgb, np.zeros(3, int), rgb, np.zeros(3, int), channels_last=True, num_classes=4)
    assert d.x_train.shape == (3, 3, 5, 6) and d.mean == (0.0, 1.0, 0.0) and d.num_classes == 4


@pytest.mark.parametrize("bad, match", [
    (dict(y_train=np.array([0, 1, 2])), "expected 2 labels"),
    (dict(y_train=np.array([0.5, 1.0])), "labels must be integers"),
    (dict(y_train=np.array([-1, 0])), "labels must be >= 0"),
    (dict(x_train=np.zeros((2, 16))), r"expected images \(N, H, W\)"),
    (dict(num_classes=1), "labels go up to 1 but num_classes=1"),
])
def test_from_arrays_rejects_bad_input(bad, match):
    args = dict(x_train=np.zeros((2, 4, 4), np.uint8), y_train=np.array([0, 1]), x_test=np.zeros((1, 4, 4), np.uint8),
                y_test=np.array([0]))
    args.update(bad)
    with pytest.raises(ConfigError, match=match):
        from_arrays(**args)


# -- splits -----------------------------------------------------------------------------------------------------------
def test_splits_are_deterministic_disjoint_and_normalised():
    d = load_dataset("digits")
    a = make_splits(d, val_size=300, small_val_size=100, seed=3)
    b = make_splits(d, val_size=300, small_val_size=100, seed=3)
    c = make_splits(d, val_size=300, small_val_size=100, seed=4)
    assert a.sizes() == {"train": 1037, "val": 300, "small_val": 100, "test": 360}
    for part in ("train", "val", "small_val", "test"):
        assert torch.equal(getattr(a, part).x, getattr(b, part).x)
        assert torch.equal(getattr(a, part).y, getattr(b, part).y)
    assert not torch.equal(a.val.x, c.val.x)
    # disjoint and complete: identify rows by their raw bytes
    rows = {part: {bytes(r.numpy().tobytes()) + bytes([int(y)]) for r, y in zip(getattr(a, part).x, getattr(a, part).y)}
            for part in ("train", "val", "small_val")}
    everything = {bytes(r.numpy().tobytes()) + bytes([int(y)])
                  for r, y in zip(d.normalise(d.x_train), d.y_train)}
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["small_val"]
    assert not rows["val"] & rows["small_val"]
    assert rows["train"] | rows["val"] | rows["small_val"] == everything
    assert a.train.x.dtype == torch.float32 and a.train.y.dtype == torch.int64
    assert float(a.train.x.mean()) == pytest.approx(0.0, abs=0.05)


def test_train_size_is_a_prefix_of_the_same_permutation():
    d = load_dataset("digits")
    full = make_splits(d, val_size=200, small_val_size=100, seed=1)
    cut = make_splits(d, val_size=200, small_val_size=100, train_size=50, seed=1)
    assert len(cut.train) == 50 and torch.equal(cut.val.x, full.val.x)
    full_rows = {r.numpy().tobytes() for r in full.train.x}
    assert all(r.numpy().tobytes() in full_rows for r in cut.train.x)


@pytest.mark.parametrize("kwargs, match", [
    (dict(val_size=1500, small_val_size=1000), "leaves none to train on"),
    (dict(val_size=100, small_val_size=100, train_size=5000), r"train_size=5000 must be in \[1, 1237\]"),
    (dict(val_size=-1), "val_size must be >= 0"),
])
def test_bad_split_sizes(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_splits(load_dataset("digits"), **kwargs)


# -- batches and augmentation -----------------------------------------------------------------------------------------
def _pair(n=10, c=1, h=4, w=4):
    x = torch.arange(n * c * h * w, dtype=torch.float32).reshape(n, c, h, w)
    return TensorPair(x, torch.arange(n), Augmentation(crop_padding=1, flip=True, fill=(-5.0,) * c))


def test_batches_cover_each_sample_once_per_epoch_and_reshuffle():
    pair = _pair(10)
    batches = Batches(pair, 4, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3
    epoch1 = torch.cat([y for _, y in batches])
    epoch2 = torch.cat([y for _, y in batches])
    assert sorted(epoch1.tolist()) == list(range(10)) and sorted(epoch2.tolist()) == list(range(10))
    assert not torch.equal(epoch1, epoch2)
    for x, y in batches:
        assert torch.equal(x, pair.x[y])
    dropped = Batches(pair, 4, shuffle=False, drop_last=True)
    assert len(dropped) == 2 and [y.tolist() for _, y in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    again = Batches(pair, 4, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.cat([y for _, y in again]), epoch1)


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x = _pair(6, c=2).x
    out = random_crop(x, 2, torch.Generator().manual_seed(7), fill=(-1.0, -2.0))
    offsets = torch.randint(0, 5, (2, 6), generator=torch.Generator().manual_seed(7))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), value=0.0)
    padded[:, 0][padded[:, 0] == 0] = -1.0  # x has no zero except pixel 0 of sample 0, channel 0
    padded[0, 0, 2, 2] = 0.0
    padded[:, 1, :2], padded[:, 1, -2:], padded[:, 1, :, :2], padded[:, 1, :, -2:] = -2.0, -2.0, -2.0, -2.0
    for b in range(6):
        oy, ox = int(offsets[0, b]), int(offsets[1, b])
        assert torch.equal(out[b], padded[b, :, oy:oy + 4, ox:ox + 4])
    assert torch.equal(random_crop(x, 0, torch.Generator()), x)


def test_random_flip_mirrors_about_half():
    x = torch.randn(400, 1, 3, 5, generator=torch.Generator().manual_seed(0))
    out = random_flip(x, torch.Generator().manual_seed(1))
    flipped = [torch.equal(o, xi.flip(2)) for o, xi in zip(out, x)]
    assert all(f or torch.equal(o, xi) for f, o, xi in zip(flipped, out, x))
    assert 150 < sum(flipped) < 250


def test_augmented_batches_are_reproducible_and_keep_labels():
    pair = _pair(8)
    run = lambda: [(x.clone(), y) for x, y in Batches(pair, 3, shuffle=True, augment=True,  # noqa: E731
                                                      generator=torch.Generator().manual_seed(5))]
    first, second = run(), run()
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, second))
    assert any(not torch.equal(x, pair.x[y]) for x, y in first)
    with pytest.raises(ConfigError, match="no Augmentation"):
        Batches(TensorPair(pair.x, pair.y), 3, augment=True)


def test_batch_of_a_step_is_a_pure_function_of_the_step():
    """``batch(step)``: epoch e permuted by generator_for("perm", e), step s augmented by generator_for("aug", s),
    whatever was asked before (a resumed run needs no loader position)."""
    pair = _pair(10)
    calls = []

    def generator_for(kind, index):
        calls.append((kind, index))
        return torch.Generator().manual_seed(100 * (kind == "aug") + index)

    stream = Batches(pair, 4, shuffle=True, augment=True, drop_last=True, generator_for=generator_for)
    forward = [stream.batch(step) for step in range(6)]
    assert calls[:3] == [("perm", 0), ("aug", 0), ("aug", 1)] and ("perm", 2) in calls
    fresh = Batches(pair, 4, shuffle=True, augment=True, drop_last=True, generator_for=generator_for)
    for step in (5, 0, 3):
        assert all(torch.equal(a, b) for a, b in zip(fresh.batch(step), forward[step]))
    order = torch.randperm(10, generator=generator_for("perm", 1))
    x, y = forward[3]  # epoch 1, second batch
    assert torch.equal(y, order[4:8])
    assert torch.equal(x, augment_batch(pair.x[order[4:8]], pair.augmentation, generator_for("aug", 3)))
    with pytest.raises(ConfigError, match="needs generator_for"):
        Batches(pair, 4).batch(0)


# -- IDX files: verification and errors -------------------------------------------------------------------------------
def test_parse_idx_and_bad_headers():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(_idx_bytes(images), source="x"), images)
    with pytest.raises(DataError, match="bad magic"):
        parse_idx(b"\x00\x00\x0d\x01" + bytes(8), source="x")
    with pytest.raises(DataError, match=r"declares shape \(2, 3, 4\)"):
        parse_idx(_idx_bytes(images)[:-1], source="x")


def test_read_verified_names_truncated_and_altered_files(tmp_path):
    raw = _idx_bytes(np.arange(10, dtype=np.uint8))
    known = KnownFile("tiny-labels-idx1-ubyte", len(raw), hashlib.md5(raw).hexdigest(), hashlib.sha256(raw).hexdigest())
    good = tmp_path / "tiny-labels-idx1-ubyte.gz"
    good.write_bytes(gzip.compress(raw))
    assert read_verified(good, known) == raw
    cut = tmp_path / "cut" / good.name
    cut.parent.mkdir()
    cut.write_bytes(good.read_bytes()[:-9])
    with pytest.raises(DataError, match=rf"{cut}.*corrupt or truncated"):
        read_verified(cut, known)
    altered = tmp_path / "tiny-labels-idx1-ubyte"
    altered.write_bytes(raw[:-1] + b"\x07")
    with pytest.raises(DataError, match=rf"{altered} is corrupt or not the published file \(sha256"):
        read_verified(altered, known)
    short = tmp_path / "short" / "tiny-labels-idx1-ubyte"
    short.parent.mkdir()
    short.write_bytes(raw[:-2])
    with pytest.raises(DataError, match=r"16 bytes uncompressed, expected 18"):
        read_verified(short, known)


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("fashion-mnist", data_dir=tmp_path / "nowhere")
    message = str(err.value)
    assert "Fashion-MNIST not found in" in message and "apt-get install dataset-fashion-mnist" in message
    assert "--data-dir" in message and "train-images-idx3-ubyte.gz" in message


def test_corrupt_or_partial_fashion_mnist_names_the_file(tmp_path):
    for known in datasets.FASHION_MNIST_FILES:
        (tmp_path / f"{known.name}.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz is corrupt or truncated.*apt-get install"):
        load_dataset("fashion-mnist", data_dir=tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"holds only part of the dataset: missing t10k-labels-idx1-ubyte\[.gz\]"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


@needs_fashion
def test_published_hashes_match_the_system_copy(tmp_path):
    labels = datasets.FASHION_MNIST_FILES[1]
    raw = read_verified(SYSTEM_FASHION / f"{labels.name}.gz", labels)
    assert hashlib.md5(raw).hexdigest() == labels.raw_md5  # the published md5 of the unpacked file
    y = parse_idx(raw, source="labels")
    assert y.shape == (60000,) and np.bincount(y).tolist() == [6000] * 10
    truncated = tmp_path / f"{labels.name}.gz"
    truncated.write_bytes((SYSTEM_FASHION / truncated.name).read_bytes()[:20000])
    with pytest.raises(DataError, match=rf"{truncated} is corrupt or truncated"):
        read_verified(truncated, labels)


@needs_fashion
def test_lookup_order_env_before_cache_before_system(tmp_path, monkeypatch):
    env, cache = tmp_path / "env" / "fashion-mnist", tmp_path / "xdg-cache" / "archsearch" / "fashion-mnist"
    for directory in (env, cache):
        directory.mkdir(parents=True)
    for known in datasets.FASHION_MNIST_FILES:
        (env / f"{known.name}.gz").symlink_to(SYSTEM_FASHION / f"{known.name}.gz")
        (cache / f"{known.name}.gz").write_bytes(b"garbage")
    monkeypatch.setenv("ARCHSEARCH_DATA", str(tmp_path / "env"))
    d = load_dataset("fashion-mnist")  # $ARCHSEARCH_DATA wins over the (corrupt) cache
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert d.augmentation.flip and d.augmentation.crop_padding == 2
    assert d.mean[0] == pytest.approx(0.2860, abs=1e-4) and d.std[0] == pytest.approx(0.3530, abs=1e-4)
    monkeypatch.delenv("ARCHSEARCH_DATA")
    with pytest.raises(DataError, match=rf"{cache}/train-images-idx3-ubyte.gz is corrupt"):
        load_dataset("fashion-mnist")  # then the cache, before /usr/share/datasets
    shutil.rmtree(cache)
    assert _locate.search_dirs(("fashion-mnist",), None, (str(SYSTEM_FASHION),))[-1] == SYSTEM_FASHION


def test_download_fails_fast_and_cleanly_when_offline(tmp_path, monkeypatch):
    files = datasets.FASHION_MNIST_FILES[:1]
    assert _locate.download_idx(files, ["http://127.0.0.1:9/"], tmp_path) is None  # offline flag set by fixture
    monkeypatch.delenv("ARCHSEARCH_OFFLINE")
    assert _locate.download_idx(files, ["http://127.0.0.1:9/"], tmp_path) is None  # connection refused
    assert not any(tmp_path.iterdir())


def test_mnist_from_local_idx_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5), rng.integers(0, 256, (3, 28, 28)),
              rng.integers(0, 10, 3)]
    fake = []
    for known, array in zip(datasets.MNIST_FILES, arrays):
        raw = _idx_bytes(array)
        (tmp_path / f"{known.name}.gz").write_bytes(gzip.compress(raw))
        fake.append(KnownFile(known.name, len(raw), hashlib.md5(raw).hexdigest()))
    monkeypatch.setattr(datasets, "MNIST_FILES", tuple(fake))
    d = load_dataset("mnist", data_dir=tmp_path)
    assert d.x_train.shape == (5, 1, 28, 28) and not d.augmentation.flip
    np.testing.assert_array_equal(d.x_test[:, 0].numpy(), arrays[2])
    np.testing.assert_array_equal(d.y_train.numpy(), arrays[1])


def test_cifar10_verifies_before_unpickling(tmp_path, monkeypatch):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.default_rng(0)
    table = []
    for name in ("data_batch_1", "test_batch"):
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 9]}
        blob = pickle.dumps(batch)
        (root / name).write_bytes(blob)
        table.append((name, hashlib.md5(blob).hexdigest()))
    monkeypatch.setattr(datasets, "CIFAR10_TRAIN", (table[0],))
    monkeypatch.setattr(datasets, "CIFAR10_TEST", (table[1],))
    d = load_dataset("cifar10", data_dir=tmp_path)
    assert d.x_train.shape == (4, 3, 32, 32) and d.augmentation == Augmentation(4, True, d.augmentation.fill, std=d.std)
    assert d.y_test.tolist() == [0, 1, 2, 9] and len(d.mean) == 3
    (root / "test_batch").write_bytes(b"\x80\x04evil")
    with pytest.raises(DataError, match=r"test_batch is corrupt or not the published file.*not unpickled"):
        load_dataset("cifar10", data_dir=tmp_path)
    with pytest.raises(DataError, match=r"CIFAR-10 not found.*cifar-10-python.tar.gz"):
        load_dataset("cifar10", data_dir=tmp_path / "empty")


def test_download_checks_the_published_md5_and_writes_atomically(tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    served = tmp_path / "mirror"
    served.mkdir()
    blob = gzip.compress(_idx_bytes(np.arange(5, dtype=np.uint8)))
    (served / "tiny-idx1-ubyte.gz").write_bytes(blob)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("ARCHSEARCH_OFFLINE")
    try:
        mirrors = ["http://127.0.0.1:9/", f"http://127.0.0.1:{server.server_address[1]}/"]  # first one refuses
        good = KnownFile("tiny-idx1-ubyte", 13, "", gz_md5=hashlib.md5(blob).hexdigest())
        paths = _locate.download_idx([good], mirrors, tmp_path / "cache")
        assert paths == {"tiny-idx1-ubyte": tmp_path / "cache" / "tiny-idx1-ubyte.gz"}
        assert paths["tiny-idx1-ubyte"].read_bytes() == blob
        assert [p.name for p in (tmp_path / "cache").iterdir()] == ["tiny-idx1-ubyte.gz"]  # no temp files left
        bad = KnownFile("tiny-idx1-ubyte", 13, "", gz_md5="0" * 32)
        with pytest.raises(DataError, match="downloaded tiny-idx1-ubyte.gz has md5"):
            _locate.download_idx([bad], mirrors, tmp_path / "cache2")
        assert not (tmp_path / "cache2").exists()
    finally:
        server.shutdown()
        server.server_close()
