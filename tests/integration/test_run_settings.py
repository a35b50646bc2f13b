"""A run's config and space are built once, by `resolve_settings`, and handed down; config.yaml stores only what
rebuilds them."""

from __future__ import annotations

import pytest
import yaml

import archsearch.spaces
from archsearch.errors import UsageError
from archsearch.experiment.run import start
from archsearch.experiment.settings import read_settings, resolve_settings
from archsearch.methods import make_config


def test_the_config_and_space_resolved_are_the_runs_and_config_yaml_rebuilds_them(tmp_path, monkeypatch):
    built: list[str] = []
    create = archsearch.spaces.create_space
    monkeypatch.setattr(archsearch.spaces, "create_space", lambda name, **kw: built.append(name) or create(name, **kw))
    settings = resolve_settings("random", preset="smoke", data="digits", name="r", final_epochs=0)
    assert 1 <= len(built) <= 2  # the space as named, and once more only if the data's shape changes its options
    experiment = start(settings, tmp_path, quiet=True)
    try:
        assert experiment.config is settings.method_config and experiment.space is settings.search_space
        assert len(built) <= 2
        document = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
        assert document["method_config"]["final"]["epochs"] == 0  # for readers; the run rebuilds from the options
        assert "search_space" not in document
    finally:
        experiment.release()
    again = read_settings(tmp_path / "r")
    assert again.method_config is None and again.search_space is None
    assert again == settings.portable()
    assert make_config(again.method, again.preset, again.budget, **again.method_options) == settings.method_config


def test_a_run_keeps_the_latency_runtime_it_started_with_when_resumed_under_another(tmp_path, monkeypatch):
    from archsearch.cost.timing import RUNTIME_ENV
    from archsearch.experiment.experiment import Experiment

    monkeypatch.setenv(RUNTIME_ENV, "onnxruntime")
    settings = resolve_settings("random", preset="smoke", data="digits", name="r", final_epochs=0)
    assert settings.latency_runtime == "onnxruntime"
    start(settings, tmp_path, quiet=True).release()
    monkeypatch.delenv(RUNTIME_ENV)  # the resuming shell does not set it
    again = read_settings(tmp_path / "r")
    experiment = Experiment(again, tmp_path / "r", quiet=True)
    try:
        assert experiment.latency_runtime == "onnxruntime"  # what a method's tables are timed in (ctx)
    finally:
        experiment.release()
    monkeypatch.setenv(RUNTIME_ENV, "tensorrt")
    with pytest.raises(UsageError, match="unknown latency runtime 'tensorrt'"):
        resolve_settings("random", preset="smoke", data="digits", name="s")
