"""Export found architectures as standalone artefacts anyone can load without the search that made them.

Each exported arch gets a directory with
- ``arch.json``: the space (name + options), the arch, its objectives and where it came from; `archsearch train
  arch.json` retrains it and `load_exported(dir)` rebuilds it;
- ``model.pt``: the standalone network's ``state_dict`` (load with ``weights_only=True``);
- optionally ``model.torchscript.pt`` (``torch.jit.load``) and ``model.onnx`` (needs the ``onnx`` extra).

Which weights: the chosen arch (rank 1) gets those of the run's final training when it ran (result.json's
``final.weights``: trained from scratch, the test accuracy is in ``arch.json``). Otherwise a weight-sharing method
leaves them for us in ``result.json``'s ``extra`` --
``"supernet_weights": "<path in run dir>"`` (a supernet ``state_dict``; every exported arch inherits its weights
via ``space.inherit``), ``"weights": {"<arch.key>": "<path>"}`` (standalone ``state_dict``s per arch; a plain
string means the best arch's) or ``"export": "<path of the best arch's model.pt>"``. Methods that train every candidate from scratch (random search, evolution) keep
no weights: the export then holds the seeded initial weights, says so in ``arch.json`` (``"weights": "init"``),
and ``archsearch train arch.json --out DIR`` produces trained ones (`plan_training`, then `train_arch`).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn as nn

from archsearch._atomic import atomic_path
from archsearch.errors import ArchsearchError, CheckpointError, ConfigError, UsageError, unknown_name
from archsearch.methods import weights_key
from archsearch.report import RunRecord, open_run
from archsearch.report.common import leaderboard

FORMATS = ("json", "torchscript", "onnx")
ONNX_HINT = "pip install 'archsearch[onnx]'"


@dataclass(frozen=True)
class ExportedArch:
    rank: int
    directory: Path
    arch: dict[str, Any]
    weights: str  # "supernet" (inherited), "trained" (a method's or `train`'s weights) or "init"
    files: dict[str, Path] = field(default_factory=dict)


# -- arch documents -----------------------------------------------------------------------------------------------
def arch_document(space: str, space_options: Mapping[str, Any], arch: Mapping[str, Any], *,
                  objectives: Mapping[str, float] | None = None, source: Mapping[str, Any] | None = None,
                  weights: str | None = None) -> dict[str, Any]:
    """The JSON an exported arch is described by (also what `archsearch train` reads)."""
    doc: dict[str, Any] = {"space": space, "space_options": dict(space_options), "arch": dict(arch)}
    if objectives:
        doc["objectives"] = {k: float(v) for k, v in objectives.items()}
    if source:
        doc["source"] = dict(source)
    if weights:
        doc["weights"] = weights
    return doc


def read_arch_document(path: str | Path, *, space: str | None = None,
                       space_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read an arch.json: either our document, or a plain ``{choice: value}`` object plus ``space``."""
    path = Path(path)
    if path.is_dir():
        path = path / "arch.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no arch file {str(path)!r}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    if "arch" in data and isinstance(data["arch"], dict):
        doc = dict(data)
        if space is not None:
            doc["space"] = space
        if space_options:
            doc["space_options"] = {**(doc.get("space_options") or {}), **space_options}
    else:
        if space is None:
            raise UsageError(f"{path} holds a bare arch; say which space it belongs to with --space")
        doc = arch_document(space, space_options or {}, data)
    if not doc.get("space"):
        raise ConfigError(f"{path} names no space; pass --space")
    doc.setdefault("space_options", {})
    return doc


def space_of(doc: Mapping[str, Any]):
    """The `SearchSpace` an arch document belongs to, rebuilt by name."""
    from archsearch.spaces import create_space

    return create_space(str(doc["space"]), **dict(doc.get("space_options") or {}))


def build_model(doc: Mapping[str, Any], *, seed: int = 0) -> tuple[nn.Module, Any]:
    """(fresh standalone network for ``doc["arch"]`` with seeded init, its `SearchSpace`)."""
    search_space = space_of(doc)
    arch = search_space.space.validate(doc["arch"])
    from archsearch.train.task import seeded

    with seeded(seed):
        model = search_space.build(arch)
    return model, search_space


def load_exported(directory: str | Path, *, weights: bool = True) -> nn.Module:
    """Rebuild an exported network from ``arch.json`` and load ``model.pt`` (eval mode)."""
    directory = Path(directory)
    doc = read_arch_document(directory)
    model, _ = build_model(doc)
    if weights:
        state = _load_state(directory / "model.pt")
        model.load_state_dict(state)
    return model.eval()


