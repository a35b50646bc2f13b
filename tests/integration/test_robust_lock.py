"""One writer per run: two `archsearch run --name X` or two `archsearch resume X` started at the same moment (real
processes, released together) end with one run and one refusal, and the ledger holds no duplicate; a lock left by
a dead process is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from support import cli_env

from archsearch.cli import main
from archsearch.experiment.lock import LOCK_FILE, RunLock, read_holder
from archsearch.experiment.run import run
from archsearch.experiment.testing import SimulatedCrash, crash_after

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

ARGS = ["random", "--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--seed", "3",
        "--budget", "6"]

# each process imports everything first, then waits for the go file: the two start their command together
_WAIT_THEN_MAIN = ("import sys, os, time; from archsearch.cli import main; import archsearch.experiment.run, "
                   "archsearch.methods.evolution\n"
                   "go = sys.argv[1]\n"
                   "open(go + '.ready-' + str(os.getpid()), 'w').close()\n"
                   "while not os.path.exists(go): time.sleep(0.005)\n"
                   "sys.exit(main(sys.argv[2:]))")


def _race(tmp_path: Path, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", _WAIT_THEN_MAIN, str(go), *command], env=cli_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready-*"))) < len(processes) and time.monotonic() < deadline:
        time.sleep(0.02)  # imports done (torch, optuna): they now poll for the go file
    go.write_text("go")
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=300), *p.communicate()) for p in processes]


def _ledger_keys(run_dir: Path) -> list[str]:
    from archsearch.report import open_run

    return [t.attrs.get("key") for t in open_run(run_dir).trials()]


def test_two_runs_with_one_name_at_once(tmp_path):
    root = tmp_path / "runs"
    command = ["run", *ARGS, "--runs-dir", str(root), "--name", "X"]
    done = _race(tmp_path, command, command)
    codes = sorted(d.returncode for d in done)
    assert codes == [0, 1], [(d.returncode, d.stderr[-500:]) for d in done]
    refused = next(d for d in done if d.returncode == 1)
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("archsearch: error: run X is in use by pid ")
    assert refused.stderr.strip().endswith(f" on {socket.gethostname()}")
    keys = _ledger_keys(root / "X")
    assert len(keys) == 6 and not [k for k, n in Counter(keys).items() if n > 1]
    assert not (root / "X" / LOCK_FILE).exists()  # released at the end


def test_two_resumes_at_once(tmp_path):
    root = tmp_path / "runs"
    with pytest.raises(SimulatedCrash), crash_after(1):
        run("random", space="hierarchical", preset="smoke", data="digits", seed=3, budget=6, runs_dir=root,
            name="X", quiet=True)
    before = _ledger_keys(root / "X")
    command = ["resume", "X", "--runs-dir", str(root)]
    done = _race(tmp_path, command, command)
    codes = sorted(d.returncode for d in done)
    assert codes == [0, 1], [(d.returncode, d.stderr[-500:]) for d in done]
    refused = next(d for d in done if d.returncode == 1)
    assert refused.stderr.startswith("archsearch: error: run X is in use by pid ") and refused.stderr.count("\n") == 1
    keys = _ledger_keys(root / "X")
    assert set(before) <= set(keys) and len(keys) == len(set(keys))
    from archsearch.report import open_run

    numbers = [t.number for t in open_run(root / "X").trials()]
    assert len(numbers) == len(set(numbers))
    manifest = json.loads((root / "X" / "checkpoints" / "manifest.json").read_text())
    files = [entry["file"] for entry in manifest]
    assert len(files) == len(set(files))


def test_a_held_lock_refuses_with_pid_and_host_and_a_dead_holder_is_taken_over(tmp_path, capsys):
    root = tmp_path / "runs"
    with pytest.raises(SimulatedCrash), crash_after(1):
        run("random", space="hierarchical", preset="smoke", data="digits", seed=3, budget=6, runs_dir=root,
            name="X", quiet=True)
    with RunLock(root / "X", "X"):
        assert main(["resume", "X", "--runs-dir", str(root)]) == 1
    err = capsys.readouterr().err
    assert err == f"archsearch: error: run X is in use by pid {os.getpid()} on {socket.gethostname()}\n"
    # a lock file of a process that died without releasing it (SIGKILL): same host, pid gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / "X" / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                                    "command": "run", "since": "2024-01-01T00:00:00"}))
    assert read_holder(root / "X")["pid"] == dead.pid
    assert main(["resume", "X", "--runs-dir", str(root)]) == 0
    log = (root / "X" / "log.txt").read_text()
    assert f"took over the lock of pid {dead.pid} on {socket.gethostname()}" in log
    assert not (root / "X" / LOCK_FILE).exists()
