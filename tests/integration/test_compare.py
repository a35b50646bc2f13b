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
              "percentile_vs_random", "p_value_vs_random", "p_value_holm", "budget", "proxy_tau")
FIXED = {"methods": "random,spos", "preset": "smoke", "data": "digits", "budgets": {"random": 3, "spos": 1},
         "random_archs": 4, "final_epochs": 1, "workers": 1}


def _accuracies(document: dict) -> dict:
    """The parts of a study that must not depend on timing: archs and retrained test accuracies."""
    return {"methods": [(r["method"], r["archs"], r["test_accuracies"]) for r in document["methods"]],
            "random": document["random"]["test_accuracies"]}


def test_cli_compare_writes_every_column(tmp_path, capsys):
    code = main(["compare", "--methods", "random,spos", "--preset", "smoke", "--data", "digits", "--name", "c1",
                 "--final-epochs", "1", "--runs-dir", str(tmp_path)])  # retrainings of 1 epoch (smoke: 3)
    assert code == 0
    directory = tmp_path / "c1"
    document = json.loads((directory / "compare.json").read_text())
    assert [r["method"] for r in document["methods"]] == ["random", "spos"]
    for row in document["methods"]:
        for field in ROW_FIELDS:
            assert row[field] is not None, (row["method"], field)
        assert row["test_accuracy_n"] == 2  # 2 search seeds, each the mean of 2 retrainings (smoke)
        assert len(row["test_accuracies"]) == 2 * 2
        assert 0 <= row["percentile_vs_random"] <= 100 and 0 <= row["p_value_vs_random"] <= 1
        assert row["p_value_vs_random"] <= row["p_value_holm"] <= 1 and -1 <= row["proxy_tau"] <= 1
        assert row["search_cpu_seconds"] > 0
    assert document["random"]["n"] == 6 and len(document["random"]["reference"]) == 3
    judge = document["judge"]
    assert -1 <= judge["tau_seed_to_seed"] <= 1 and -1 <= judge["tau_vs_reference"] <= 1
    assert judge["epochs"] == 1 and judge["reference_epochs"] == 4 and 0 <= judge["arch_share"] <= 1  # 4 x E
    # the calibration: two pilots per method, a cost line through them, budgets read off it at the target
    assert set(document["pilots"]) == {"random", "spos"} and document["cpu_budget_targets"][0] > 0
    for method, pilot in document["pilots"].items():
        (b0, c0), (b1, c1) = pilot["points"]
        assert b0 < b1 and pilot["per_unit"] > 0 and pilot["fixed"] >= 0
    assert (directory / "compare.md").read_text().count("|") > 20 and (directory / "compare.png").stat().st_size
    assert "Judge reliability: Kendall tau" in (directory / "compare.md").read_text()
    # every search inside is an ordinary run
    runs = sorted(p.name for p in (directory / "runs").iterdir())
    searches = json.loads((directory / "study_state.json").read_text())["searches"]
    assert {"pilot-random-1", "pilot-random-2", "pilot-spos-0.062", "pilot-spos-0.25"} <= set(runs)
    assert {s["run"] for s in searches.values()} <= {f"runs/{r}" for r in runs}
    for search in searches.values():  # a seed-0 search at a pilot's budget is that pilot's run, not a second one
        if search["run"].startswith("runs/pilot-"):
            assert search["seed"] == 0 and search["run"] == f"runs/pilot-{search['method']}-{search['budget']:g}"
        else:  # and every other search scored the random archs with its own proxy
            assert len(search["proxy_scores"]) == 6
    # the proxy tau and Holm's p of the smoke study, recomputed with scipy from what the study kept
    from scipy import stats

    judged = document["random"]["test_accuracies"]
    for row in document["methods"]:
        taus = [stats.kendalltau(s["proxy_scores"], judged).statistic for s in searches.values()
                if s["method"] == row["method"] and s.get("proxy_scores")]
        assert row["proxy_tau"] == pytest.approx(sum(taus) / len(taus))
    raw = sorted(r["p_value_vs_random"] for r in document["methods"])
    assert min(r["p_value_holm"] for r in document["methods"]) == pytest.approx(min(1.0, 2 * raw[0]))
    spos_run = next(s["run"] for s in searches.values() if s["method"] == "spos" and s["seed"] == 1)
    assert main(["show", str(directory / spos_run)]) == 0
    assert "random archs" in capsys.readouterr().out