# -- saving one model ---------------------------------------------------------------------------------------------
def save_model(model: nn.Module, directory: Path, input_shape: Sequence[int], formats: Sequence[str]) -> dict[str, Path]:
    """Write model.pt (always) and the requested extra formats, each atomically (an export killed midway leaves
    the old files or the new ones); returns {format: path}."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise unknown_name("export format", fmt, FORMATS)
    if "onnx" in formats:
        require_onnx()
    directory.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    files = {"state_dict": directory / "model.pt"}
    with atomic_path(files["state_dict"]) as tmp:
        torch.save(model.state_dict(), tmp)
    example = torch.randn(1, *input_shape, generator=torch.Generator().manual_seed(0))
    if "torchscript" in formats:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks traced as constants: intended
            traced = torch.jit.trace(model, example, check_trace=False)
        files["torchscript"] = directory / "model.torchscript.pt"
        with atomic_path(files["torchscript"]) as tmp:
            traced.save(str(tmp))
    if "onnx" in formats:
        files["onnx"] = directory / "model.onnx"
        try:
            with atomic_path(files["onnx"]) as tmp:
                torch.onnx.export(model, (example,), str(tmp), input_names=["images"], output_names=["logits"],
                                  dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
        except ImportError as err:
            raise ArchsearchError(f"ONNX export needs the onnx extra ({err}); install it with: {ONNX_HINT}") from None
    return files


def require_onnx() -> None:
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise ArchsearchError(f"ONNX export needs {' and '.join(missing)}, which are not installed; "
                              f"install the extra with: {ONNX_HINT}")


# -- retraining an arch file --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchTraining:
    """An arch file's retraining, resolved and checked before it starts (`plan_training`), so a front end can say
    what it trains, and on which data, before the epochs go by."""

    doc: dict[str, Any]
    data: str
    data_dir: str | None
    image_size: int | None
    split: dict[str, Any]
    recipe: dict[str, Any]
    epochs: int
    seed: int
    threads: int
    device: str | None
    train_images: int


@dataclass(frozen=True)
class TrainedArch:
    """What `train_arch` gives back: the test accuracy, how long training took and on how many test images."""

    test_accuracy: float
    seconds: float
    test_images: int
    files: dict[str, Path] = field(default_factory=dict)  # "arch", "state_dict": the trained export, with `out`


def plan_training(path: str | Path, *, epochs: int = 10, space: str | None = None,
                  space_options: Mapping[str, Any] | None = None, recipe_file: Path | None = None,
                  overrides: Sequence[str] | None = None, data: str | None = None, data_dir: str | None = None,
                  val_size: int = 0, seed: int = 0, threads: int = 0, device: str | None = None) -> ArchTraining:
    """Read an arch file and resolve its retraining: the recipe is the file's own (a run's best/arch.json holds its
    final recipe), then `recipe_file`, then the ``--set`` `overrides`; the data is the one the arch was searched on
    (resized as the search did), else fashion-mnist; `val_size` training images are held out."""
    from archsearch.experiment.options import merge_recipe_fields
    from archsearch.train.task import cached_splits

    if epochs < 1:
        raise UsageError(f"--epochs must be >= 1, got {epochs}")
    if val_size < 0 or threads < 0:
        raise UsageError(f"--val-size and --threads must be >= 0, got {val_size} and {threads}")
    doc = read_arch_document(path, space=space, space_options=space_options)
    recipe = merge_recipe_fields(doc.get("recipe"), recipe_file, overrides)
    source = doc.get("source") or {}
    data = data or source.get("data") or "fashion-mnist"
    data_dir = data_dir or source.get("data_dir")
    image_size = source.get("image_size") if data == source.get("data") else None
    split = {"val_size": val_size, "small_val_size": 0, "seed": seed}
    train_images = len(cached_splits(data, data_dir, split, image_size).train)
    return ArchTraining(doc, data, data_dir, image_size, split, recipe, epochs, seed, threads, device, train_images)


def train_arch(training: ArchTraining, *, out: str | Path | None = None,
               on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TrainedArch:
    """Train the arch from scratch (`retrain`, one seed) and test it; with `out`, save it there as a trained
    export: model.pt and arch.json with a ``retrained`` block. `on_epoch(metrics)` follows the training."""
    from archsearch._atomic import atomic_write_text
    from archsearch.experiment.retrain import retrain
    from archsearch.train.task import cached_dataset

    doc = training.doc
    final = retrain(doc["arch"], space=doc["space"], space_options=doc.get("space_options"), data=training.data,
                    data_dir=training.data_dir, image_size=training.image_size, split=training.split,
                    epochs=training.epochs, seeds=[training.seed], recipe=training.recipe, threads=training.threads,
                    device=training.device, keep_weights=out is not None,
                    on_epoch=None if on_epoch is None else lambda seed, epoch, metrics: on_epoch(metrics))
    if final.test_accuracy is None:
        raise ArchsearchError(f"training failed: {final.errors[0]}")
    files: dict[str, Path] = {}
    if out is not None:
        model, search_space = build_model(doc)
        model.load_state_dict(final.weights[0])
        files = save_model(model, Path(out), search_space.input_shape, [])
        files["arch"] = Path(out) / "arch.json"
        retrained = {"epochs": training.epochs, "data": training.data, "seed": training.seed, "recipe": final.recipe,
                     "test_accuracy": final.test_accuracy}
        atomic_write_text(files["arch"], json.dumps({**doc, "weights": "trained", "retrained": retrained},
                                                    indent=1) + "\n")
    test_images = len(cached_dataset(training.data, training.data_dir, training.image_size).y_test)
    return TrainedArch(final.test_accuracy, final.seconds, test_images, files)


# -- exporting a run ----------------------------------------------------------------------------------------------
def export_run(run: str | Path | RunRecord, *, top: int = 1, format: str = "json", runs_dir: str | Path | None = None,
               out_dir: str | Path | None = None) -> list[ExportedArch]:
    """Export the run's best arch (the method's choice) and the next best from the ledger, `top` in all."""
    if top < 1:
        raise UsageError(f"--top must be >= 1, got {top}")
    if format not in FORMATS:
        raise unknown_name("export format", format, FORMATS)
    formats = [format] if format != "json" else []
    if format == "onnx":
        require_onnx()  # fail before any work
    record = run if isinstance(run, RunRecord) else open_run(run, runs_dir)
    picks = _top_archs(record, top)
    if not picks:
        raise UsageError(f"run {record.name!r} has no finished architecture to export yet (no result.json and no "
                         "completed trials)")
    out_root = Path(out_dir) if out_dir is not None else record.run_dir / "export"
    weights_cache: dict[str, Any] = {}
    return [_export_one(record, rank, arch, objectives, out_root / f"rank{rank}", formats, weights_cache, recipe)
            for rank, (arch, objectives, recipe) in enumerate(picks, 1)]


def export_best(run: str | Path | RunRecord, *, runs_dir: str | Path | None = None,
                directory: str | Path | None = None) -> ExportedArch:
    """The run's chosen arch as ``RUN/best/``: arch.json (with the final training's block and recipe, which
    `archsearch train` starts from) and model.pt: the final training's weights when it ran, else the method's
    (supernet-inherited or its own), else the seeded initial ones."""
    record = run if isinstance(run, RunRecord) else open_run(run, runs_dir)
    picks = _top_archs(record, 1)
    if not picks:
        raise UsageError(f"run {record.name!r} has no finished architecture yet")
    arch, objectives, recipe = picks[0]
    return _export_one(record, 1, arch, objectives, Path(directory) if directory else record.run_dir / "best", [], {},
                       recipe)


def write_best(record: RunRecord) -> str | None:
    """`export_best` at the end of a run, or why it could not be written: a space that cannot rebuild the arch
    outside the search costs this copy, not the run (result.json holds everything; `export` gives the full error)."""
    try:
        export_best(record)
    except Exception as err:  # noqa: BLE001 - said in one line
        return f"could not write {record.run_dir / 'best'}: {' '.join(str(err).split())}"
    return None


def _export_one(record: RunRecord, rank: int, arch: dict[str, Any], objectives: dict[str, float], directory: Path,
                formats: Sequence[str], cache: dict[str, Any], recipe: Mapping[str, Any] | None = None) -> ExportedArch:
    """One exported arch in `directory`: arch.json and model.pt (+ `formats`); `cache` keeps a loaded supernet.
    `recipe`: the training recipe searched with the arch (NARS on a plain space), which `archsearch train` then
    uses when no final training's recipe is known."""
    spec = record.space_spec
    if not spec.get("name"):
        raise ConfigError(f"run {record.name!r}: config.yaml names no space")
    extra = (record.result or {}).get("extra") or {}
    final = record.final if rank == 1 else None
    doc = arch_document(spec["name"], spec["options"], arch, objectives=objectives,
                        source={"run": record.name, "method": record.method, "rank": rank,
                                "data": record.config.get("data"), "data_dir": record.config.get("data_dir"),
                                "image_size": record.config.get("image_size")})
    doc["accuracy"] = record.accuracy  # what `objectives["accuracy"]` is (e.g. supernet acc.)
    if final:
        doc["final"] = {k: v for k, v in final.items() if k not in ("recipe", "weights")}
        doc["recipe"] = dict(final.get("recipe") or {})  # `archsearch train` retrains with it by default
    if not doc.get("recipe") and recipe:
        doc["recipe"] = dict(recipe)  # the recipe searched with the arch, not Recipe's defaults
    model, search_space = build_model(doc, seed=int(record.config.get("seed") or 0))
    key = search_space.space.validate(arch).key
    weights = "init"
    weight_path = _weights_for(record.run_dir, extra, key, rank, final, recipe)
    if weight_path is not None:
        model.load_state_dict(_load_state(weight_path))
        weights = "trained"
    elif extra.get("supernet_weights"):
        if "supernet" not in cache:
            cache["supernet"] = search_space.supernet()
            cache["supernet"].load_state_dict(_load_state(record.run_dir / extra["supernet_weights"]))
        child = search_space.inherit(cache["supernet"], search_space.space.validate(arch))
        model.load_state_dict(child.state_dict())  # proves the child is the standalone net, key for key
        weights = "supernet"
    doc["weights"] = weights
    if directory.exists():
        shutil.rmtree(directory)
    files = save_model(model, directory, search_space.input_shape, formats)
    files["arch"] = directory / "arch.json"
    files["arch"].write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return ExportedArch(rank, directory, dict(arch), weights, files)


