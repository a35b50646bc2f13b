"""A run ends with its chosen arch trained from scratch (the `final` block), every accuracy named by its kind, the
search's cost measured apart, and the next step printed; a kill during the final training resumes there."""

from __future__ import annotations

import json
import math

import optuna
import pytest

from archsearch.cli import main
from archsearch.experiment.accounting import MeteredExecutor, SearchClock
from archsearch.experiment.run import run
from archsearch.experiment.testing import run_with_crash
from archsearch.report import make_report
from archsearch.train.task import EvalResult

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

SMOKE = dict(preset="smoke", data="digits", quiet=True)


def _final_study(run_dir, name):
    return optuna.load_study(study_name=f"{name}:final", storage=f"sqlite:///{run_dir / 'ledger.db'}")


@pytest.mark.parametrize("method, label, metric", [
    ("random", "acc. after 1 ep.", "accuracy_after_1_epochs"),
    ("spos", "supernet acc.", "supernet_accuracy"),
    ("darts", "supernet acc.", "supernet_accuracy"),
])
def test_a_run_ends_with_its_choice_trained_from_scratch_and_every_accuracy_named(tmp_path, capsys, method, label,
                                                                                  metric):
    result = run(method, runs_dir=tmp_path, name="r", final_seeds=2, **SMOKE)
    run_dir = tmp_path / "r"
    document = json.loads((run_dir / "result.json").read_text())
    final = document["final"]
    # two seeds, one epoch, on the test set: a mean with its Student-t interval and each seed's value
    assert final["epochs"] == 3 and final["seeds"] == [0, 1] and len(final["test_accuracies"]) == 2
    assert all(0.2 < a <= 1.0 for a in final["test_accuracies"])  # 3 epochs: well above chance (10%)
    assert math.isclose(final["test_accuracy"], sum(final["test_accuracies"]) / 2)
    assert final["test_accuracy_ci95"] is not None and final["test_accuracy_ci95"] >= 0
    assert final["seconds"] > 0 and final["accuracy"]["label"] == "test acc." and final["weights"] == "final/model.pt"
    assert result.final is not None and result.final.test_accuracies == tuple(final["test_accuracies"])
    assert final["macs"] == int(document["best"]["objectives"]["macs"])
    # the search's cost apart from the final training
    assert document["search"]["seconds"] > 0 and document["search"]["cpu_seconds"] > 0
    # the search's accuracy named by its kind: result.json, config.yaml, the ledger's metric names
    assert document["accuracy"] == {"kind": label.split()[0] if method != "random" else "trained", "label": label,
                                    "metric": metric}
    study = optuna.load_study(study_name="r", storage=f"sqlite:///{run_dir / 'ledger.db'}")
    assert study.metric_names == [metric, "macs", "params"]
    finals = _final_study(run_dir, "r")
    assert finals.metric_names == ["test_accuracy", "macs", "params"]
    assert sorted(t.user_attrs["key"] for t in finals.trials) == ["final/0", "final/1"]
    assert sorted(t.values[0] for t in finals.trials) == sorted(final["test_accuracies"])
    # show and summary.md lead with the final block, beside it the search's estimate, named
    assert main(["show", str(run_dir)]) == 0
    shown = capsys.readouterr().out
    assert shown.splitlines()[1].startswith("final: test acc. ") and label in shown
    assert f"{label} {100 * document['best']['objectives']['accuracy']:.2f}%: the search's own estimate" in shown
    summary = make_report(run_dir).summary.read_text()
    assert summary.index("## Final training (test set)") < summary.index("## Best architecture")
    assert f"by {label})" in summary and "test acc. " in summary
    # what the user holds (the CLI writes it after a run): best/arch.json with the final recipe and the final
    # training's weights
    from archsearch.export import export_best

    assert export_best(run_dir).directory == run_dir / "best"
    arch = json.loads((run_dir / "best" / "arch.json").read_text())
    assert arch["weights"] == "trained" and arch["final"]["test_accuracy"] == final["test_accuracy"]
    assert arch["recipe"] == final["recipe"] and arch["accuracy"]["label"] == label


def test_final_epochs_zero_skips_the_final_training_and_a_negative_count_is_a_usage_error(tmp_path, capsys):
    argv = ["run", "random", "--preset", "smoke", "--data", "digits", "--runs-dir", str(tmp_path)]
    assert main(argv + ["--name", "bad", "--final-epochs", "-1"]) == 2
    assert "--final-epochs must be >= 0" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    assert main(argv + ["--name", "skip", "--final-epochs", "0"]) == 0
    out = capsys.readouterr().out
    document = json.loads((tmp_path / "skip" / "result.json").read_text())
    assert document["final"] is None and document["search"]["seconds"] > 0
    assert "no final training (final_epochs=0)" in out
    assert f"you now hold: {tmp_path / 'skip' / 'best' / 'arch.json'}" in out and "(weights, untrained" in out
    assert f"train it longer: archsearch train {tmp_path / 'skip' / 'best' / 'arch.json'} --epochs 10" in out
    assert not (tmp_path / "skip" / "final").exists()


