"""The shared PostgreSQL ledger on a real server: a throwaway PostgreSQL (Debian's `postgresql` package: initdb
and pg_ctl on a Unix socket in a temp dir, no TCP port), the README's ``postgresql://`` URL with exactly what
``archsearch[postgres]`` installs, two searches writing two runs into one database at once, and a third process
listing both with ``archsearch ls --storage URL``. Skipped, saying why, where no server can start. (The ledger
conformance checks run on such a server too: tests/integration/test_ledger.py.)"""

from __future__ import annotations

import subprocess
from collections import Counter
from typing import Iterator

import pytest
from support import cli_argv, cli_env, postgres_server

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

ARGS = ["random", "--space", "hierarchical", "--preset", "smoke", "--data", "digits", "--budget", "4"]


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
    for row in rows.values():  # trials, complete, running, failed, best accuracy, the final training's test acc.
        assert row[1:5] == ["4", "4", "0", "0"] and row[5].endswith("%") and row[6].endswith("%")
    from archsearch.experiment.ledger import open_storage_read_only

    storage = open_storage_read_only(postgres_url)
    for study in storage.get_all_studies():
        keys = [t.user_attrs.get("key") for t in storage.get_all_trials(study._study_id, deepcopy=False)]
        expected = 1 if study.study_name.endswith(":final") else 4  # one seed trains the final
        assert len(keys) == expected and not [k for k, n in Counter(keys).items() if n > 1]
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
