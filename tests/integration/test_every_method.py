"""Every registered method, end to end: a smoke run ends with a best arch of its space, a run crashed mid-way and
resumed ends exactly as the uninterrupted one, and `archsearch export` of the run gives a network that loads and
costs what the run says.

The methods come from the method registry, so a new method is covered without touching this file. They all search
one toy space: `mobilenet` at the smoke preset on scikit-learn's digits (8x8 images, a few thousand MACs a network),
which every built-in method accepts (the weight-sharing ones through its supernet, the others by building each
candidate). A method that cannot search it fails here, before its run directory exists, saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from archsearch.cli import main
from archsearch.experiment.checkpoint import CheckpointStore
from archsearch.experiment.run import run
from archsearch.experiment.testing import run_with_crash
from archsearch.export import load_exported, read_arch_document, space_of
from archsearch.methods import method_names
from archsearch.report import open_run
from archsearch.spaces import create_space

pytestmark = pytest.mark.integration

TOY = dict(space="mobilenet", preset="smoke", data="digits", quiet=True)
RUN = "toy"  # one name in every runs directory, so two runs' result.json compare as they are


@pytest.fixture(scope="module", params=method_names())
def finished(request, tmp_path_factory) -> tuple[str, Path, Any]:
    """(method, its run directory, its SearchResult): one uninterrupted smoke run of each registered method."""
    runs = tmp_path_factory.mktemp(f"uninterrupted-{request.param}")
    return request.param, runs / RUN, run(request.param, runs_dir=runs, name=RUN, **TOY)


def test_a_smoke_run_ends_with_a_best_arch_of_the_space_trained_from_scratch(finished):
    method, run_dir, result = finished
    record = open_run(run_dir)
    assert record.status() == "done" and record.method == method
    spec = record.space_spec
    space = create_space(spec["name"], **spec["options"])
    arch = space.space.validate(dict(result.best.arch))  # raises on a choice the space does not have
    assert dict(arch) == dict(result.best.arch) == record.result["best"]["arch"]
    cost = space.cost(arch)
    assert (result.best.objectives["macs"], result.best.objectives["params"]) == (cost.macs, cost.params)
    assert record.completed(), "the ledger holds no evaluation"
    final = record.final  # every smoke preset trains its choice from scratch and scores it on the test set
    assert final is not None and 0.0 <= final["test_accuracy"] <= 1.0


def test_a_run_crashed_mid_way_resumes_to_the_uninterrupted_result(finished, tmp_path):
    """Crashed after half of the uninterrupted run's checkpoints, then resumed: the same result.json (timings
    aside), ledger, metric rows and weight files, bit for bit."""
    method, full_dir, full = finished
    crash_after = max(1, CheckpointStore(full_dir / "checkpoints").counter // 2)
    resumed = run_with_crash(method, crash_after, runs_dir=tmp_path, name=RUN, **TOY)
    resumed_dir = tmp_path / RUN
    assert f"resumed {RUN} from checkpoint {crash_after}" in (resumed_dir / "log.txt").read_text()
    assert dict(resumed.best.arch) == dict(full.best.arch) and resumed.best.objectives == full.best.objectives
    assert _untimed(_json(resumed_dir / "result.json")) == _untimed(_json(full_dir / "result.json"))
    assert _completed_trials(resumed_dir) == _completed_trials(full_dir)
    assert _metric_rows(resumed_dir) == _metric_rows(full_dir)
    weights = _weight_files(full_dir)
    assert weights and _weight_files(resumed_dir) == weights
    for name in weights:
        mine = torch.load(resumed_dir / name, weights_only=True)
        reference = torch.load(full_dir / name, weights_only=True)
        assert mine.keys() == reference.keys(), name
        for key, value in reference.items():
            torch.testing.assert_close(mine[key], value, rtol=0, atol=0, msg=f"{name}: {key}")


def test_export_gives_a_loadable_network_with_the_runs_macs_and_params(finished, capsys):
    method, run_dir, result = finished
    assert main(["export", str(run_dir), "--format", "torchscript"]) == 0
    assert "weights: trained" in capsys.readouterr().out  # the final training's weights
    directory = run_dir / "export" / "rank1"
    document = read_arch_document(directory)
    assert document["arch"] == dict(result.best.arch) and document["source"]["method"] == method
    model = load_exported(directory)  # rebuilt from arch.json, model.pt loaded key for key
    input_shape = tuple(space_of(document).input_shape)
    assert _measured(model, input_shape) == (result.best.objectives["macs"], result.best.objectives["params"])
    scripted = torch.jit.load(str(directory / "model.torchscript.pt"))  # loads without archsearch's classes
    x = torch.randn(4, *input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), model(x))


# -- what two runs are compared on ------------------------------------------------------------------------------------
def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _untimed(value: Any) -> Any:
    """`value` without what differs between two runs of one computation: measured durations (keys naming seconds,
    or milliseconds as evolution's ``controller_ms``), the finishing time and the run directory."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items()
                if "seconds" not in k and not k.endswith("_ms") and k not in ("finished", "run_dir")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _completed_trials(run_dir: Path) -> list[tuple[str, str, str, str]]:
    """The search ledger's completed trials: (key, arch, objectives, per-epoch values), as JSON (NaN compares)."""
    return sorted((t.attrs["key"], json.dumps(t.arch, sort_keys=True), json.dumps(t.objectives, sort_keys=True),
                   json.dumps(t.per_epoch, sort_keys=True))
                  for t in open_run(run_dir).trials() if t.state == "complete")


def _metric_rows(run_dir: Path) -> dict[str, list[str]]:
    """Every metric series, each row re-serialised without its timings (a NaN then equals a NaN)."""
    return {path.name: [json.dumps(_untimed(json.loads(line)), sort_keys=True)
                        for line in path.read_text(encoding="utf-8").splitlines()]
            for path in sorted((run_dir / "metrics").glob("*.jsonl"))}


def _weight_files(run_dir: Path) -> list[str]:
    """The weights a run leaves (the final training's, a method's supernet or child), relative to its directory;
    checkpoints and exports are not results of the run."""
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*.pt")
                  if p.relative_to(run_dir).parts[0] not in ("checkpoints", "export", "best"))


def _measured(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(MACs as torch's flop counter gives them, halved; parameter count) of one image through `model`."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *input_shape))
    return counter.get_total_flops() // 2, sum(p.numel() for p in model.parameters())
