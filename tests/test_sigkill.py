"""A search killed with SIGKILL at any point and resumed ends exactly as an uninterrupted run
(docs/architecture.md, "Resume").

The run is a real `archsearch run` subprocess (random search, smoke sizes on `digits`); it is killed at random
moments (`SIGKILL`: no handler, no cleanup), then `archsearch resume` finishes it. Result and ledger must equal an
uninterrupted run with the same seed. One kill point runs by default, five with ``-m slow``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

ARGS = ["random", "--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--seed", "3",
        "--budget", "8"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from archsearch.cli import main; sys.exit(main())", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "ARCHSEARCH_PROGRESS": "0", "OMP_NUM_THREADS": "1"}


def _outcome(run_dir: Path) -> tuple[dict, list]:
    from archsearch.report import open_run

    result = json.loads((run_dir / "result.json").read_text())
    trials = [(t.arch, t.objectives, t.state) for t in open_run(run_dir).trials() if t.state != "failed"]
    final = {k: v for k, v in result["final"].items() if k not in ("seconds", "cpu_seconds")}  # measured times vary
    return {"best": result["best"], "front": result["pareto_front"], "final": final}, trials


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    start = time.perf_counter()
    subprocess.run(_cli("run", *ARGS, "--runs-dir", str(root), "--name", "full"), env=_env(), check=True,
                   capture_output=True)
    return _outcome(root / "full"), time.perf_counter() - start


def _kill_and_resume(tmp_path: Path, delay: float) -> tuple[tuple[dict, list], bool]:
    process = subprocess.Popen(_cli("run", *ARGS, "--runs-dir", str(tmp_path), "--name", "killed"), env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    run_dir = tmp_path / "killed"
    interrupted = not (run_dir / "result.json").exists()
    if not (run_dir / "config.yaml").exists():  # killed before the run existed: start it again
        subprocess.run(_cli("run", *ARGS, "--runs-dir", str(tmp_path), "--name", "killed"), env=_env(), check=True,
                       capture_output=True)
    elif not (run_dir / "result.json").exists():
        done = subprocess.run(_cli("resume", "killed", "--runs-dir", str(tmp_path)), env=_env(),
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return _outcome(run_dir), interrupted


def _check(tmp_path, uninterrupted, fraction):
    expected, seconds = uninterrupted
    outcome, interrupted = _kill_and_resume(tmp_path, fraction * seconds)
    assert interrupted, "the run finished before the kill: kill earlier"
    assert outcome == expected


def test_sigkill_then_resume_equals_uninterrupted(tmp_path, uninterrupted):
    _check(tmp_path, uninterrupted, 0.6)


@pytest.mark.slow
@pytest.mark.parametrize("point", range(5))
def test_sigkill_at_random_points(tmp_path, uninterrupted, point):
    fraction = float(np.random.default_rng(1000 + point).uniform(0.2, 0.95))
    _check(tmp_path, uninterrupted, fraction)