def test_a_dataset_object_is_kept_with_the_study(tmp_path):
    from archsearch.data import from_arrays, load_dataset

    digits = load_dataset("digits")
    data = from_arrays(digits.x_train.numpy(), digits.y_train.numpy(), digits.x_test.numpy(), digits.y_test.numpy())
    options = {**FIXED, "methods": "random", "budgets": {"random": 2}, "seeds": 1, "data": data}
    document = compare(runs_dir=tmp_path, name="s", **options)
    saved = tmp_path / "s" / "data.npz"
    assert saved.is_file() and document["settings"]["data"] == str(saved.resolve())
    assert document["methods"][0]["test_accuracy_n"] == 1 and len(document["methods"][0]["test_accuracies"]) == 2


def test_statistics_are_the_protocols():
    """p-values, Holm, proxy tau and the judge's taus, each against scipy (or Holm's definition)."""
    from scipy import stats

    values = [0.5, 0.6, 0.7]
    assert mean_ci95(values)[1] == pytest.approx(stats.t.ppf(0.975, 2) * 0.1 / 3 ** 0.5)
    random_r0 = [0.50, 0.53, 0.51, 0.58, 0.55, 0.60, 0.52, 0.57, 0.54, 0.59]
    random_r1 = [0.52, 0.54, 0.50, 0.57, 0.53, 0.61, 0.55, 0.56, 0.51, 0.60]
    results = {**{f"random/{k}/r0": v for k, v in enumerate(random_r0)},
               **{f"random/{k}/r1": v for k, v in enumerate(random_r1)},
               **{f"reference/{k}": 0.7 + 0.01 * k for k in range(4)}}
    proxy = [0.1, 0.3, 0.2, 0.5, 0.4, 0.9, 0.3, 0.6, 0.2, 0.7]
    searches = {}
    for method, accuracies in (("a", [0.62, 0.64, 0.66]), ("b", [0.50, 0.55, 0.58])):
        for seed, acc in enumerate(accuracies):
            key = study_mod.search_key(method, 2, seed)
            searches[key] = {"method": method, "seed": seed, "budget": 2, "cpu_seconds": 1.0, "arch": {},
                             "proxy_scores": proxy if method == "a" else None}
            results[f"chosen/{key}/r0"], results[f"chosen/{key}/r1"] = acc - 0.01, acc + 0.01
    state = {"searches": searches, "pilots": {}, "targets": {"10": {"a": 2, "b": 2}}}
    settings = study_mod.StudySettings(name="s", methods=["a", "b"], preset="smoke", seeds=3, random_archs=10,
                                       reference_archs=4)

    class _Cost:
        macs, params = 10, 20

    document = study_mod.analyse(settings, state, results, cost_of=lambda arch: _Cost())
    a, b = document["methods"]
    random_means = [(x + y) / 2 for x, y in zip(random_r0, random_r1)]
    assert document["random"]["test_accuracies"] == pytest.approx(random_means)
    assert a["search_accuracies"] == pytest.approx([0.62, 0.64, 0.66]) and a["percentile_vs_random"] == 100.0
    p_a = stats.mannwhitneyu([0.62, 0.64, 0.66], random_means, alternative="greater").pvalue
    p_b = stats.mannwhitneyu([0.50, 0.55, 0.58], random_means, alternative="greater").pvalue
    assert (a["p_value_vs_random"], b["p_value_vs_random"]) == pytest.approx((p_a, p_b))
    smaller, larger = sorted((p_a, p_b))  # Holm: the smaller x 2, the larger x 1, monotone
    expected = {p_a: min(1, 2 * smaller) if p_a == smaller else max(min(1, 2 * smaller), larger)}
    assert a["p_value_holm"] == pytest.approx(expected[p_a])
    assert a["proxy_tau"] == pytest.approx(stats.kendalltau(proxy, random_means).statistic)
    assert b["proxy_tau"] is None and a["detectable_difference"] > 0
    judge = document["judge"]
    assert judge["tau_seed_to_seed"] == pytest.approx(stats.kendalltau(random_r0, random_r1).statistic)
    assert judge["tau_vs_reference"] == pytest.approx(stats.kendalltau(random_r0[:4], [0.7, 0.71, 0.72, 0.73])
                                                      .statistic)


def test_holm_matches_its_definition():
    p = [0.01, 0.04, 0.03, None, 0.005]
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> monotone 0.06
    assert study_mod.holm(p) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])
    assert study_mod.holm([0.4, 0.2]) == pytest.approx([0.4, 0.4]) and study_mod.holm([0.9, 0.8]) == [1.0, 1.0]


