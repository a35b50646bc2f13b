"""The experiment layer: Optuna ledger, atomic checkpoints, run / resume, executors, the `random` method end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from archsearch.cli import main
from archsearch.errors import CheckpointError, ConstraintError, UsageError
from archsearch.experiment import CheckpointStore, OptunaLedger
from archsearch.experiment.ledger import sqlite_url
from archsearch.experiment.ledger_storage import RowWriter
from archsearch.experiment.testing import make_context, run_with_crash
from archsearch.experiment.run import run
from archsearch.cost.constraints import Cost
from archsearch.space import Arch, Categorical, Space

SMOKE = dict(space="hierarchical", preset="smoke", data="digits", quiet=True)


def _ledger(tmp_path: Path) -> OptunaLedger:
    space = Space({"a": Categorical(["x", "y"]), "b": Categorical([1, 2, 3])}, name="toy")
    return OptunaLedger(sqlite_url(tmp_path / "ledger.db"), "study", spaces=[space],
                        cost=lambda arch: Cost(macs=100 * arch["b"], params=10))


def test_ledger_records_values_epochs_attrs_and_fills_costs_from_the_cost_model(tmp_path):
    ledger = _ledger(tmp_path)
    arch = Arch({"a": "y", "b": 3})
    trial = ledger.start(arch, key="random/0", phase="random", attrs={"origin": "init"})
    ledger.report_epoch(trial, 1, 0.5)
    ledger.report_epoch(trial, 2, 0.75)
    ledger.complete(trial, {"accuracy": 0.75}, {"seconds": 1.5})
    record = ledger.find("random/0")
    assert record.state == "complete" and record.values == {"accuracy": 0.75, "macs": 300.0, "params": 10.0}
    assert record.per_epoch == {1: 0.5, 2: 0.75} and record.arch == {"a": "y", "b": 3}
    assert record.attrs["origin"] == "init" and record.attrs["seconds"] == 1.5 and record.phase == "random"
    # a second ledger on the same database (a resumed driver) sees the same trial under its key
    again = _ledger(tmp_path)
    assert again.start(arch, key="random/0", phase="random") == trial
    again.complete(trial, {"accuracy": 0.1})  # the first record stands
    assert again.find("random/0").values["accuracy"] == 0.75 and len(again) == 1


def test_ledger_one_transaction_writes_read_back_through_optuna_like_its_own_api(tmp_path):
    """The first trial goes through Optuna's API, later ones through the single-transaction row writer: Optuna
    must see both the same way (numbers, params with distributions, attributes, values, state, times)."""
    import optuna

    ledger = _ledger(tmp_path)
    assert isinstance(ledger._writer, RowWriter)
    for i, arch in enumerate([Arch({"a": "x", "b": 2}), Arch({"a": "y", "b": 3})]):
        trial = ledger.start(arch, key=f"k/{i}", phase="p", attrs={"origin": "init", "parent": -1})
        ledger.complete(trial, {"accuracy": 0.5 + i / 4}, {"seconds": 2.0, "origin": "mutation"})
    first, second = optuna.load_study(study_name="study", storage=ledger.url).trials
    assert (first.number, second.number) == (0, 1)
    assert first.distributions == second.distributions and second.params == {"a": "y", "b": 3}
    assert second.values == [0.75, 300.0, 10.0] and second.state.name == "COMPLETE"
    assert second.datetime_complete >= second.datetime_start
    assert set(first.user_attrs) == set(second.user_attrs)
    assert second.user_attrs["origin"] == "mutation" and second.user_attrs["seconds"] == 2.0
    # a trial no longer running is left as it is
    ledger.complete(second._trial_id, {"accuracy": 0.1})
    assert ledger.find("k/1").values["accuracy"] == 0.75


def test_ledger_failed_key_is_retried_in_a_new_trial_and_nan_fails(tmp_path):
    ledger = _ledger(tmp_path)
    arch = Arch({"a": "x", "b": 1})
    first = ledger.start(arch, key="k", phase="p")
    ledger.fail(first, "worker died")
    second = ledger.start(arch, key="k", phase="p")
    assert second != first and ledger.find("k").state == "running"
    ledger.complete(second, {"accuracy": float("nan")})
    assert ledger.find("k").state == "failed" and "non-finite" in ledger.find("k").attrs["fail_reason"]
    third = ledger.start(arch, key="other", phase="p")
    assert ledger.abandon_running() == 1 and ledger.find("other").state == "failed"
    assert [t.state for t in ledger.trials()] == ["failed", "failed", "failed"] and third


def test_checkpoints_keep_two_and_fall_back_past_a_corrupt_one(tmp_path):
    messages: list[str] = []
    store = CheckpointStore(tmp_path, keep=2, log=messages.append)
    for step in range(3):
        store.save({"step": step, "weights": torch.full((3,), float(step))})
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.pt")) == ["ckpt-000002.pt", "ckpt-000003.pt"]
    assert store.load_latest()["step"] == 2
    newest = tmp_path / "ckpt-000003.pt"
    newest.write_bytes(newest.read_bytes()[:50])  # truncated by a crash or a full disk
    state = CheckpointStore(tmp_path, log=messages.append).load_latest()
    assert state["step"] == 1 and torch.equal(state["weights"], torch.ones(3))
    assert any("corrupt" in m for m in messages)
    (tmp_path / "ckpt-000002.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        CheckpointStore(tmp_path).load_latest()


@pytest.mark.integration
def test_random_run_writes_the_run_directory_and_resume_equals_an_uninterrupted_run(tmp_path):
    # the search and its resume; no final training (a resume through it, result and weights: test_every_method.py)
    full = run("random", runs_dir=tmp_path, name="full", final_epochs=0, **SMOKE)
    resumed = run_with_crash("random", 3, runs_dir=tmp_path, name="crashed", final_epochs=0, **SMOKE)
    assert dict(resumed.best.arch) == dict(full.best.arch)
    assert resumed.best.objectives == full.best.objectives
    for name in ("full", "crashed"):
        run_dir = tmp_path / name
        assert {p.name for p in run_dir.iterdir()} >= {"config.yaml", "ledger.db", "checkpoints", "log.txt",
                                                       "metrics", "result.json"}
    from archsearch.report import open_run

    def completed(name):
        return [(t.arch, t.objectives) for t in open_run(tmp_path / name).trials() if t.state == "complete"]

    assert completed("crashed") == completed("full") and len(completed("full")) == 6  # no duplicates
    rows = (tmp_path / "crashed" / "metrics" / "evolution.jsonl").read_text().splitlines()
    assert rows == (tmp_path / "full" / "metrics" / "evolution.jsonl").read_text().splitlines()
    result = json.loads((tmp_path / "full" / "result.json").read_text())
    assert result["best"]["arch"] == dict(full.best.arch) and result["pareto_front"]


@pytest.mark.integration
def test_random_search_respects_constraints_and_refuses_impossible_ones(tmp_path):
    result = run("random", runs_dir=tmp_path, name="c", constraints=["params<=6K"], final_epochs=0, **SMOKE)
    assert all(c.objectives["params"] <= 6000 for c in result.pareto_front)
    with pytest.raises(ConstraintError):
        run("random", runs_dir=tmp_path, name="impossible", constraints=["params<=10"], **SMOKE)


@pytest.mark.integration
def test_run_refuses_to_overwrite_and_resume_needs_an_unfinished_run(tmp_path):
    from archsearch.experiment.run import resume

    run("random", runs_dir=tmp_path, name="once", budget=2, final_epochs=0, **SMOKE)
    with pytest.raises(UsageError, match="already exists"):
        run("random", runs_dir=tmp_path, name="once", **SMOKE)
    with pytest.raises(UsageError, match="already finished"):
        resume("once", runs_dir=tmp_path)
    with pytest.raises(UsageError, match="unknown method 'randm'; did you mean 'random'"):
        run("randm", runs_dir=tmp_path, **SMOKE)
    with pytest.raises(UsageError, match="unknown option"):
        run("random", runs_dir=tmp_path, epoks=3, **SMOKE)


def test_make_context_is_a_full_run_context(tmp_path):
    ctx = make_context(tmp_path, space="hierarchical", space_options={"preset": "smoke"})
    assert ctx.splits().input_shape == tuple(ctx.space.input_shape)
    assert ctx.rng("a", 1).integers(1 << 30) == ctx.rng("a", 1).integers(1 << 30)
    assert ctx.rng("a", 1).integers(1 << 30) != ctx.rng("a", 2).integers(1 << 30)
    ctx.log_metrics("series", 1, value=0.5)
    assert json.loads((ctx.run_dir / "metrics" / "series.jsonl").read_text()) == {"step": 1, "value": 0.5}


@pytest.mark.parametrize("kind", ["experiment", "memory", "memory without a run directory"])
def test_every_run_context_keeps_the_protocol(kind, tmp_path):
    """The conformance suite of `RunContext` on each implementation: what a method relies on holds on all."""
    from archsearch.experiment.testing import MemoryContext, check_run_context
    from archsearch.spaces import create_space

    if kind == "experiment":
        ctx = make_context(tmp_path)
    else:
        ctx = MemoryContext(create_space("mobilenet", preset="smoke"), run_dir=tmp_path if kind == "memory" else None,
                            data_spec={"data": "digits", "split": {"val_size": 300, "small_val_size": 100}})
    try:
        check_run_context(ctx)
    finally:
        if kind == "experiment":
            ctx.release()


@pytest.mark.integration
def test_cli_run_show_report_export_and_usage_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_PROGRESS", "0")
    common = ["--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--runs-dir", str(tmp_path)]
    assert main(["run", "random", *common, "--name", "cli", "--budget", "3"]) == 0
    assert "leaderboard" in capsys.readouterr().out
    assert main(["show", "cli", "--runs-dir", str(tmp_path)]) == 0
    assert main(["report", "cli", "--runs-dir", str(tmp_path)]) == 0
    assert (tmp_path / "cli" / "report" / "summary.md").is_file()
    assert main(["export", "cli", "--runs-dir", str(tmp_path)]) == 0
    assert (tmp_path / "cli" / "export" / "rank1" / "arch.json").is_file()
    capsys.readouterr()
    assert main(["run", "random", *common, "--constraint", "flops<=banana"]) == 2
    assert main(["run", "random", *common, "--executor", "local", "--set", "epochs=0"]) == 2
    assert main(["resume", "nothing-here", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len([line for line in err.splitlines() if line.strip()]) == 3


class _KillFirstTask:
    """Wraps an executor so the first task it runs kills its worker process (see `die_once`)."""

    def __init__(self, inner, marker: Path) -> None:
        self.inner, self.marker, self.workers = inner, str(marker), inner.workers

    def submit(self, fn, *args):
        from archsearch.experiment.testing import die_once

        return self.inner.submit(die_once, self.marker, fn, *args)

    def wait_any(self, handles):
        return self.inner.wait_any(handles)

    def shutdown(self):
        self.inner.shutdown()


@pytest.mark.slow
def test_evolution_on_ray_records_exactly_the_submitted_trials_when_a_worker_dies(tmp_path):
    pytest.importorskip("ray")
    from archsearch.executors import create_executor

    ctx = make_context(tmp_path, method="evolution", space="hierarchical", executor="ray", workers=2)
    ctx._executor = _KillFirstTask(create_executor("ray", workers=2), tmp_path / "killed")
    result = ctx.execute(resume=False)
    assert (tmp_path / "killed").is_file()  # a worker did die
    trials = ctx.ledger.trials()
    assert len(trials) == ctx.config.evaluations == result.extra["evaluations"]
    assert all(t.state == "complete" for t in trials)
    assert len({t.key for t in trials}) == len(trials)


def test_package_reexports_the_public_api_lazily():
    import subprocess
    import sys

    import archsearch

    assert all(getattr(archsearch, name) is not None for name in archsearch.__all__)
    code = "import sys, archsearch; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_chosen_arch_is_the_leaderboards_first_even_on_ties(tmp_path):
    """Accuracy ties are common on small validation sets; the run's choice and the leaderboard break them alike
    (the cheaper arch, then the earlier trial)."""
    from archsearch.report import leaderboard, open_run

    import archsearch

    result = archsearch.run("random", preset="smoke", data="digits", seed=3, runs_dir=tmp_path, name="ties",
                            final_epochs=0, quiet=True)
    first = leaderboard(open_run(tmp_path / "ties").trials())[0]
    assert dict(result.best.arch) == dict(first.arch)


def _noise(n_train: int = 256, seed: int = 0):
    """Images of noise with random labels: no architecture can beat chance on them."""
    import numpy as np

    from archsearch.data import from_arrays

    rng = np.random.default_rng(seed)
    images = lambda n: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)  # noqa: E731
    return from_arrays(images(n_train), rng.integers(0, 10, n_train), images(64), rng.integers(0, 10, 64))


@pytest.mark.parametrize("method, what", [("spos", "the supernet is"), ("random", "the search's estimate is")])
def test_a_search_at_chance_level_says_so(tmp_path, capsys, method, what):
    result = run(method, preset="smoke", data=_noise(), runs_dir=tmp_path, name="r", final_epochs=0, quiet=False)
    (warning,) = result.extra["warnings"]
    assert warning.startswith(f"{what} at chance level") and "against 10.0% for guessing among 10 classes" in warning
    assert "raise the budget (--budget)" in warning
    assert json.loads((tmp_path / "r" / "result.json").read_text())["extra"]["warnings"] == [warning]
    assert f"warning: {warning}" in capsys.readouterr().err


def test_a_search_above_chance_gives_no_warning(tmp_path):
    result = run("random", preset="smoke", data="digits", runs_dir=tmp_path, name="r", final_epochs=0,
                 train_size=None, epochs=5)
    assert result.best.objectives["accuracy"] > 0.3 and "warnings" not in result.extra
