"""Read a finished (or running) run back: its resolved config, `result.json` and the trial ledger.

The ledger is Optuna's storage (SQLite `ledger.db` in the run directory by default, or the run's `storage` URL),
so reading it needs nothing but Optuna: reports, `archsearch show` and `export` work on a run whether or not the
method that wrote it is importable, and while it is still running. Its trials come back as the ledger's own
`TrialRecord`s, read by the same `LedgerReader` the writing ledger reads through.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archsearch.errors import ArchsearchError, DamagedRunError, UsageError
from archsearch.experiment.checks import default_runs_dir
from archsearch.experiment.ledger import LedgerReader, TrialRecord, redact_url, open_storage_read_only

# Objectives the ledger records (its trial format: docs/architecture.md, "The ledger"): maximise accuracy, minimise
# the costs.
MAXIMISED = ("accuracy",)
COSTS = ("macs", "params", "latency_ms")


@dataclass
class RunRecord:
    """A run directory: ``config`` (config.yaml), ``result`` (result.json, None while running), the ledger."""

    run_dir: Path
    config: dict[str, Any]
    result: dict[str, Any] | None
    damage: str | None = None  # why the run cannot be read (`list_runs` lists damaged runs too)

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.run_dir.name)

    @property
    def method(self) -> str:
        return str(self.config.get("method") or "?")

    @property
    def space_spec(self) -> dict[str, Any]:
        """``{"name": ..., "options": {...}}`` whatever shape config.yaml gives the space in."""
        space = self.config.get("space_spec") or self.config.get("space")
        options = self.config.get("space_options") or {}
        if isinstance(space, dict):
            return {"name": space.get("name"), "options": dict(space.get("options") or options)}
        return {"name": space, "options": dict(options)}

    @property
    def storage_url(self) -> str:
        storage = self.config.get("storage")
        if storage:
            return str(storage)
        return f"sqlite:///{(self.run_dir / 'ledger.db').resolve()}"

    @property
    def accuracy(self) -> dict[str, str]:
        """What the search's accuracies are: ``{"kind", "label", "metric"}`` (e.g. label "supernet acc.")."""
        from archsearch.accuracy import recorded_accuracy

        return recorded_accuracy(self.config, self.result or {})

    @property
    def final(self) -> dict[str, Any] | None:
        """result.json's ``final`` block: the chosen arch trained from scratch (test acc.), None without one."""
        final = (self.result or {}).get("final")
        return final if isinstance(final, dict) else None

    def status(self) -> str:
        from archsearch.experiment.lock import holder_alive, read_holder

        if self.damage is not None:
            return "damaged"
        if self.result is not None:
            return "done"
        if (self.run_dir / "failed.json").is_file():  # ended in an error resuming would repeat (diverged, ...)
            return "failed"
        holder = read_holder(self.run_dir)
        alive = holder_alive(holder)
        if alive:
            return f"running (pid {holder.get('pid')})"
        if alive is None:
            return f"running? (pid {holder.get('pid')} on {holder.get('host')})"
        return "incomplete"

    # -- ledger -------------------------------------------------------------------------------------------------
    def trials(self) -> list[TrialRecord]:
        """Every ledger trial in trial-number order ([] when the run has no ledger yet)."""
        ledger = self.ledger()
        return [] if ledger is None else ledger.trials()

    def completed(self) -> list[TrialRecord]:
        return [t for t in self.trials() if t.state == "complete" and "accuracy" in t.objectives]

    def ledger(self) -> LedgerReader | None:
        """The run's study in its ledger, opened read-only (reading a run never writes its ledger); None when the
        run has no ledger yet."""
        import optuna

        if self.damage is not None:
            raise DamagedRunError(f"run {self.name!r} is damaged: {self.damage}")
        url = self.storage_url
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            storage = open_storage_read_only(url)
            names = [s.study_name for s in storage.get_all_studies()]
        except ArchsearchError as err:
            raise DamagedRunError(f"run {self.name!r}: {err}") from None
        except Exception as err:  # a broken database or unreachable server: say which, in one line
            raise DamagedRunError(f"cannot read the ledger of run {self.name!r} at {redact_url(url)}: "
                                  f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
        if not names:
            return None
        wanted = self.config.get("study_name") or self.name
        study_name = wanted if wanted in names else (names[0] if len(names) == 1 else None)
        if study_name is None:
            raise UsageError(f"ledger {redact_url(url)} holds studies {names} but none named {wanted!r}")
        try:
            return LedgerReader.load(storage, study_name)
        except Exception as err:
            raise DamagedRunError(f"cannot read the ledger of run {self.name!r} at {redact_url(url)}: "
                                  f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None


# -- finding runs ---------------------------------------------------------------------------------------------------
def list_runs(runs_dir: str | Path | None = None) -> list[RunRecord]:
    """Every run directory under `runs_dir` (those holding a config.yaml), newest first. A run whose files are
    damaged is listed too, with `damage` saying why; it does not hide the others."""
    root = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    if root.exists() and not root.is_dir():
        raise UsageError(f"--runs-dir {str(root)!r} is not a directory")
    if not root.is_dir():
        return []
    dirs = [d for d in root.iterdir() if (d / "config.yaml").is_file()]
    dirs.sort(key=lambda d: (d / "config.yaml").stat().st_mtime, reverse=True)
    records = []
    for directory in dirs:
        try:
            records.append(open_run(directory))
        except ArchsearchError as err:
            records.append(RunRecord(directory, {}, None, damage=_damage_reason(err, directory)))
    return records


def _damage_reason(err: BaseException, directory: Path) -> str:
    text = str(err)
    prefix = f"run {directory.name!r} is damaged: "
    return text[len(prefix):] if text.startswith(prefix) else text


def open_run(run: str | Path, runs_dir: str | Path | None = None) -> RunRecord:
    """A run by directory path or by name under `runs_dir`; an unknown name fails with the closest one."""
    path = Path(run)
    root = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    if not (path / "config.yaml").is_file():
        candidate = root / str(run)
        if (candidate / "config.yaml").is_file():
            path = candidate
        else:
            known = sorted(d.name for d in root.iterdir() if (d / "config.yaml").is_file()) if root.is_dir() else []
            close = difflib.get_close_matches(str(run), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            where = f" (runs in {root}: {', '.join(known)})" if known else f" (no runs in {root})"
            raise UsageError(f"no run {str(run)!r}{hint}{where}")
    damaged = f"run {path.name!r} is damaged: "
    try:
        config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as err:
        raise DamagedRunError(f"{damaged}config.yaml is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise DamagedRunError(f"{damaged}config.yaml cannot be read ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise DamagedRunError(f"{damaged}config.yaml is not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(config, dict):
        raise DamagedRunError(f"{damaged}config.yaml holds a {type(config).__name__}, not a mapping")
    result = None
    result_path = path / "result.json"
    if result_path.is_file():
        try:
            result = json.loads(result_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise DamagedRunError(f"{damaged}result.json is not UTF-8 text (byte {err.start})") from None
        except OSError as err:
            raise DamagedRunError(f"{damaged}result.json cannot be read ({err.strerror})") from None
        except json.JSONDecodeError as err:
            raise DamagedRunError(f"{damaged}result.json is truncated or not JSON ({err.msg} at char "
                                  f"{err.pos})") from None
        if not isinstance(result, dict):
            raise DamagedRunError(f"{damaged}result.json holds a {type(result).__name__}, not an object")
    return RunRecord(path, config, result)


def read_metric_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a run's ``metrics/<series>.jsonl`` as `log_metrics` wrote them (``{"step": ..., **values}``,
    in step order); a torn last line of a run killed mid-write is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows
