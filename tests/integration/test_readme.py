"""The README's examples run as written, so a renamed function or flag cannot leave the README behind: every Python
block, and every `archsearch` / `python examples/...` command that uses the `smoke` preset, runs here in a copy of
`examples/`, with the `quick` preset and Fashion-MNIST swapped for `smoke` and digits (seconds, not minutes)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, cli_env

README = (ROOT / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.integration


def _blocks(language: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"^ *```{language}\n(.*?)^ *```", README, re.S | re.M)]


def _small(code: str) -> str:
    return code.replace('preset="quick"', 'preset="smoke"').replace('data="fashion-mnist"', 'data="digits"')


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    """A directory with the README's `examples/` (its data file made), as a newcomer's checkout has it."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("*.npz"))
    subprocess.run([sys.executable, "examples/make_npz.py"], cwd=tmp_path, check=True, env=cli_env(), timeout=120)
    return tmp_path


def test_the_readme_has_the_examples_this_file_runs():
    assert len(_blocks("python")) >= 2 and any("--preset smoke" in b for b in _blocks("bash"))


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_a_python_example_runs(workdir, index):
    code = _small(_blocks("python")[index])
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=cli_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_smoke_commands_run(workdir):
    commands = [line.split("#")[0].strip() for block in _blocks("bash") for line in block.splitlines()]
    commands = [c for c in commands if c.startswith("python examples/") or
                (c.startswith("archsearch ") and "--preset smoke" in c)]
    assert commands, "no smoke command in the README"
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "archsearch":
            argv = [sys.executable, "-c", "import sys; from archsearch.cli import main; sys.exit(main())", *argv[1:]]
        else:
            argv = [sys.executable, *argv[1:]]
        done = subprocess.run(argv, cwd=workdir, env=cli_env(), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
