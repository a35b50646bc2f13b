"""Reports from a ledger written with Optuna directly (the ledger's trial format), no search needed."""

from __future__ import annotations

import json
import sqlite3
import sys
import types
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
import yaml

from archsearch.errors import UsageError
from archsearch.report import leaderboard, list_runs, make_report, open_run, pareto_front
from archsearch.report.common import best_so_far

# (accuracy, macs, params) per trial; trial 3 fails, trial 4 is pruned.
TRIALS = [(0.80, 3e6, 50e3), (0.85, 5e6, 60e3), (0.70, 2e6, 40e3), None, "pruned", (0.85, 4e6, 70e3),
          (0.60, 6e6, 80e3)]


def write_run(runs: Path, name: str = "r1", method: str = "random", trials=TRIALS) -> Path:
    run_dir = runs / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({
        "name": name, "method": method, "space": {"name": "toy", "options": {}}, "data": "digits",
        "preset": "smoke", "seed": 0, "constraints": ["flops<=10M"]}))
    storage = f"sqlite:///{run_dir / 'ledger.db'}"
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize"])
    study.set_metric_names(["accuracy"])
    start = datetime(2026, 1, 1, 12, 0, 0)
    for i, values in enumerate(trials):
        arch = {"b0": f"k{3 + 2 * (i % 3)}e3", "b1": "skip"}
        attrs = {"phase": "random", "key": f"random/{i}", "arch_json": json.dumps(arch), "seconds": 1.5}
        if isinstance(values, tuple):
            accuracy, macs, params = values
            attrs.update(macs=macs, params=params)
            state, value = optuna.trial.TrialState.COMPLETE, [accuracy]
        else:
            state = optuna.trial.TrialState.FAIL if values is None else optuna.trial.TrialState.PRUNED
            value = None
        study.add_trial(optuna.trial.create_trial(
            state=state, values=value, params={}, distributions={}, user_attrs=attrs,
            intermediate_values={0: 0.5, 1: 0.6}))
    # add_trial stamps datetimes now; rewrite them so time-based plots are deterministic
    with sqlite3.connect(run_dir / "ledger.db") as db:
        for number in range(len(trials)):
            db.execute("UPDATE trials SET datetime_start = ?, datetime_complete = ? WHERE number = ?",
                       (str(start + timedelta(seconds=10 * number)),
                        str(start + timedelta(seconds=10 * number + 5)), number))
    (run_dir / "result.json").write_text(json.dumps({
        "best": {"arch": {"b0": "k5e3", "b1": "skip"}, "objectives": {"accuracy": 0.85, "macs": 4e6}},
        "pareto_front": [], "extra": {}}))
    return run_dir


def test_leaderboard_orders_by_accuracy_then_cost(tmp_path):
    record = open_run(write_run(tmp_path))
    trials = record.trials()
    assert [t.state for t in trials] == ["complete", "complete", "complete", "failed", "pruned", "complete",
                                         "complete"]
    # 0.85 twice: the cheaper (4M, trial 5) first
    assert [t.number for t in leaderboard(trials)] == [5, 1, 0, 2, 6]
    assert [t.number for t in leaderboard(trials, top=2)] == [5, 1]
    assert trials[0].arch == {"b0": "k3e3", "b1": "skip"}


def test_pareto_front_is_exactly_the_non_dominated_trials(tmp_path):
    trials = open_run(write_run(tmp_path)).trials()
    # by MACs: 2M/0.70, 3M/0.80, 4M/0.85 are non-dominated; 5M/0.85 ties in accuracy but costs more; 6M/0.60 loses
    assert [t.number for t in pareto_front(trials, "macs")] == [2, 0, 5]
    # by params: 40K/0.70, 50K/0.80, 60K/0.85 (trial 5 has 70K params)
    assert [t.number for t in pareto_front(trials, "params")] == [2, 0, 1]


