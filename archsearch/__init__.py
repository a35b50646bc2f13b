"""archsearch: neural architecture search on PyTorch.

``archsearch.run("greedynas", preset="quick")`` runs a search in ``runs/<name>/``; ``archsearch.resume(run_dir)``
continues one; ``archsearch.retrain(arch, space=..., data=..., epochs=..., seeds=...)`` trains an architecture from
scratch and reports its test accuracy. Names are imported on first use, so ``import archsearch`` stays cheap (no torch until needed).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run": "archsearch.api", "resume": "archsearch.api", "compare": "archsearch.api",
    "Arch": "archsearch.space", "Space": "archsearch.space", "Categorical": "archsearch.space",
    "Numeric": "archsearch.space", "LayerChoice": "archsearch.spaces", "InputChoice": "archsearch.spaces",
    "ModuleSpace": "archsearch.spaces", "freeze": "archsearch.spaces", "set_path": "archsearch.spaces",
    "space_from_module": "archsearch.spaces",
    "create_space": "archsearch.spaces", "space_names": "archsearch.spaces", "register_space": "archsearch.spaces",
    "method_names": "archsearch.methods", "register_method": "archsearch.methods",
    "Candidate": "archsearch.methods", "SearchResult": "archsearch.methods",
    "Recipe": "archsearch.train", "train": "archsearch.train", "evaluate": "archsearch.train",
    "load_dataset": "archsearch.data", "parse_constraint": "archsearch.cost",
    "Experiment": "archsearch.experiment", "make_report": "archsearch.report", "export_run": "archsearch.export",
    "load_exported": "archsearch.export",
    "retrain": "archsearch.experiment.retrain", "final_tasks": "archsearch.experiment.retrain",
    "summarise_final": "archsearch.experiment.retrain", "FinalResult": "archsearch.experiment.retrain",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archsearch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
