"""A search killed with SIGKILL at any point and resumed ends exactly as an uninterrupted run
(docs/architecture.md, "Resume").

The run is a real `archsearch run` subprocess (random search, smoke sizes on `digits`); it is killed (`SIGKILL`: no
handler, no cleanup) the moment its k-th checkpoint appears, then `archsearch resume` finishes it. The kill waits for
that event, not for a fraction of a measured run, so a loaded machine (slower runs) moves the kill in time but not
in the run's progress: the test is deterministic. Result and ledger must equal an uninterrupted run with the same
seed. One kill point runs by default, five with ``-m slow``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from support import cli_argv, cli_env

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

ARGS = ["random", "--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--seed", "3",
        "--budget", "8"]


def _outcome(run_dir: Path) -> tuple[dict, list]:
    from archsearch.report import open_run

    result = json.loads((run_dir / "result.json").read_text())
    trials = [(t.arch, t.objectives, t.state) for t in open_run(run_dir).trials() if t.state != "failed"]
    final = {k: v for k, v in result["final"].items() if k not in ("seconds", "cpu_seconds")}  # measured times vary
    return {"best": result["best"], "front": result["pareto_front"], "final": final}, trials


def _newest_checkpoint(run_dir: Path) -> int:
    """The number of the newest checkpoint file the run has written (0: none yet); the temp files of atomic
    writes start with a dot and are not counted."""
    names = [p.name for p in (run_dir / "checkpoints").glob("ckpt-*.pt")] if run_dir.is_dir() else []
    return max((int(name[len("ckpt-"):-len(".pt")]) for name in names), default=0)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The uninterrupted run's outcome and how many checkpoints it wrote (the kill points to choose from)."""
    root = tmp_path_factory.mktemp("full")
    subprocess.run(cli_argv("run", *ARGS, "--runs-dir", str(root), "--name", "full"), env=cli_env(), check=True,
                   capture_output=True)
    manifest = json.loads((root / "full" / "checkpoints" / "manifest.json").read_text())
    return _outcome(root / "full"), max(entry["index"] for entry in manifest)


def _kill_and_resume(tmp_path: Path, checkpoint: int, timeout: float = 600.0) -> tuple[tuple[dict, list], bool]:
    """Run, SIGKILL the run as soon as its checkpoint number `checkpoint` exists, resume it to the end."""
    run_dir = tmp_path / "killed"
    process = subprocess.Popen(cli_argv("run", *ARGS, "--runs-dir", str(tmp_path), "--name", "killed"), env=cli_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while _newest_checkpoint(run_dir) < checkpoint and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _newest_checkpoint(run_dir) >= checkpoint, f"checkpoint {checkpoint} never appeared"
    interrupted = not (run_dir / "result.json").exists()
    if interrupted:
        done = subprocess.run(cli_argv("resume", "killed", "--runs-dir", str(tmp_path)), env=cli_env(),
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return _outcome(run_dir), interrupted


def _check(tmp_path, uninterrupted, fraction):
    """Kill at the checkpoint `fraction` of the way through the uninterrupted run's checkpoints."""
    expected, checkpoints = uninterrupted
    point = min(checkpoints - 1, max(1, round(fraction * checkpoints)))
    outcome, interrupted = _kill_and_resume(tmp_path, point)
    assert interrupted, f"the run finished before the kill at checkpoint {point} of {checkpoints}"
    assert outcome == expected


def test_sigkill_then_resume_equals_uninterrupted(tmp_path, uninterrupted):
    _check(tmp_path, uninterrupted, 0.6)


@pytest.mark.slow
@pytest.mark.parametrize("point", range(5))
def test_sigkill_at_random_points(tmp_path, uninterrupted, point):
    fraction = float(np.random.default_rng(1000 + point).uniform(0.2, 0.95))
    _check(tmp_path, uninterrupted, fraction)
