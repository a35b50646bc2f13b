import json
import warnings

import pytest
import torch
import torch.nn as nn

from archsearch.cost.latency import LatencyTable, device_fingerprint, measure_table
from archsearch.errors import UsageError
from support import ChoiceToy


def test_table_round_trips_and_sums(tmp_path):
    ops = [("conv", lambda: nn.Conv2d(1, 4, 3, padding=1), (1, 8, 8)), ("id", nn.Identity, (1, 8, 8)),
           ("conv", lambda: nn.Conv2d(1, 4, 3, padding=1), (1, 8, 8))]
    table = measure_table(ops, warmup=1, repeats=3)
    assert sorted(table.entries) == ["conv", "id"]  # shared keys are timed once
    assert all(v > 0 for v in table.entries.values())
    path = table.save(tmp_path / "lut.json")
    loaded = LatencyTable.load(path, expect=device_fingerprint("cpu", 1))
    assert loaded.entries == table.entries
    assert loaded.total(["conv", "id", "conv"]) == pytest.approx(2 * table["conv"] + table["id"])


def test_table_from_another_device_is_refused_unless_forced(tmp_path):
    fingerprint = dict(device_fingerprint("cpu", 1), processor="Some Phone SoC")
    path = LatencyTable(fingerprint, {"conv": 1.5}).save(tmp_path / "lut.json")
    with pytest.raises(UsageError, match="another device.*processor"):
        LatencyTable.load(path, expect=device_fingerprint("cpu", 1))
    assert LatencyTable.load(path, expect=device_fingerprint("cpu", 1), force=True)["conv"] == 1.5


def test_corrupt_or_missing_table_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"fingerprint": {}, "entr')
    with pytest.raises(UsageError, match="corrupt"):
        LatencyTable.load(bad)
    with pytest.raises(UsageError, match="no latency table"):
        LatencyTable.load(tmp_path / "missing.json")
    assert json.loads(LatencyTable({"d": 1}, {"a": 1.0}).to_json())["entries"] == {"a": 1.0}


