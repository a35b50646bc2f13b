"""The local executor on every core: worker processes give the same search as one process, resume alike, and
leave no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archsearch.executors.local import LocalExecutor
from archsearch.experiment.ledger import OptunaLedger, sqlite_url
from archsearch.experiment.run import run
from archsearch.experiment.testing import run_with_crash

pytestmark = pytest.mark.integration

RANDOM = {"preset": "smoke", "data": "digits", "budget": 8, "final_epochs": 1, "final_seeds": 2}
EVOLUTION = {"preset": "smoke", "data": "digits", "space": "mobilenet", "budget": 10, "final_epochs": 0}


def _square(x: int) -> int:
    time.sleep(0.05 * (3 - x))  # the later tasks finish first
    return x * x


def _fail(x: int) -> int:
    raise ValueError(f"task {x}")


def test_results_come_back_in_submission_order():
    executor = LocalExecutor(2)
    try:
        handles = [executor.submit(_square, x) for x in range(3)]
        order = []
        while handles:
            handle, result = executor.wait_any(handles)
            handles.remove(handle)
            order.append(result)
        assert order == [0, 1, 4] and executor.map(_square, [2, 3]) == [4, 9] and not executor.in_process
        assert isinstance(executor.wait_any([executor.submit(_fail, 1)])[1], ValueError)
    finally:
        executor.shutdown()


def _record(run_dir: Path) -> dict:
    """What must not depend on the worker count: the result, every trial and every metric row."""
    result = json.loads((run_dir / "result.json").read_text())
    ledger = OptunaLedger(sqlite_url(run_dir / "ledger.db"), run_dir.name)
    trials = sorted((t.key, t.state, json.dumps(t.arch, sort_keys=True), t.values.get("accuracy"))
                    for t in ledger.trials())
    metrics = {p.name: [{k: v for k, v in json.loads(line).items() if "seconds" not in k}
                        for line in p.read_text().splitlines()] for p in sorted((run_dir / "metrics").glob("*"))}
    return {"best": result["best"], "front": result["pareto_front"], "final": result["final"] and
            result["final"]["test_accuracies"], "trials": trials, "metrics": metrics}


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    """A method's uninterrupted run on 2 worker processes, made once for the module (the tests only read it):
    ``two_worker_run(method, options)`` is its directory."""
    made: dict[str, Path] = {}

    def get(method: str, options: dict) -> Path:
        if method not in made:
            runs_dir = tmp_path_factory.mktemp(f"two-workers-{method}")
            run(method, runs_dir=runs_dir, name="two", workers=2, **options)
            made[method] = runs_dir / "two"
        return made[method]

    return get


@pytest.mark.parametrize("method, options", [("random", RANDOM), ("evolution", EVOLUTION)])
def test_two_workers_give_the_run_of_one(tmp_path, two_worker_run, method, options):
    run(method, runs_dir=tmp_path, name="one", workers=1, **options)
    assert _record(two_worker_run(method, options)) == _record(tmp_path / "one")


def test_a_killed_parallel_run_resumes_to_the_same_result(tmp_path, two_worker_run):
    run_with_crash("random", 3, runs_dir=tmp_path, name="crashed", workers=2, **RANDOM)
    assert _record(tmp_path / "crashed") == _record(two_worker_run("random", RANDOM))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_sigkilled_driver_leaves_no_worker(tmp_path):
    argv = [sys.executable, "-m", "archsearch.cli", "run", "random", "--preset", "quick",
            "--workers", "2", "--runs-dir", str(tmp_path), "--name", "k", "--final-epochs", "0"]
    driver = subprocess.Popen(argv, env={**os.environ, "ARCHSEARCH_PROGRESS": "0"}, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        workers = _children(driver.pid)
        time.sleep(0.2)
    assert len(workers) >= 2, "the run started no worker processes"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and "spawn_main" in (entry / "cmdline").read_text():
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
