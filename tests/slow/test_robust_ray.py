"""Ray for real: a cluster started with `ray start --head` on this machine (127.0.0.1), a search sent to it with
``--ray-address``, a worker killed mid-task (Ray retries it: no trial lost, none duplicated); and a driver killed
with SIGKILL leaves no process of its local Ray instance behind. Skipped when Ray is not installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from support import cli_argv, cli_env

from archsearch.executors._reaper import descendants

ARGS = ["random", "--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--seed", "2", "--budget", "6",
        "--set", "epochs=2"]

pytestmark = [pytest.mark.integration,  # end to end (docs/architecture.md, "Tests")
              pytest.mark.skipif(shutil.which("ray") is None or not Path("/proc").is_dir(),
                                 reason="needs the ray command (pip install 'archsearch[ray]') and Linux /proc")]


def _env(ray_defaults: bool = False) -> dict[str, str]:
    """The tests' environment; `ray_defaults`: Ray's own settings, as a user's shell has them."""
    env = {k: v for k, v in cli_env().items() if not (ray_defaults and k.startswith("RAY_"))}
    if not ray_defaults:
        env.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"})  # loopback only: no token
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _alive(processes: dict[int, str]) -> list[tuple[int, str]]:
    from archsearch.executors._reaper import _stat

    return [(pid, _title(pid)) for pid, start in processes.items() if (_stat(pid) or (0, None))[1] == start]


def _wait_for_task(root_pid: int, timeout: float) -> int | None:
    """A Ray worker below `root_pid` running one of our tasks (its title is ``ray::_call``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in descendants(root_pid):
            if _title(pid).startswith("ray::_call"):
                return pid
        time.sleep(0.02)
    return None


def _check_ledger(run_dir: Path, expected: int) -> None:
    from archsearch.report import open_run

    trials = open_run(run_dir).trials()
    keys = [t.attrs.get("key") for t in trials]
    assert [t.state for t in trials] == ["complete"] * expected, [(t.number, t.state) for t in trials]
    assert len(set(keys)) == expected and not [k for k, n in Counter(keys).items() if n > 1]


@pytest.fixture
def ray_head():
    yield from _head(_env(), "--node-ip-address", "127.0.0.1")


@pytest.fixture
def ray_head_as_the_readme_starts_it():
    """`ray start --head` with Ray's defaults (no RAY_* variable, the Ray Client server on its default port 10001,
    which the README passes as ray://HEAD:10001; Ray 2.60's client does not connect on another port here)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 10001)) == 0:
            pytest.skip("port 10001 (Ray Client's default) is taken on this machine")
    for address, head in _head(_env(ray_defaults=True)):
        yield "ray://127.0.0.1:10001", head


def _head(env: dict[str, str], *extra: str):
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="asray-"))  # short: Ray's socket paths live under it
    head = subprocess.Popen(["ray", "start", "--head", "--block", "--port", str(port), *extra, "--num-cpus", "2",
                             "--include-dashboard", "false", "--disable-usage-stats",
                             "--temp-dir", str(temp)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while subprocess.run(["ray", "status", "--address", address], env=env, capture_output=True).returncode:
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.skip("`ray start --head` did not come up on 127.0.0.1")
            time.sleep(1)
        yield address, head
    finally:
        processes = descendants(head.pid)
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes on SIGTERM
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        deadline = time.monotonic() + 30
        while _alive(processes) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _alive(processes)
        for pid, _ in left:  # never leave a cluster behind, even when the assertion below fails
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes left after stopping the head: {left}"


@pytest.mark.slow
def test_search_on_a_ray_cluster_survives_a_killed_worker(ray_head, tmp_path):
    address, head = ray_head
    search = subprocess.Popen(cli_argv("run", *ARGS, "--executor", "ray", "--ray-address", address, "--workers", "2",
                                   "--runs-dir", str(tmp_path), "--name", "cluster"),
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = _wait_for_task(head.pid, timeout=240)
    assert worker is not None, "no Ray worker ran a task of the search"
    os.kill(worker, signal.SIGKILL)  # as an OOM kill or a lost node would
    out, err = search.communicate(timeout=600)
    assert search.returncode == 0, err[-2000:]
    _check_ledger(tmp_path / "cluster", 6)  # every evaluation once: the killed task was retried, not lost


@pytest.mark.slow
def test_the_readmes_cluster_steps_work_with_rays_defaults(ray_head_as_the_readme_starts_it, tmp_path):
    address, _ = ray_head_as_the_readme_starts_it
    done = subprocess.run(cli_argv("run", *ARGS, "--executor", "ray", "--ray-address", address, "--runs-dir",
                               str(tmp_path), "--name", "readme"), env=_env(ray_defaults=True), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    log = (tmp_path / "readme" / "log.txt").read_text()
    assert "ray: 2 concurrent tasks on a cluster with 2 CPUs" in log  # on the cluster, not a local instance
    _check_ledger(tmp_path / "readme", 6)


@pytest.mark.slow
def test_a_killed_driver_leaves_no_ray_process(tmp_path):
    driver = subprocess.Popen(cli_argv("run", *ARGS, "--executor", "ray", "--workers", "2", "--runs-dir", str(tmp_path),
                                   "--name", "local"), env=_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert _wait_for_task(driver.pid, timeout=240) is not None, "the local Ray instance ran no task"
        processes = descendants(driver.pid)
        assert any("raylet" in _title(pid) for pid in processes)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    deadline = time.monotonic() + 60
    while _alive(processes) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _alive(processes)
    for pid, _ in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the killed driver's Ray instance still running: {left}"
    # and the run it left is resumable, on the local executor
    done = subprocess.run(cli_argv("resume", "local", "--runs-dir", str(tmp_path), "--executor", "local"), env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    _check_ledger(tmp_path / "local", 6)
