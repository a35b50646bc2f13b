"""The import contracts of pyproject.toml (layers, no cycles, independent methods and spaces) hold: a new upward
import fails here, in the README's test command, not only in a separate lint step."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support import ROOT


def test_import_contracts_hold():
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