def _top_archs(record: RunRecord, top: int) -> list[tuple[dict[str, Any], dict[str, float], dict[str, Any] | None]]:
    """The method's best first (result.json), then the ledger's leaderboard, then the Pareto front; no repeats.
    Each with the training recipe searched with it (the ``recipe`` attribute NARS gives its candidates, the
    ``searched_recipe`` of its final trainings), or None."""
    picks: list[tuple[dict[str, Any], dict[str, float], dict[str, Any] | None]] = []
    seen: set[str] = set()

    def add(arch: Any, objectives: Any, attrs: Any) -> None:
        if not isinstance(arch, dict):
            return
        recipe = attrs.get("searched_recipe", attrs.get("recipe")) if isinstance(attrs, Mapping) else None
        recipe = dict(recipe) if isinstance(recipe, Mapping) else None
        # an arch with another searched recipe is another network (NARS: two targets, one arch, two recipes)
        key = json.dumps([arch, recipe], sort_keys=True)
        if key not in seen and len(picks) < top:
            seen.add(key)
            picks.append((arch, {k: v for k, v in (objectives or {}).items() if isinstance(v, (int, float))},
                          recipe))

    result = record.result or {}
    best = result.get("best") or {}
    add(best.get("arch"), best.get("objectives"), best.get("attrs"))
    for trial in leaderboard(record.trials()):
        objectives = dict(trial.objectives)
        for cost in ("macs", "params", "latency_ms"):
            if trial.metric(cost) is not None:
                objectives.setdefault(cost, trial.metric(cost))
        add(trial.arch, objectives, trial.attrs)
    for candidate in result.get("pareto_front") or []:
        add(candidate.get("arch"), candidate.get("objectives"), candidate.get("attrs"))
    return picks


def _weights_for(run_dir: Path, extra: Mapping[str, Any], key: str, rank: int,
                 final: Mapping[str, Any] | None = None, recipe: Mapping[str, Any] | None = None) -> Path | None:
    """The trained standalone weights of this arch: the final training's (the chosen arch, rank 1), else those a
    method left: ``weights`` ({arch.key: path} or the best's path) or ``export`` (the best's ``model.pt``, or a
    directory holding it), relative to the run dir or absolute."""
    if final and final.get("weights") and _in_run(run_dir, str(final["weights"])).is_file():
        return _in_run(run_dir, str(final["weights"]))
    per_arch = extra.get("weights")
    if isinstance(per_arch, dict):  # keyed by arch, or by arch and recipe (`weights_key`)
        found = per_arch.get(weights_key(key, recipe)) or per_arch.get(key)
        return _in_run(run_dir, found) if found else None
    if rank != 1:
        return None
    for entry in (per_arch, extra.get("export")):
        if isinstance(entry, str) and entry:
            path = _in_run(run_dir, entry)
            return path / "model.pt" if path.is_dir() else path
    return None


def _in_run(run_dir: Path, path: str) -> Path:
    """A path a method recorded; when the run directory was moved, the same relative place in it."""
    candidate = run_dir / path
    if candidate.exists() or not Path(path).is_absolute():
        return candidate
    parts = Path(path).parts
    for i in range(len(parts) - 1, 0, -1):  # the longest suffix that exists under the run dir now
        moved = run_dir.joinpath(*parts[i:])
        if moved.exists():
            return moved
    return candidate


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from a file: plain, or under a "model" / "state_dict" / "supernet" key of a checkpoint."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"weights file {path} is missing") from None
    except Exception as err:
        raise CheckpointError(f"cannot read weights {path}: {err}") from None
    for key in ("state_dict", "model", "supernet"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state_dict")
    return state
