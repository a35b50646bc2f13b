"""Shared test settings: one intra-op thread (2-core CI machines run the suite), headless plots, and the tiers.

Tiers (markers registered in pyproject.toml; docs/architecture.md, "Tests"):
- unit: every test not marked otherwise; runs in seconds each (``python -m pytest -q -m "not integration"``);
- ``integration``: end-to-end tests that run whole searches, resumes, exports or CLI runs (about a second and more
  each); part of the default run;
- ``slow``: long end-to-end tests (torchrun, SIGKILL at random points, Ray worker death); they run only when the
  ``-m`` expression names them (``-m slow``), so ``-m "not integration"`` does not pull them in.
"""

import os
import sys
from pathlib import Path

import matplotlib
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `from support import ...` from a test in any tier

matplotlib.use("Agg")
torch.set_num_threads(1)
os.environ.setdefault("ARCHSEARCH_PROGRESS", "0")  # no progress bars in test logs


@pytest.hookimpl(tryfirst=True)  # before -m selects: the tier marks must be there
def pytest_collection_modifyitems(config, items):
    """The directory is the tier: a test under ``integration/`` or ``slow/`` is end to end (marked `integration`
    if it is not already). Then deselect `slow` tests unless the -m expression mentions them (``-m slow``,
    ``-m "slow or integration"``)."""
    for item in items:
        if Path(str(item.fspath)).parent.name in ("integration", "slow") and not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.integration)
    if "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