def test_the_last_lines_say_what_the_user_holds_and_how_to_train_it_longer(tmp_path, capsys, monkeypatch):
    assert main(["run", "random", "--preset", "smoke", "--data", "digits", "--runs-dir", str(tmp_path), "--name",
                 "r"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    best = tmp_path / "r" / "best"
    assert lines[-3] == (f"you now hold: {best / 'arch.json'} (the architecture) and {best / 'model.pt'} "
                         "(weights, trained by the final training)")
    command = lines[-2].split("train it longer: ")[1]
    assert command == f"archsearch train {best / 'arch.json'} --epochs 10 --out {tmp_path / 'r' / 'best-10ep'}"
    # that command goes through archsearch.retrain, with the run's final recipe and data
    import archsearch.experiment.retrain as retrain_module

    calls = []
    real = retrain_module.retrain

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(retrain_module, "retrain", spy)
    argv = command.split()[1:]
    argv[argv.index("--epochs") + 1] = "1"
    assert main(argv) == 0
    out = capsys.readouterr().out
    (call,) = calls
    final = json.loads((tmp_path / "r" / "result.json").read_text())["final"]
    assert call["epochs"] == 1 and call["data"] == "digits" and call["seeds"] == [0]
    assert {k: call["recipe"][k] for k in ("lr", "batch_size")} == {k: final["recipe"][k] for k in ("lr", "batch_size")}
    assert "test accuracy: " in out and (tmp_path / "r" / "best-10ep" / "model.pt").is_file()


def test_a_run_killed_in_its_final_training_resumes_there_with_the_same_final_block(tmp_path):
    kwargs = dict(final_seeds=2, **SMOKE)
    run("random", runs_dir=tmp_path / "a", name="r", **kwargs)
    whole = json.loads((tmp_path / "a" / "r" / "result.json").read_text())
    checkpoints = json.loads((tmp_path / "a" / "r" / "checkpoints" / "manifest.json").read_text())[-1]["index"]
    search_trials = len(optuna.load_study(study_name="r", storage=f"sqlite:///{tmp_path / 'a' / 'r' / 'ledger.db'}")
                        .trials)
    same = ("test_accuracy", "test_accuracy_ci95", "test_accuracies", "epochs", "seeds", "macs", "params", "recipe")
    # the last two checkpoints: after the search, after the first final seed
    for crash_after in (checkpoints - 1, checkpoints - 2):
        runs = tmp_path / f"crash{crash_after}"
        run_with_crash("random", crash_after, runs_dir=runs, name="r", **kwargs)
        resumed = json.loads((runs / "r" / "result.json").read_text())
        assert {k: resumed["final"][k] for k in same} == {k: whole["final"][k] for k in same}
        assert resumed["best"] == whole["best"] and resumed["search"]["cpu_seconds"] > 0
        finals = _final_study(runs / "r", "r").trials
        assert sorted(t.user_attrs["key"] for t in finals) == ["final/0", "final/1"]  # none trained twice
        study = optuna.load_study(study_name="r", storage=f"sqlite:///{runs / 'r' / 'ledger.db'}")
        assert len(study.trials) == search_trials  # the search was not redone
        assert "on to its final training" in (runs / "r" / "log.txt").read_text()


def test_the_search_clock_counts_remote_cpu_until_it_stops_and_survives_a_checkpoint():
    class Remote:
        in_process, workers = False, 2

        def submit(self, fn, *args):
            return fn(*args)

        def wait_any(self, handles):
            return handles[0], handles[0]

        def map(self, fn, items):
            return [fn(i) for i in items]

    clock = SearchClock({"seconds": 10.0, "cpu_seconds": 5.0})
    executor = MeteredExecutor(Remote(), clock.add_remote)
    result = EvalResult([], 0.5, None, 1, 1, 3.0, cpu_seconds=7.0)
    executor.wait_any([executor.submit(lambda: result)])
    executor.map(lambda _: result, [0])
    executor.wait_any([ValueError("a failed task carries no time")])
    assert clock.cpu_seconds >= 5.0 + 14.0 and clock.seconds >= 10.0
    clock.stop()
    state = clock.state()
    executor.wait_any([result])  # after the search: not counted
    assert clock.state() == state and state["stopped"]
    again = SearchClock(state)
    assert again.seconds == state["seconds"] and again.cpu_seconds == state["cpu_seconds"]
    local = SearchClock()
    MeteredExecutor(type("Local", (Remote,), {"in_process": True})(), local.add_remote).wait_any([result])
    assert local.cpu_seconds < 7.0  # in-process tasks are the driver's own CPU time, not added twice


def test_the_ledger_names_its_accuracy_by_kind_and_a_reader_takes_the_stored_names(tmp_path):
    from archsearch.errors import UsageError
    from archsearch.experiment.ledger import OptunaLedger, sqlite_url
    from archsearch.space import Arch

    url = sqlite_url(tmp_path / "ledger.db")
    seen = []
    ledger = OptunaLedger(url, "s", metric_names=("supernet_accuracy", "macs", "params"), on_complete=seen.append)
    ledger.complete(ledger.start(Arch({"a": 1}), key="k", phase="p"), {"accuracy": 0.5, "macs": 1, "params": 2})
    assert seen == [{"accuracy": 0.5, "macs": 1.0, "params": 2.0}]  # what the live progress line sees
    assert optuna.load_study(study_name="s", storage=url).metric_names == ["supernet_accuracy", "macs", "params"]
    assert OptunaLedger(url, "s").find("k").values == {"accuracy": 0.5, "macs": 1.0, "params": 2.0}
    with pytest.raises(UsageError, match=r"records \['supernet_accuracy'"):
        OptunaLedger(url, "s", metric_names=("predicted_accuracy", "macs", "params"))