def test_detectable_difference_shrinks_with_more_searches():
    few = study_mod.detectable_difference(2, 16, 0.01, alpha=0.05 / 8)
    more = study_mod.detectable_difference(6, 16, 0.01, alpha=0.05 / 8)
    assert few is None or few > more
    assert 0.005 < more < 0.05
    assert study_mod.detectable_difference(6, 16, 0.01, alpha=0.05 / 8) == more  # deterministic


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
    real_job = study_mod._search_job

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill between two searches would leave it
        return real_job(*args, **kwargs)

    monkeypatch.setattr(study_mod, "_search_job", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        compare(runs_dir=tmp_path / "b", name="s", **FIXED)
    monkeypatch.setattr(study_mod, "_search_job", real_job)
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
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    real = study_mod._search_job
    study_mod._search_job = crash
    try:
        compare(runs_dir=tmp_path, name="s", **FIXED)
    finally:
        study_mod._search_job = real


def test_a_study_takes_more_methods_at_its_budget(tmp_path):
    options = {**FIXED, "methods": "random", "cpu_budget": 1.0, "budgets": {}, "seeds": 1}
    first = compare(runs_dir=tmp_path, name="s", **options)
    extended = resume_study(tmp_path / "s", add_methods="spos")
    assert [r["method"] for r in extended["methods"]] == ["random", "spos"]
    assert extended["methods"][0]["test_accuracies"] == first["methods"][0]["test_accuracies"]  # kept, not redone
    assert extended["random"] == first["random"] and extended["cpu_budget_targets"] == [1.0]
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
    options = {**FIXED, "methods": "random", "budgets": {}, "random_archs": 3}
    document = compare(runs_dir=tmp_path, name="s", cpu_budget=1e-3, **options)
    state = json.loads((tmp_path / "s" / "study_state.json").read_text())
    assert len(state["pilots"]["random"]["points"]) == 1 and state["pilots"]["random"]["over"]
    assert sorted(p.name for p in (tmp_path / "s" / "runs").iterdir()) == ["pilot-random-1", "random-b1-s1"]
    assert [s["budget"] for s in state["searches"].values()] == [1, 1] and document["methods"][0]["over_budget"]


def _run_files(directory: Path) -> dict[str, bytes]:
    """The runs' files (the SQLite ledgers aside: closing a connection checkpoints their write-ahead log)."""
    return {str(p): p.read_bytes() for p in (directory / "runs").rglob("*")
            if p.is_file() and "ledger.db" not in p.name}


def test_a_study_at_more_budgets_repeats_no_finished_search(tmp_path):
    options = {**FIXED, "methods": "random", "budgets": {}, "random_archs": 3, "seeds": 1}
    first = compare(runs_dir=tmp_path, name="s", cpu_budget="0.5", **options)
    directory = tmp_path / "s"
    state = json.loads((directory / "study_state.json").read_text())
    made = _run_files(directory)
    extended = resume_study(directory, cpu_budget="0.5,3")
    assert extended["cpu_budget_targets"] == [0.5, 3.0]
    again = _run_files(directory)
    assert [name for name in made if again.get(name) != made[name]] == []  # every earlier run untouched
    later = json.loads((directory / "study_state.json").read_text())
    assert {k: later["searches"][k] for k in state["searches"]} == state["searches"]
    for method, pilot in state["pilots"].items():  # what the cost line measured stays (a pilot over 0.5 CPU-s may
        measured = later["pilots"][method]        # still need its second point for 3)
        assert measured["points"][:len(pilot["points"])] == pilot["points"]
        assert measured.get("probes", [])[:len(pilot.get("probes", []))] == pilot.get("probes", [])
    rows = {row["cpu_budget_target"]: row for row in extended["methods"]}
    assert rows[0.5]["test_accuracies"] == first["methods"][0]["test_accuracies"]
    assert rows[3.0]["budget"] >= rows[0.5]["budget"]
    _assert_no_duplicate_keys(directory)
    from archsearch.report.study import write_study_report

    write_study_report(directory, extended)
    assert "0.5, 3 CPU-seconds" in (directory / "compare.md").read_text()


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
    arch = study.state["searches"]["random-b2-s0"]["arch"]
    assert study._task(study_mod._random_space(study.settings).space.validate(arch), seed=0).split["train_size"] == 40

    document["methods"][0]["meets_constraints"] = [False]  # as a DARTS net above the bound would be
    from archsearch.report.study import table_rows

    assert "1 of 1 break the constraints" in table_rows(document)[1][0][0]


def test_a_later_target_reads_a_line_refit_through_the_searches():
    """Two pilots dominated by a fixed cost read the slope off noise (SPOS in study2: 24 and 22 CPU-s at 0.031 and
    0.125 epochs); the searches of the first target, far along the line, measure it."""
    pilot = {"points": [[0.031, 24.08], [0.125, 22.08]], "fixed": 23.5, "per_unit": 17.67}
    assert study_mod.cost_line(pilot, []) == (23.5, 17.67)  # nothing more known: the pilots' line
    fixed, per_unit = study_mod.cost_line(pilot, [(2.064, 98.9), (2.064, 85.0), (2.064, 99.5)])
    assert 30 < per_unit < 40 and 15 < fixed < 25  # about 35 CPU-s an epoch on top of about 20


def test_a_method_over_a_smaller_target_gets_its_second_pilot_for_a_larger_one(tmp_path):
    """NARS in study2: one iteration (149 CPU-s) is over 60 but not over 240, so 240 needs the cost line."""
    settings = study_mod.StudySettings(name="s", methods=["nars"], cpu_budget=[60.0, 240.0])
    study = study_mod.Study(settings, tmp_path)
    study.state["pilots"]["nars"] = {"points": [[1.0, 149.0]], "over": True, "integer": True, "preset_budget": 3.0}
    calls = []

    def second_pilot(methods, largest):
        calls.append((list(methods), largest))
        study.state["pilots"]["nars"].update(points=[[1.0, 149.0], [2.0, 299.0]], per_unit=150.0, fixed=0.0)
        study.state["pilots"]["nars"].pop("over")

    study._pilots = second_pilot
    assert study._budget_for("nars", 60.0) == 1.0 and not calls  # over 60: the smallest pilot's budget
    assert study._budget_for("nars", 240.0) == 2.0 and calls == [(["nars"], 240.0)]


def _priced_searches(study, cost_of):
    """Stand in for the study's workers: a search at budget B costs `cost_of(B)` CPU-seconds."""
    ran = []

    def parallel(jobs, on_done):
        for key, (_, args) in jobs.items():
            budget = float(args[1].rsplit("-", 1)[1])  # pilot-<method>-<budget>
            ran.append(budget)
            on_done(key, {"cpu_seconds": cost_of(budget)})

    study._parallel = parallel
    return ran


def test_a_budget_far_beyond_the_pilots_is_read_after_probing_nearer(tmp_path):
    """study3 on digits: random search's pilots at 1 and 4 evaluations cost 1.72 and 0.68 CPU-s (fixed cost and
    noise), and their line read 3,413 evaluations for 60 CPU-s, which cost 964. Probes walk the line in steps of
    at most 4x until the budget read is within 4x of one measured."""
    study = study_mod.Study(study_mod.StudySettings(name="s", methods=["random"], cpu_budget=[60.0]), tmp_path)
    study.state["pilots"]["random"] = {"points": [[1.0, 1.72], [4.0, 0.68]], "fixed": 1.70, "per_unit": 0.0171,
                                       "integer": True, "preset_budget": 16.0, "budget_field": "evaluations"}
    cost = lambda budget: 1.5 + 0.3 * budget  # noqa: E731  (what a search really costs)
    ran = _priced_searches(study, cost)
    study._space_size = 3125
    study._probe(60.0, [])
    assert ran[0] == 16.0 and all(b <= 4 * a for a, b in zip([4.0] + ran, ran))  # each step at most 4x
    budget = study._budget_for("random", 60.0)
    assert budget <= 4 * max(ran) and abs(cost(budget) - 60) < 0.1 * 60  # within 10% of the target
    assert [b for b, _ in study.state["pilots"]["random"]["probes"]] == ran  # kept for a resume

    study._probe(60.0, [])  # a resume probes nothing again
    assert len(ran) == len(study.state["pilots"]["random"]["probes"])


def test_an_evaluation_budget_stops_at_the_spaces_size(tmp_path):
    study = study_mod.Study(study_mod.StudySettings(name="s", methods=["random"], cpu_budget=[60.0]), tmp_path)
    study.state["pilots"]["random"] = {"points": [[1.0, 0.1], [4.0, 0.4]], "fixed": 0.0, "per_unit": 0.1,
                                       "integer": True, "preset_budget": 16.0, "budget_field": "evaluations"}
    ran = _priced_searches(study, lambda budget: 0.1 * budget)
    study._space_size = 50
    study._probe(60.0, [])
    assert ran == [16.0] and study._budget_for("random", 60.0) == 50.0  # 600 would evaluate nothing new
