"""The run directory's own files, beside the ledger and the checkpoints: ``log.txt``, ``metrics/*.jsonl`` (cut back
to what a resumed checkpoint saw), ``failed.json`` and ``result.json``, and the search as they keep it.

Under torchrun only rank 0 writes them (`main`)."""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from archsearch._atomic import atomic_write_text
from archsearch._json import json_value
from archsearch.methods import Candidate, SavedWeights, SearchResult
from archsearch.tasks.final import FinalResult

RESULT_FILE = "result.json"
FAILED_FILE = "failed.json"  # a run that ended in an error resuming would repeat (diverged, no candidate trained)
LOG_FILE = "log.txt"
METRICS_DIR = "metrics"


def now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


class RunFiles:
    """Writes the run's own files (rank 0 alone: `main`); `quiet` keeps log lines off stderr."""

    def __init__(self, run_dir: Path, *, main: bool, quiet: bool) -> None:
        self.run_dir, self.main, self.quiet = Path(run_dir), main, quiet

    def log(self, message: str) -> None:
        """A line of ``log.txt`` (timestamped), and of stderr unless quiet."""
        if not self.main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / LOG_FILE, "a", encoding="utf-8") as handle:
            handle.write(f"{now()} {message}\n")
        if not self.quiet:
            print(message, file=sys.stderr)

    def log_metrics(self, series: str, step: int, **values: float) -> None:
        """A row of ``metrics/<series>.jsonl`` (the report's curves)."""
        if not self.main:
            return
        directory = self.run_dir / METRICS_DIR
        directory.mkdir(parents=True, exist_ok=True)
        row = {"step": step, **{k: json_value(v) for k, v in values.items()}}
        with open(directory / f"{series}.jsonl", "a", encoding="utf-8") as handle:  # one line per write
            handle.write(json.dumps(row) + "\n")

    def metric_sizes(self) -> dict[str, int]:
        """The metric files' sizes, kept in every checkpoint."""
        directory = self.run_dir / METRICS_DIR
        if not directory.is_dir():
            return {}
        return {p.name: p.stat().st_size for p in directory.glob("*.jsonl")}

    def cut_metrics(self, sizes: Mapping[str, int]) -> None:
        """Drop metric rows written after the checkpoint being resumed (`sizes`): the method writes them again."""
        directory = self.run_dir / METRICS_DIR
        if not self.main or not directory.is_dir():
            return
        for path in directory.glob("*.jsonl"):
            keep = int(sizes.get(path.name, 0))
            if path.stat().st_size > keep:
                with open(path, "r+b") as handle:
                    handle.truncate(keep)

    def write_failed(self, err: BaseException) -> None:
        """``failed.json`` and a ``failed:`` log line: the run ended in an error resuming would only repeat."""
        message = " ".join(str(err).split())
        self.log(f"failed: {message}")
        atomic_write_text(self.run_dir / FAILED_FILE, json.dumps(
            {"error": message, "kind": type(err).__name__, "when": now()}, indent=1) + "\n")

    def write_result(self, document: Mapping[str, Any]) -> None:
        atomic_write_text(self.run_dir / RESULT_FILE, json.dumps(document, indent=1, allow_nan=False,
                                                                 default=str) + "\n")


# -- the search as result.json and checkpoints keep it ---------------------------------------------------------------
def candidate_json(candidate: Candidate) -> dict[str, Any]:
    return {"arch": dict(candidate.arch), "objectives": json_value(dict(candidate.objectives)),
            "attrs": json_value(dict(candidate.attrs))}


def search_json(result: SearchResult) -> dict[str, Any]:
    """The search's part of result.json (and of every later checkpoint): `extra` holds the method's figures, the
    weight files it saved and, once set, the run directory."""
    extra = {**result.extra, **result.weights.to_json()}
    if result.run_dir is not None:
        extra["run_dir"] = str(result.run_dir)
    return {"best": candidate_json(result.best), "pareto_front": [candidate_json(c) for c in result.pareto_front],
            "extra": json_value(extra), "method_final": None if result.final is None else result.final.to_json()}


def search_result(document: Mapping[str, Any], arch: Callable[[Mapping[str, Any]], Any]) -> SearchResult:
    """The finished search, as `search_json` kept it (for a run resumed in its final training); `arch` validates
    an arch against the run's space."""
    def candidate(data: Mapping[str, Any]) -> Candidate:
        return Candidate(arch(data["arch"]), dict(data["objectives"]), dict(data.get("attrs") or {}))

    final = document.get("method_final")
    weights, extra = SavedWeights.split(document.get("extra") or {})
    return SearchResult(candidate(document["best"]), tuple(candidate(c) for c in document["pareto_front"]),
                        extra, None if final is None else FinalResult.from_json(final), weights)


__all__ = ["FAILED_FILE", "LOG_FILE", "METRICS_DIR", "RESULT_FILE", "RunFiles", "candidate_json", "now",
           "search_json", "search_result"]
