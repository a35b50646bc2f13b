import json

import pytest
import torch
import torch.nn as nn

from archsearch.cost.latency import LatencyTable, device_fingerprint, measure_table
from archsearch.errors import UsageError


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
    assert table.fingerprint["clock"] == "wall" and table.meta["statistic"] == "trimmed_mean_10"