def test_cpu_measurements_default_to_one_thread_and_restore_the_callers(monkeypatch):
    """A shared host's thread pool inflates tiny ops (measured 64-80 ms at 2 threads vs 0.26 ms at 1): tables and
    end-to-end timings use 1 thread unless asked, record it, and leave the caller's thread count alone."""
    from archsearch.cost.latency import THREADS_ENV, measurement_threads, time_module

    monkeypatch.delenv(THREADS_ENV, raising=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []

        class Probe(nn.Module):
            def forward(self, x):
                seen.append(torch.get_num_threads())
                return x

        ops = [("probe", Probe, (1, 4, 4))]
        table = measure_table(ops, warmup=0, repeats=1)
        assert table.fingerprint["threads"] == 1 and set(seen) == {1}
        assert torch.get_num_threads() == 2
        seen.clear()
        time_module(Probe(), (1, 4, 4), warmup=0, repeats=1)
        assert set(seen) == {1} and torch.get_num_threads() == 2
        seen.clear()
        assert measure_table(ops, warmup=0, repeats=1, threads=2).fingerprint["threads"] == 2 and set(seen) == {2}
        monkeypatch.setenv(THREADS_ENV, "2")
        assert measurement_threads("cpu") == 2 and device_fingerprint("cpu", 1)["threads"] == 2
        assert measurement_threads("cpu", 1) == 1
    finally:
        torch.set_num_threads(previous)


def test_a_table_of_another_thread_count_is_refused(tmp_path):
    path = LatencyTable(device_fingerprint("cpu", 1, threads=2), {"conv": 1.0}).save(tmp_path / "lut.json")
    with pytest.raises(UsageError, match="threads: table 2 vs here 1.*--threads"):
        LatencyTable.load(path, expect=device_fingerprint("cpu", 1))
    assert LatencyTable.load(path, expect=device_fingerprint("cpu", 1, threads=2))["conv"] == 1.0


def test_clock_and_statistic():
    """One CPU thread: the thread's CPU time (robust to other processes); else the wall clock. Entries are trimmed
    means (additive like the released code's mean table, robust to a stray interrupt)."""
    from archsearch.cost.latency import measurement_clock, summarize
    from archsearch.errors import ConfigError

    assert measurement_clock("cpu") == "cpu" and measurement_clock("cpu", 2) == "wall"
    assert measurement_clock("cpu", 1, "wall") == "wall"
    with pytest.raises(ConfigError, match="clock 'cpu' needs"):
        measurement_clock("cpu", 2, "cpu")
    with pytest.raises(ConfigError, match="not one of"):
        measurement_clock("cpu", 1, "gpu")
    assert device_fingerprint("cpu", 1)["clock"] == "cpu"
    assert summarize([1.0] * 8 + [100.0, 0.0]) == 1.0  # the extremes are trimmed
    assert summarize([2.0, 4.0]) == 3.0
    ops = [("conv", lambda: nn.Conv2d(1, 4, 3, padding=1), (1, 8, 8))]
    table = measure_table(ops, warmup=1, repeats=3, clock="wall")
    assert table.fingerprint["clock"] == "wall" and table.meta["statistic"] == "mad5_trimmed_mean_10"


# -- robust statistics and the whole-network calibration ---------------------------------------------------------
def test_outliers_are_dropped_by_mad_before_the_trimmed_mean():
    from archsearch.cost.latency import spread, summarize

    samples = [1.0, 1.1, 0.9, 1.05, 0.95] * 4 + [9.0, 12.0]  # two preemptions among 22 samples
    assert summarize(samples) == pytest.approx(1.0, abs=0.02)
    assert spread([1.0, 2.0, 3.0]) == pytest.approx(1.4826 / 2)
    assert spread([0.0, 0.0]) == 0.0


def test_fit_calibration_recovers_scale_and_offset_and_falls_back_to_a_ratio():
    from archsearch.cost.latency import fit_calibration
    from archsearch.errors import ConfigError

    sums = [1.0, 2.0, 3.0, 5.0]
    scale, offset = fit_calibration(sums, [0.3 + 0.8 * s for s in sums])
    assert scale == pytest.approx(0.8) and offset == pytest.approx(0.3)
    assert fit_calibration([2.0, 2.0], [1.0, 1.2]) == (pytest.approx(0.55), 0.0)  # sums do not vary: a ratio
    assert fit_calibration([1.0, 2.0], [2.0, 1.0]) == (pytest.approx(1.25), 0.0)  # a falling line: a ratio
    # a network whose ops all timed at zero (a busy machine, ops below the timer's noise): the offset carries it
    assert fit_calibration([0.0, 0.0, 2.0], [1.0, 1.0, 1.0]) == (pytest.approx(0.5), pytest.approx(1.0))
    assert fit_calibration([0.0, 0.0], [1.0, 1.2]) == (1.0, pytest.approx(1.1))
    with pytest.raises(ConfigError, match="positive"):
        fit_calibration([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ConfigError, match="non-negative"):
        fit_calibration([-1.0, 2.0], [1.0, 1.0])


def test_a_calibrated_table_predicts_through_its_fit_and_round_trips(tmp_path):
    from archsearch.cost.latency import calibrate_table, op_key, predict_latency, table_sum

    entries = {"fixed:stem": 0.5, op_key("b0", "a"): 1.0, op_key("b0", "b"): 3.0, op_key("b1", "a"): 2.0,
               op_key("b1", "b"): 4.0}
    table = LatencyTable(device_fingerprint("cpu", 1), entries)
    archs = [{"b0": "a", "b1": "a"}, {"b0": "b", "b1": "a"}, {"b0": "a", "b1": "b"}, {"b0": "b", "b1": "b"}]
    assert predict_latency(table, archs[0]) == table_sum(table, archs[0]) == 3.5  # no fit: the raw sum
    measured = [0.2 + 0.5 * table_sum(table, a) for a in archs]
    fit = calibrate_table(table, list(zip(archs[:3], measured[:3])), [(archs[3], measured[3] * 1.1)])
    assert fit["scale"] == pytest.approx(0.5) and fit["offset_ms"] == pytest.approx(0.2)
    assert predict_latency(table, archs[3]) == pytest.approx(measured[3])
    assert fit["heldout_median_error"] == pytest.approx(1 / 11)  # measured 10% above the exact line
    assert fit["heldout_median_error_raw"] == pytest.approx(abs(7.5 - measured[3] * 1.1) / (measured[3] * 1.1))
    assert [r["arch"] for r in fit["heldout"]] == [json.dumps(archs[3], sort_keys=True)]
    loaded = LatencyTable.load(table.save(tmp_path / "lut.json"))
    assert loaded.scale_offset == (pytest.approx(0.5), pytest.approx(0.2))
    assert predict_latency(loaded, archs[1]) == pytest.approx(measured[1])


def test_build_table_calibrates_on_whole_networks_and_warns_when_noisy(monkeypatch, tmp_path):
    """Fit archs spread over the space's MACs, held-out archs apart from them, each network timed between the op
    sweeps; a held-out error above the bound is reported through `warn` (and `warnings.warn` without one)."""
    from archsearch.cost import latency
    from archsearch.spaces import create_space

    space = create_space("mobilenet", preset="smoke")
    fit, heldout = latency.calibration_archs(space, 4, 3)
    assert len(fit) == 4 and len(heldout) == 3 and not {a.key for a in fit} & {a.key for a in heldout}
    macs = [space.cost(a).macs for a in fit]
    assert macs == sorted(macs) and macs[0] < macs[-1]
    timed = []
    real = latency._time_samples
    monkeypatch.setattr(latency, "_time_samples", lambda *a, **k: timed.append(k.get("repeats")) or real(*a, **k))
    messages = []
    table = latency.build_table(space, warmup=0, repeats=5, rounds=2, calibration=4, heldout=3, warn=messages.append)
    fit_meta = table.meta["calibration"]
    assert len(fit_meta["fit"]) == 4 and len(fit_meta["heldout"]) == 3
    assert timed.count(latency.CALIBRATION_REPEATS) == 7 * 2  # every network, every 5th of the 10 sweeps
    assert fit_meta["scale"] > 0 and all(r["measured_ms"] > 0 for r in fit_meta["heldout"])
    assert 0 <= fit_meta["heldout_median_error"] < 1 and table.meta["noise"] >= 0
    arch = fit[0]
    assert latency.predict_latency(table, arch) == pytest.approx(table.calibrate(latency.table_sum(table, arch)))
    assert messages == latency.noise_warnings(table)
    monkeypatch.setattr(latency, "NOISE_BOUND", -1.0)
    assert "held-out" in latency.noise_warnings(table)[0] and "quieter" in latency.noise_warnings(table)[-1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        latency.build_table(space, warmup=0, repeats=1, rounds=1, calibration=2, heldout=1)
    assert {w.category for w in caught} == {latency.LatencyNoiseWarning}
    assert "held-out" in str(caught[0].message)


def test_an_uncalibrated_cached_table_is_used_with_a_hint(tmp_path):
    from archsearch.cost.latency import ensure_table, space_ops
    from archsearch.spaces import create_space

    space = create_space("mobilenet", preset="smoke")
    entries = {key: 0.1 for key, _, _ in space_ops(space)}
    path = LatencyTable(device_fingerprint("cpu", 1), entries).save(tmp_path / "old.json")
    messages = []
    table = ensure_table(space, path=path, log=messages.append)
    assert table.scale_offset == (1.0, 0.0) and "no whole-network calibration" in messages[0]


# -- a user's space: ops traced from the model ----------------------------------------------------------------------
@pytest.mark.integration  # a second or more: whole networks timed for the calibration
def test_a_user_space_table_times_each_candidate_at_the_input_it_sees(tmp_path):
    from archsearch import ModuleSpace
    from archsearch.cost.latency import (OpInputs, build_table, ensure_table, predict_latency, space_ops, space_tag,
                                         table_sum)

    space = ModuleSpace(ChoiceToy, input_shape=(1, 8, 8), num_classes=10, name="cell")  # the stem halves the image
    blocks = {b.name: b for b in space.blocks}
    assert blocks["a"].input_shape == (8, 4, 4) and blocks["a"].values == ("conv3", "conv5", "pool", "none")
    assert blocks["b"].input_shape == (8, 4, 4) and blocks["b"].values == ("0", "1")
    assert blocks["merge"].input_shape == OpInputs(((8, 4, 4),) * 3)  # the three tensors it chooses from
    assert [(name, shape) for name, _, shape in space.fixed_modules()] == [("stem", (1, 8, 8)), ("head", (8, 4, 4))]
    assert sorted(key for key, _, _ in space_ops(space)) == ["a:conv3", "a:conv5", "a:none", "a:pool", "b:0", "b:1",
                                                             "fixed:head", "fixed:stem", "merge:0,1", "merge:0,2",
                                                             "merge:1,2"]
    table = build_table(space, warmup=1, repeats=4, rounds=1, calibration=2, heldout=1, warn=lambda m: None)
    assert all(v > 0 for v in table.entries.values()) and table.meta["runtime"] == "torch"
    assert table["b:0"] > table["b:1"]  # a conv costs more than passing its input on
    arch = {"a": "conv5", "b": "0", "merge": "0,2"}
    assert table_sum(table, arch) == pytest.approx(sum(table[k] for k in ("fixed:stem", "fixed:head", "a:conv5",
                                                                          "b:0", "merge:0,2")))
    assert table.meta["calibration"]["fit"] and predict_latency(table, arch) > 0
    path = table.save(tmp_path / "cell.json")
    assert ensure_table(space, path=path).entries == table.entries
    other = ModuleSpace(lambda: ChoiceToy(kernel=5), input_shape=(1, 8, 8), num_classes=10, name="cell")
    assert space_tag(other) != space_tag(space)  # same labels and shapes, other layers: another table


def test_a_user_space_a_table_cannot_serve_is_refused_in_one_line():
    from archsearch import LayerChoice, ModuleSpace

    def strided():  # the first choice decides the image size the second one sees
        return nn.Sequential(LayerChoice([nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, stride=2, padding=1)],
                                         label="a"),
                             LayerChoice([nn.Identity(), nn.ReLU()], label="b"), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(1, 10))

    with pytest.raises(UsageError, match=r"choice 'b' sees input \(1, 8, 8\) .* and \(1, 4, 4\) in arch"):
        ModuleSpace(strided, input_shape=(1, 8, 8), num_classes=10).blocks
    with pytest.raises(UsageError, match="has no input_shape"):
        ModuleSpace(strided).blocks


# -- ONNX Runtime ---------------------------------------------------------------------------------------------------
@pytest.mark.integration  # a second or more: whole networks timed for the calibration
def test_an_onnxruntime_table_on_a_toy_space(tmp_path):
    """Ops and whole networks run in a one-thread ONNX Runtime session; the table records the runtime, and a table
    of the other runtime is refused (its numbers rank ops differently)."""
    pytest.importorskip("onnxruntime")
    from archsearch import ModuleSpace
    from archsearch.cost.latency import build_table, ensure_table, table_path, time_module

    space = ModuleSpace(ChoiceToy, input_shape=(1, 8, 8), num_classes=10, name="cell")
    table = build_table(space, warmup=1, repeats=10, rounds=3, calibration=2, heldout=1, runtime="onnxruntime",
                        warn=lambda m: None)  # enough rounds that the conv's few microseconds beat a busy machine
    assert table.runtime == "onnxruntime" and table.fingerprint["onnxruntime"] and table.meta["runtime"] == \
        "onnxruntime"
    assert sorted(table.entries) == ["a:conv3", "a:conv5", "a:none", "a:pool", "b:0", "b:1", "fixed:head",
                                     "fixed:stem", "merge:0,1", "merge:0,2", "merge:1,2"]
    assert all(v >= 0 for v in table.entries.values()) and table.meta["calibration"]["fit"]
    assert table["b:0"] > table["b:1"]  # framed between 1x1 convs, an identity costs ~0 (as in a network)
    assert sorted(table.meta["onnxruntime_frames_ms"]) == ["frame:1x8x8", "frame:8x4x4"]  # stem's in, the ops'
    assert table_path(space, runtime="onnxruntime") != table_path(space)  # each runtime has its own cache entry
    path = table.save(tmp_path / "ort.json")
    assert ensure_table(space, path=path, runtime="onnxruntime").runtime == "onnxruntime"
    with pytest.raises(UsageError, match="runtime: table 'onnxruntime' vs here 'torch'"):
        ensure_table(space, path=path)
    assert time_module(space.build({"a": "conv3", "b": "0", "merge": "1,2"}), (1, 8, 8),
                       warmup=1, repeats=3, runtime="onnxruntime") > 0


def test_a_missing_table_is_measured_with_a_progress_bar_or_named_by_its_command(tmp_path, monkeypatch):
    import contextlib

    from archsearch import ModuleSpace
    from archsearch.cost import latency

    monkeypatch.setattr(latency, "BUILD_REPEATS", 2)
    monkeypatch.setattr(latency, "BUILD_ROUNDS", 1)
    space = ModuleSpace(ChoiceToy, input_shape=(1, 8, 8), num_classes=10, name="cell")
    path = tmp_path / "cell.json"
    with pytest.raises(UsageError, match="no latency table .*; build it with: archsearch latency build --space x"):
        latency.ensure_table(space, path=path, build_if_missing=False, build_command="archsearch latency build "
                             "--space x")
    seen, messages = [], []

    @contextlib.contextmanager
    def bar(total):
        seen.append(("total", total))
        yield lambda done, total: seen.append(done)

    table = latency.ensure_table(space, path=path, progress=bar, log=messages.append,
                                 build_command="archsearch latency build --space x")
    assert seen[0] == ("total", latency.BUILD_ROUNDS * latency.BUILD_REPEATS) and seen[-1] == 2
    assert path.is_file() and sorted(table.entries) == sorted(key for key, _, _ in latency.space_ops(space))
    assert "to build it ahead of a run: archsearch latency build --space x" in messages[0]


def test_the_command_that_builds_a_runs_table():
    from archsearch.experiment.settings import latency_build_command

    assert latency_build_command({"name": "user", "options": {"source": "/a b/s.py:make", "kwargs": {"width": 8}}},
                                 "/d/x.npz") == ("archsearch latency build --space '/a b/s.py:make' "
                                                 "--space-option=width=8 --data /d/x.npz")
    assert latency_build_command({"name": "mobilenet", "options": {"preset": "quick", "num_classes": 10, "se": True}},
                                 "digits", "onnxruntime") == ("archsearch latency build --space mobilenet --preset "
                                                              "quick --space-option=se=True --data digits --runtime "
                                                              "onnxruntime")
