"""Damage stays contained: `ls` lists every readable run and names each damaged one with its reason; `show`,
`report` and `export` never write a ledger; a corrupt ledger or checkpoint manifest is named as such; `resume`
refuses a ledger that lost trials its checkpoint saw; the log names the checkpoint actually used."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from archsearch.cli import main
from archsearch.experiment.run import run
from archsearch.experiment.testing import SimulatedCrash, crash_after

pytestmark = pytest.mark.integration  # end to end (docs/architecture.md, "Tests")

OPTIONS = dict(space="hierarchical", preset="smoke", data="digits", seed=5, budget=4, quiet=True)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("finished")
    run("random", runs_dir=root, name="base", **OPTIONS)
    return root / "base"


@pytest.fixture(scope="module")
def crashed(tmp_path_factory) -> Path:
    """An unfinished run with two checkpoints (the store keeps the newest two)."""
    root = tmp_path_factory.mktemp("crashed")
    with pytest.raises(SimulatedCrash), crash_after(3):
        run("random", runs_dir=root, name="base", **OPTIONS)
    return root / "base"


def _copy(source: Path, root: Path, name: str) -> Path:
    target = root / name
    shutil.copytree(source, target)
    config = yaml.safe_load((target / "config.yaml").read_text())
    config["name"] = config["study_name"] = name
    (target / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with sqlite3.connect(target / "ledger.db") as connection:  # the run's studies are named after it (+ ":final")
        connection.execute("UPDATE studies SET study_name = ? || substr(study_name, ?)", (name, len(source.name) + 1))
    connection.close()
    return target


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    return lines[0]


def _corrupt_ledger(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 4096):  # every page after the header page: b-tree pages torn
        data[offset + 8:offset + 200] = b"\xa5" * 192
    path.write_bytes(bytes(data))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ls_lists_every_run_and_names_the_damaged_ones(finished, tmp_path, capsys):
    root = tmp_path / "runs"
    _copy(finished, root, "good")
    _corrupt_ledger(_copy(finished, root, "torn-ledger") / "ledger.db")
    (_copy(finished, root, "latin1-config") / "config.yaml").write_bytes(b"name: caf\xe9\nmethod: random\n")
    result = _copy(finished, root, "cut-result") / "result.json"
    result.write_text(result.read_text()[:40])
    (_copy(finished, root, "emptied-ledger") / "ledger.db").write_bytes(b"")
    assert main(["ls", "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out
    good = next(line for line in out.splitlines() if "good" in line and "damaged" not in line)
    assert "done" in good and "4" in good  # the readable run, with its 4 trials
    reasons = {line.split(": ")[1]: line for line in out.splitlines() if line.startswith("damaged: ")}
    assert set(reasons) == {"torn-ledger", "latin1-config", "cut-result", "emptied-ledger"}, out
    assert "ledger.db is damaged" in reasons["torn-ledger"]
    assert "config.yaml is not UTF-8 text" in reasons["latin1-config"]
    assert "result.json is truncated or not JSON" in reasons["cut-result"]
    assert "is empty (0 bytes)" in reasons["emptied-ledger"]


def test_read_commands_never_write_a_ledger(finished, tmp_path, capsys):
    root = tmp_path / "runs"
    good = _copy(finished, root, "good")
    before = _digest(good / "ledger.db")
    assert main(["show", "good", "--runs-dir", str(root)]) == 0
    assert main(["report", "good", "--runs-dir", str(root)]) == 0
    assert main(["export", "good", "--runs-dir", str(root)]) == 0
    assert _digest(good / "ledger.db") == before
    emptied = _copy(finished, root, "emptied")
    (emptied / "ledger.db").write_bytes(b"")
    for command in ("show", "report", "export"):
        capsys.readouterr()
        assert main([command, "emptied", "--runs-dir", str(root)]) == 1
        line = _one_error_line(capsys)
        assert "ledger.db is empty (0 bytes)" in line, line
        assert (emptied / "ledger.db").stat().st_size == 0  # no fresh schema written into it


def test_a_corrupt_ledger_is_named_not_an_internal_error(finished, tmp_path, capsys):
    root = tmp_path / "runs"
    _corrupt_ledger(_copy(finished, root, "torn") / "ledger.db")
    assert main(["show", "torn", "--runs-dir", str(root)]) == 1
    line = _one_error_line(capsys)
    assert "ledger" in line and "damaged" in line and "torn" in line


@pytest.mark.parametrize("manifest", [{"index": 1}, [{"index": "1", "file": "x.pt"}], [17],
                                      [{"index": 1, "file": "../../etc/passwd", "sha256": "0", "bytes": 3}]])
def test_a_manifest_of_the_wrong_shape_is_named(crashed, tmp_path, capsys, manifest):
    root = tmp_path / "runs"
    run_dir = _copy(crashed, root, "x")
    (run_dir / "checkpoints" / "manifest.json").write_text(json.dumps(manifest))
    assert main(["resume", "x", "--runs-dir", str(root)]) == 1
    line = _one_error_line(capsys)
    assert "checkpoint manifest" in line and "is damaged" in line, line


def test_resume_refuses_an_emptied_ledger_without_writing_it(crashed, tmp_path, capsys):
    root = tmp_path / "runs"
    run_dir = _copy(crashed, root, "x")
    (run_dir / "ledger.db").write_bytes(b"")
    assert main(["resume", "x", "--runs-dir", str(root)]) == 1
    line = _one_error_line(capsys)
    assert "is empty (0 bytes)" in line and "resuming would lose its trials" in line
    assert (run_dir / "ledger.db").stat().st_size == 0 and not (run_dir / "result.json").exists()


def test_resume_refuses_a_ledger_that_lost_trials(crashed, tmp_path, capsys):
    root = tmp_path / "runs"
    run_dir = _copy(crashed, root, "x")
    with sqlite3.connect(run_dir / "ledger.db") as connection:
        connection.execute("DELETE FROM trials WHERE number = 0")
    metrics = {p.name: p.read_bytes() for p in (run_dir / "metrics").glob("*.jsonl")}
    assert main(["resume", "x", "--runs-dir", str(root)]) == 1
    line = _one_error_line(capsys)
    import re

    held, saved = map(int, re.search(r"holds (\d+) trials but checkpoint 3 was saved with (\d+)", line).groups())
    assert held == saved - 1 and "1 trial keys are missing" in line, line
    assert {p.name: p.read_bytes() for p in (run_dir / "metrics").glob("*.jsonl")} == metrics  # nothing cut


def test_the_log_names_the_checkpoint_actually_used(crashed, tmp_path):
    root = tmp_path / "runs"
    run_dir = _copy(crashed, root, "x")
    newest = sorted((run_dir / "checkpoints").glob("ckpt-*.pt"))[-1]
    assert newest.name == "ckpt-000003.pt"
    newest.write_bytes(newest.read_bytes()[:100])  # torn: its checksum fails
    assert main(["resume", "x", "--runs-dir", str(root)]) == 0
    log = (run_dir / "log.txt").read_text()
    assert "ckpt-000003.pt is corrupt or truncated" in log
    assert "resumed x from checkpoint 2" in log and "from checkpoint 3" not in log
