"""`archsearch compare`: a study of searches at equal cost, judged by one retraining protocol against random archs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsearch.cli import main
from archsearch.experiment import study as study_mod
from archsearch.experiment.ledger import OptunaLedger, sqlite_url
from archsearch.experiment.study import compare, resume_study
from archsearch.tasks.final import mean_ci95

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

ROW_FIELDS = ("test_accuracy_mean", "test_accuracy_ci95", "search_cpu_seconds", "macs", "params",
              "percentile_vs_random", "p_value_vs_random")
FIXED = {"methods": "random,spos", "preset": "smoke", "data": "digits", "budgets": {"random": 3, "spos": 1},
         "random_archs": 4, "final_epochs": 1}


def _accuracies(document: dict) -> dict:
    """The parts of a study that must not depend on timing: archs and retrained test accuracies."""
    return {"methods": [(r["method"], r["archs"], r["test_accuracies"]) for r in document["methods"]],
            "random": document["random"]["test_accuracies"]}


def test_cli_compare_writes_every_column(tmp_path, capsys):
    code = main(["compare", "--methods", "random,spos", "--preset", "smoke", "--data", "digits", "--name", "c1",
                 "--runs-dir", str(tmp_path)])
    assert code == 0
    directory = tmp_path / "c1"
    document = json.loads((directory / "compare.json").read_text())
    assert [r["method"] for r in document["methods"]] == ["random", "spos"]
    for row in document["methods"]:
        for field in ROW_FIELDS:
            assert row[field] is not None, (row["method"], field)
        assert row["test_accuracy_n"] == 2 * 2  # 2 search seeds x 2 retraining seeds (smoke)
        assert 0 <= row["percentile_vs_random"] <= 100 and 0 <= row["p_value_vs_random"] <= 1
        assert row["search_cpu_seconds"] > 0
    assert document["random"]["n"] == 6
    # the calibration: two pilots per method, a cost line through them, budgets read off it at the target
    assert set(document["pilots"]) == {"random", "spos"} and document["cpu_budget_target"] > 0
    for method, pilot in document["pilots"].items():
        (b0, c0), (b1, c1) = pilot["points"]
        assert b0 < b1 and pilot["per_unit"] > 0 and pilot["fixed"] >= 0
    assert (directory / "compare.md").read_text().count("|") > 20 and (directory / "compare.png").stat().st_size
    # every search inside is an ordinary run
    runs = sorted(p.name for p in (directory / "runs").iterdir())
    searches = json.loads((directory / "study_state.json").read_text())["searches"]
    assert {"pilot-random-1", "pilot-random-2", "pilot-spos-0.062", "pilot-spos-0.25", "random-s1", "spos-s1"} \
        <= set(runs) and len(runs) == 4 + len({s["run"] for s in searches.values()} - {f"runs/{r}" for r in runs[:4]})
    for search in searches.values():  # a seed-0 search at a pilot's budget is that pilot's run, not a second one
        if search["run"].startswith("runs/pilot-"):
            assert search["seed"] == 0 and search["run"] == f"runs/pilot-{search['method']}-{search['budget']:g}"
    assert main(["show", str(directory / "runs" / "spos-s1")]) == 0
    assert "random archs" in capsys.readouterr().out


def test_a_dataset_object_is_kept_with_the_study(tmp_path):
    from archsearch.data import from_arrays, load_dataset

    digits = load_dataset("digits")
    data = from_arrays(digits.x_train.numpy(), digits.y_train.numpy(), digits.x_test.numpy(), digits.y_test.numpy())
    options = {**FIXED, "methods": "random", "budgets": {"random": 2}, "seeds": 1, "data": data}
    document = compare(runs_dir=tmp_path, name="s", **options)
    saved = tmp_path / "s" / "data.npz"
    assert saved.is_file() and document["settings"]["data"] == str(saved.resolve())
    assert document["methods"][0]["test_accuracy_n"] == 2


def test_statistics_are_the_protocols():
    values = [0.5, 0.6, 0.7]
    from scipy import stats

    assert mean_ci95(values)[1] == pytest.approx(stats.t.ppf(0.975, 2) * 0.1 / 3 ** 0.5)
    state = {"searches": {"a-s0": {"method": "a", "seed": 0, "budget": 1, "cpu_seconds": 2.0, "arch": {}}},
             "pilots": {}}
    results = {"chosen/a-s0/r0": 0.9, "chosen/a-s0/r1": 0.92, **{f"random/{k}": 0.5 + 0.01 * k for k in range(10)}}
    settings = study_mod.StudySettings(name="s", methods=["a"], preset="smoke")

    class _Cost:
        macs, params = 10, 20

    document = study_mod.analyse(settings, state, results, 1.0, cost_of=lambda arch: _Cost())
    row = document["methods"][0]
    assert row["percentile_vs_random"] == 100.0  # better than every random arch
    assert row["p_value_vs_random"] == pytest.approx(
        stats.mannwhitneyu([0.9, 0.92], [0.5 + 0.01 * k for k in range(10)], alternative="greater").pvalue)


@pytest.mark.parametrize("argv, message", [
    (["--methods", ""], "at least one method"),
    (["--methods", "random,nosuch"], "nosuch"),
    (["--methods", "random", "--seeds", "0"], "seeds"),
    (["--methods", "random", "--random-archs", "1"], "random_archs"),
    (["--methods", "random", "--constraint", "flops<=1"], "constraint"),
    (["--methods", "random", "--budgets", "spos=2"], "not among"),
])
def test_bad_study_is_one_line_and_creates_nothing(tmp_path, capsys, argv, message):
    code = main(["compare", *argv, "--preset", "smoke", "--data", "digits", "--name", "bad",
                 "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err.lower()
    assert not (tmp_path / "bad").exists()


def test_killed_study_resumes_to_the_same_table(tmp_path, monkeypatch):
    uninterrupted = compare(runs_dir=tmp_path / "a", name="s", **FIXED)

    calls = {"n": 0}
    real_run = study_mod.Study._run

    def crash_on_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill between two searches would leave it
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(study_mod.Study, "_run", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        compare(runs_dir=tmp_path / "b", name="s", **FIXED)
    monkeypatch.setattr(study_mod.Study, "_run", real_run)
    resumed = resume_study(tmp_path / "b" / "s")
    assert _accuracies(resumed) == _accuracies(uninterrupted)
    _assert_no_duplicate_keys(tmp_path / "b" / "s")


def test_a_study_in_use_is_refused(tmp_path):
    from archsearch.errors import RunInUseError
    from archsearch.experiment.lock import RunLock

    with pytest.raises(KeyboardInterrupt):  # leave an unfinished study behind
        _crashing_compare(tmp_path)
    with RunLock(tmp_path / "s", command="compare"):
        with pytest.raises(RunInUseError, match="in use by pid"):
            resume_study(tmp_path / "s")


def _crashing_compare(tmp_path):
    def crash(self, *args, **kwargs):
        raise KeyboardInterrupt

    real = study_mod.Study._run
    study_mod.Study._run = crash
    try:
        compare(runs_dir=tmp_path, name="s", **FIXED)
    finally:
        study_mod.Study._run = real


def test_a_study_takes_more_methods_at_its_budget(tmp_path):
    options = {**FIXED, "methods": "random", "cpu_budget": 1.0, "budgets": {}, "seeds": 1}
    first = compare(runs_dir=tmp_path, name="s", **options)
    extended = resume_study(tmp_path / "s", add_methods="spos")
    assert [r["method"] for r in extended["methods"]] == ["random", "spos"]
    assert extended["methods"][0]["test_accuracies"] == first["methods"][0]["test_accuracies"]  # kept, not redone
    assert extended["random"] == first["random"] and extended["cpu_budget_target"] == 1.0
    _assert_no_duplicate_keys(tmp_path / "s")


def _assert_no_duplicate_keys(directory: Path) -> None:
    ledger = OptunaLedger(sqlite_url(directory / "ledger.db"), directory.name)
    keys = [t.key for t in ledger.trials()]
    assert keys and len(keys) == len(set(keys))


@pytest.mark.slow
def test_sigkilled_study_resumes_to_the_same_table(tmp_path):
    argv = [sys.executable, "-m", "archsearch.cli", "compare", "--methods", "random,spos", "--preset", "smoke",
            "--data", "digits", "--budgets", "random=3,spos=1", "--random-archs", "4", "--final-epochs", "1"]
    env = {**os.environ, "ARCHSEARCH_PROGRESS": "0"}
    subprocess.run(argv + ["--name", "s", "--runs-dir", str(tmp_path / "a")], check=True, env=env)
    process = subprocess.Popen(argv + ["--name", "s", "--runs-dir", str(tmp_path / "b")], env=env)
    state = tmp_path / "b" / "s" / "study_state.json"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:  # kill once two searches are done, mid-study
        if state.is_file() and len(json.loads(state.read_text() or "{}").get("searches", {})) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert subprocess.run([sys.executable, "-m", "archsearch.cli", "resume", "s", "--runs-dir",
                           str(tmp_path / "b")], env=env).returncode == 0
    a = json.loads((tmp_path / "a" / "s" / "compare.json").read_text())
    b = json.loads((tmp_path / "b" / "s" / "compare.json").read_text())
    assert _accuracies(a) == _accuracies(b)
    _assert_no_duplicate_keys(tmp_path / "b" / "s")


def test_a_method_over_budget_runs_one_pilot_and_reuses_it(tmp_path):
    options = {**FIXED, "methods": "random", "budgets": {}, "random_archs": 2}
    document = compare(runs_dir=tmp_path, name="s", cpu_budget=1e-3, **options)
    state = json.loads((tmp_path / "s" / "study_state.json").read_text())
    assert len(state["pilots"]["random"]["points"]) == 1 and state["pilots"]["random"]["over"]
    assert sorted(p.name for p in (tmp_path / "s" / "runs").iterdir()) == ["pilot-random-1", "random-s1"]
    assert [s["budget"] for s in state["searches"].values()] == [1, 1] and document["methods"][0]["over_budget"]


def test_the_judgement_trains_on_at_most_train_images_and_names_broken_constraints(tmp_path):
    from archsearch.data import load_dataset

    options = {**FIXED, "methods": "random", "budgets": {"random": 2}, "seeds": 1, "random_archs": 2}
    document = compare(runs_dir=tmp_path, name="all", train_images=10**9, constraints=["flops<=1G"], **options)
    state = json.loads((tmp_path / "all" / "study_state.json").read_text())
    assert state["run_spec"]["train_images"] == len(load_dataset("digits").y_train)  # at most what there is
    assert document["methods"][0]["meets_constraints"] == [True]

    compare(runs_dir=tmp_path, name="few", train_images=40, **options)
    directory = tmp_path / "few"
    study = study_mod.Study(study_mod.StudySettings(**{k: v for k, v in json.loads(
        (directory / "compare.json").read_text())["settings"].items()}), directory)
    arch = study.state["searches"]["random-s0"]["arch"]
    assert study._task(study_mod._random_space(study.settings).space.validate(arch), seed=0).split["train_size"] == 40

    document["methods"][0]["meets_constraints"] = [False]  # as a DARTS net above the bound would be
    from archsearch.report.study import table_rows

    assert "1 of 1 break the constraints" in table_rows(document)[1][0][0]
