"""The typed seam between methods and the experiment layer, checked statically: mypy --strict on the protocols
methods are written against (`methods/context.py`, `_registry.py`) and the whole experiment layer that implements
them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import ROOT

TYPED_SEAM = ["archsearch/methods/context.py", "archsearch/_registry.py"] + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "archsearch" / "experiment").glob("*.py"))

pytestmark = pytest.mark.integration  # a cold mypy reads torch's annotations: ~20 s


def test_the_seam_passes_mypy_strict():
    pytest.importorskip("mypy")
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", *TYPED_SEAM], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
    assert "no issues found" in done.stdout