def test_best_so_far_is_monotone_and_timed(tmp_path):
    curve = best_so_far(open_run(write_run(tmp_path)).trials())
    assert [round(c[2], 2) for c in curve] == [0.80, 0.85, 0.85, 0.85, 0.85]
    assert [c[1] for c in curve] == [5.0, 15.0, 25.0, 55.0, 65.0]


@pytest.mark.integration
def test_report_writes_plots_and_summary(tmp_path):
    run_dir = write_run(tmp_path)
    report = make_report(run_dir)
    names = sorted(p.name for p in report.plots)
    assert names == ["evolution_fitness.png", "pareto_macs.png", "pareto_params.png", "progress.png"]
    for p in report.plots:
        assert p.parent == run_dir / "report" and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = report.summary.read_text()
    assert "# Run `r1`" in text and "**method**: random" in text
    assert "5 complete" in text and "1 failed" in text and "1 pruned" in text
    assert "| 1 | 5 | 85.00% | 4.00M | 70.00K |" in text  # leaderboard row for the best trial
    assert "![progress](progress.png)" in text


def test_method_plots_are_discovered_by_method_name(tmp_path, monkeypatch):
    calls = []

    def plots(run_dir: Path, out_dir: Path) -> list[Path]:
        calls.append(run_dir)
        path = out_dir / "toy_extra.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n")
        return [path]

    module = types.ModuleType("archsearch.report.methods.toymethod")
    module.plots = plots
    monkeypatch.setitem(sys.modules, "archsearch.report.methods.toymethod", module)
    run_dir = write_run(tmp_path, method="toymethod")
    report = make_report(run_dir)
    assert calls == [run_dir]
    assert "toy_extra.png" in [p.name for p in report.plots]
    assert "![toy_extra](toy_extra.png)" in report.summary.read_text()


def test_failing_method_plots_become_a_note(tmp_path, monkeypatch):
    module = types.ModuleType("archsearch.report.methods.brokenmethod")
    module.plots = lambda run_dir, out_dir: 1 / 0
    monkeypatch.setitem(sys.modules, "archsearch.report.methods.brokenmethod", module)
    report = make_report(write_run(tmp_path, method="brokenmethod"))
    assert report.notes == ["brokenmethod plots failed: ZeroDivisionError: division by zero"]
    assert "brokenmethod plots failed" in report.summary.read_text()


def test_run_without_trials_still_gets_a_summary(tmp_path):
    report = make_report(write_run(tmp_path, trials=[]))
    assert report.plots == []
    assert "No completed trials" in report.summary.read_text()


def test_open_run_by_name_suggests_the_closest(tmp_path):
    write_run(tmp_path, "alpha")
    write_run(tmp_path, "beta")
    assert open_run("alpha", tmp_path).name == "alpha"
    assert sorted(r.name for r in list_runs(tmp_path)) == ["alpha", "beta"]
    with pytest.raises(UsageError, match="no run 'alpah'; did you mean 'alpha'"):
        open_run("alpah", tmp_path)


def test_the_text_pareto_front_uses_the_cost_the_run_searched_on():
    from archsearch.experiment.ledger import TrialRecord
    from archsearch.report.common import front_cost, pareto_front

    trials = [TrialRecord(0, "complete", {}, {"accuracy": 0.9, "macs": 2e6}, {"latency_ms": 1.0}),
              TrialRecord(1, "complete", {}, {"accuracy": 0.8, "macs": 1e6}, {"latency_ms": 3.0})]
    assert front_cost({"method": "random"}, trials) == "macs"
    assert [t.number for t in pareto_front(trials, "macs")] == [1, 0]
    for config in ({"method": "proxyless"}, {"method": "random", "constraints": ["latency<=5ms"]},
                   {"method": "greedynas", "method_config": {"search_cost": "latency"}}):
        assert front_cost(config, trials) == "latency_ms"
    assert [t.number for t in pareto_front(trials, "latency_ms")] == [0]  # faster and more accurate
    assert front_cost({"method": "proxyless"}, [TrialRecord(0, "complete", {}, {"accuracy": 0.5})]) == "macs"
    assert front_cost({"method_config": {"search_cost": "params"}}, trials) == "params"
