"""What many test modules share: the CLI run in this process or as a new one, and its environment.

(`tests/conftest.py` puts this directory on the import path, so a test module in any tier imports it as
``from support import ...``.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """`archsearch ARGV...` in this process: (exit code, stdout, stderr)."""
    from archsearch.cli import main

    capsys.readouterr()  # what earlier steps of the test printed is not this command's
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_argv(*args: str) -> list[str]:
    """The command line of `archsearch ARGS...` as a new Python process (this checkout's code)."""
    return [sys.executable, "-c", "import sys; from archsearch.cli import main; sys.exit(main())", *args]


def cli_env(**extra: str) -> dict[str, str]:
    """A child process's environment: this checkout first on the path, no progress bars, one OpenMP thread."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "ARCHSEARCH_PROGRESS": "0", "OMP_NUM_THREADS": "1", **extra}
