"""The shared PostgreSQL ledger on a real server: a throwaway PostgreSQL (Debian's `postgresql` package: initdb
and pg_ctl on a Unix socket in a temp dir, no TCP port), the README's ``postgresql://`` URL with exactly what
``archsearch[postgres]`` installs, two searches writing two runs into one database at once, and a third process
listing both with ``archsearch ls --storage URL``. Skipped, saying why, where no server can start. (The ledger
conformance checks run on such a server too: tests/test_ledger.py.)"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
import tomllib
from support import cli_argv, cli_env

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["random", "--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--budget", "4"]


def _extra_modules(extra: str) -> list[str]:
    """The modules an optional extra of pyproject.toml installs (``psycopg[binary]>=3.1`` -> psycopg)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["optional-dependencies"][extra]
    return [re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].replace("-", "_") for r in requirements]


def _server_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(directory, name), os.X_OK):
            return os.path.join(directory, name)
    return None


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for as long as the context lasts: its URL (skips the test where none can start)."""
    missing = [m for m in _extra_modules("postgres") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"archsearch[postgres] is not installed (no module {missing[0]}): pip install "
                    "'archsearch[postgres]'")
    initdb, pg_ctl = _server_binary("initdb"), _server_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server here (initdb / pg_ctl: Debian package postgresql)")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="aspg-"))  # short: a socket path must stay under 108 bytes
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the package's own user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(base)
            pytest.skip("running as root and runuser (util-linux) is missing to run the server as 'postgres'")
        as_user = [runuser, "-u", "postgres", "--"]
        os.chown(base, user.pw_uid, user.pw_gid)
    data = base / "data"
    made = _run([*as_user, initdb, "-D", str(data), "-U", "archsearch", "-A", "trust", "-E", "UTF8", "--no-sync"])
    if made.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {(made.stderr or made.stdout).strip().splitlines()[-1:]}")
    started = _run([*as_user, pg_ctl, "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o",
                    f"-k {base} -c listen_addresses='' -c fsync=off", "start"])
    try:
        if started.returncode != 0:
            log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
            pytest.skip(f"the PostgreSQL server did not start: {(log or started.stderr).strip().splitlines()[-1:]}")
        yield f"postgresql://archsearch@/postgres?host={base}"
    finally:
        _run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.mark.slow  # a server, two searches and three CLI processes: ~25 s idle, over a minute on a busy machine
def test_two_runs_share_one_postgresql_ledger_and_a_third_process_lists_both(postgres_url, tmp_path):
    assert postgres_url.startswith("postgresql://")  # the README's form: no driver named in the URL
    writers = [subprocess.Popen(cli_argv("run", *ARGS, "--seed", str(seed), "--storage", postgres_url, "--runs-dir",
                                     str(tmp_path / "runs"), "--name", name), env=cli_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for seed, name in ((1, "alpha"), (2, "beta"))]
    for writer in writers:
        out, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err[-2000:]
    listed = subprocess.run(cli_argv("ls", "--storage", postgres_url), env=cli_env(), capture_output=True, text=True,
                            timeout=300)
    assert listed.returncode == 0, listed.stderr
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in listed.stdout.splitlines() if line.startswith("│")]
    rows = {row[0]: row for row in cells}
    assert set(rows) == {"alpha", "beta"}, listed.stdout
    for row in rows.values():
        assert row[1:5] == ["4", "4", "0", "0"] and row[5].endswith("%")  # trials, complete, running, failed
    from archsearch.experiment.ledger import open_storage_read_only

    storage = open_storage_read_only(postgres_url)
    for study in storage.get_all_studies():
        keys = [t.user_attrs.get("key") for t in storage.get_all_trials(study._study_id, deepcopy=False)]
        assert len(keys) == 4 and not [k for k, n in Counter(keys).items() if n > 1]
    shown = subprocess.run(cli_argv("show", "alpha", "--runs-dir", str(tmp_path / "runs")), env=cli_env(),
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "4 complete" in shown.stdout, shown.stderr


def test_one_writer_per_run_across_machines_through_the_server(postgres_url):
    """Run directories on two machines share no lock file: the server's advisory lock on the study refuses the
    second writer of one run name (and is released when the first one's connection ends)."""
    from archsearch.errors import RunInUseError
    from archsearch.experiment.ledger import OptunaLedger

    first = OptunaLedger(postgres_url, "gamma")
    with pytest.raises(RunInUseError, match="run gamma is in use by another writer of the ledger"):
        OptunaLedger(postgres_url, "gamma")
    first.close()
    OptunaLedger(postgres_url, "gamma").close()  # free again
