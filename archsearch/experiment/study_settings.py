"""A comparison study's settings, checked before anything is created: the methods (a method name, or a method
with options of its own: ``random[successive_halving=true]``), the common problem, the judge's sizes per preset,
the CPU-seconds targets, and the bookkeeping every part of a study shares (search keys, the K random archs)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from typing import Any, Mapping, Sequence

import numpy as np

from archsearch.errors import ConfigError, UsageError

STUDY_FILE = "study.yaml"
STATE_FILE = "study_state.json"
COMPARE_JSON = "compare.json"
PROTOCOL = 2  # 2: per-search means, two seeds per random arch, reference, proxy scores, several targets
# The judgement's sizes per preset (sizes only: the protocol is the same everywhere). reference_epochs None: 4 x E.
JUDGE_PRESETS: dict[str, dict[str, Any]] = {
    # paper: the papers retrain found nets for hundreds of epochs on GPUs; 30 epochs keep a study of 8 methods
    # feasible while ranking nets by trained accuracy (interpretation, not a paper value)
    "paper": {"final_epochs": 30, "retrain_seeds": 3, "random_archs": 50, "train_images": None,
              "reference_epochs": None, "reference_archs": 10},
    # quick: Fashion-MNIST on 2 CPU cores: each retraining sees 16,000 training images (as many as the bundled
    # subset has, so a study on either judges alike) and the whole test set
    "quick": {"final_epochs": 1, "retrain_seeds": 2, "random_archs": 16, "train_images": 16000,
              "reference_epochs": None, "reference_archs": 8},
    "smoke": {"final_epochs": 3, "retrain_seeds": 2, "random_archs": 6, "train_images": None,
              "reference_epochs": None, "reference_archs": 3},
}
PILOT_FRACTIONS = (1 / 16, 1 / 4)  # the pilots' shares of the preset budget: two points of the cost line
PROBE_REACH = 4  # a budget is read off the cost line at most this many times beyond the largest one measured
RANDOM_SEEDS = (1000, 2000)  # random arch k is retrained with seeds 1000 + k and 2000 + k
CHOSEN_SEED = 1000  # chosen arch retraining r: seed 1000 + r
POWER = 0.8  # the detectable difference: the shift the test finds with this probability (Cohen's convention)
ALPHA = 0.05


@dataclasses.dataclass
class StudySettings:
    """Everything that defines a study; written to study.yaml, read back by `resume_study`."""

    name: str
    methods: list[str]
    space: Any = "mobilenet"  # the common space every method searches, so the study compares methods
    preset: str = "quick"
    data: Any = "fashion-mnist"  # a name or path (a `Dataset` given to `compare` is saved as the study's data.npz)
    data_dir: str | None = None
    image_size: int | None = None  # an image folder's images resized to this (as for run)
    constraints: list[str] = dataclasses.field(default_factory=list)
    seeds: int = 2  # search seeds 0 .. seeds-1, the same for every method
    cpu_budget: list[float] | None = None  # search CPU-seconds per search, one study per target; None: the median
    #                                        of the methods' preset costs
    budgets: dict[str, float] = dataclasses.field(default_factory=dict)  # method -> budget, skips its calibration
    final_epochs: int | None = None  # E; None: JUDGE_PRESETS
    retrain_seeds: int | None = None  # R retraining seeds per chosen arch; None: JUDGE_PRESETS
    random_archs: int | None = None  # K uniform draws under the constraints; None: JUDGE_PRESETS
    train_images: int | None = None  # the judgement trains on at most N images (a fixed draw); None: JUDGE_PRESETS
    reference_epochs: int | None = None  # the reference training's epochs; None: 4 x E
    reference_archs: int | None = None  # how many random archs get the reference training; None: JUDGE_PRESETS
    recipe: dict[str, Any] = dataclasses.field(default_factory=dict)  # the one judging recipe (Recipe fields)
    executor: str = "local"
    workers: int | None = None  # parallel processes (local) or Ray workers; None: one per core
    ray_address: str | None = None
    device: str | None = None
    protocol: int = PROTOCOL

    def judge(self, key: str) -> int:
        """A judge size (given, else the preset's)."""
        value = self.judge_or_none(key)
        if value is None:
            raise ConfigError(f"compare {key} has no value (preset {self.preset!r}): give one")
        return value

    def judge_or_none(self, key: str) -> int | None:
        """A judge size that may be None (train_images: every image)."""
        value = getattr(self, key)
        value = JUDGE_PRESETS[self.preset][key] if value is None else value
        if key == "reference_epochs" and value is None:
            return 4 * self.judge("final_epochs")
        if key == "reference_archs":  # a preset's default is at most the K random archs
            value = min(int(value), self.judge("random_archs"))
        return None if value is None else int(value)


def resolve_study(methods: Sequence[str] | str, *, name: str | None = None, **options: Any) -> StudySettings:
    """Check every input before anything is created (one clear error naming what is wrong)."""
    from archsearch.methods import PRESET_NAMES
    from archsearch.train.recipe import Recipe

    if isinstance(methods, str):
        methods = split_methods(methods)
    methods = list(dict.fromkeys(m.strip() for m in methods))
    if not methods:
        raise UsageError("compare needs at least one method (--methods random,spos,...)")
    fields = {f.name for f in dataclasses.fields(StudySettings)}
    unknown = sorted(set(options) - fields)
    if unknown:
        from archsearch.errors import unknown_name

        raise unknown_name("compare option", unknown[0], sorted(fields - {"name", "methods", "protocol"}))
    if isinstance(options.get("constraints"), str):
        options["constraints"] = [options["constraints"]]
    options = {k: v for k, v in options.items() if v is not None}
    if "cpu_budget" in options:
        options["cpu_budget"] = cpu_budgets(options["cpu_budget"])
    name = name or f"study-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    settings = StudySettings(name=name, methods=methods, **options)
    if settings.preset not in PRESET_NAMES:
        from archsearch.errors import unknown_name

        raise unknown_name("preset", settings.preset, PRESET_NAMES)
    for key, low in (("seeds", 1), ("final_epochs", 1), ("retrain_seeds", 1), ("random_archs", 2),
                     ("train_images", 1), ("reference_epochs", 1), ("reference_archs", 0), ("workers", 1)):
        value = getattr(settings, key)
        if key != "seeds" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < low:
            raise ConfigError(f"compare {key}={value!r} is invalid: must be an integer >= {low}")
    if settings.reference_archs is not None and settings.reference_archs > settings.judge("random_archs"):
        raise ConfigError(f"compare reference_archs={settings.reference_archs} is more than the "
                          f"{settings.judge('random_archs')} random archs")
    Recipe.from_dict(settings.recipe)  # unknown or bad recipe fields fail here
    for method, budget in settings.budgets.items():
        if method not in methods:
            raise ConfigError(f"compare budgets name {method!r}, which is not among --methods {methods}")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < math.inf:
            raise ConfigError(f"compare budget of {method} = {budget!r} is invalid: must be a positive number")
    for label in methods:  # each method on the common space: an unfit method is named now, not mid-study
        _resolve(settings, label)
    _random_space(settings)  # an impossible constraint fails now
    return settings


def split_methods(text: str) -> list[str]:
    """``"random,random[successive_halving=true,epochs=4]"`` -> its entries (commas inside brackets stay)."""
    entries, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            entries.append(current)
            current = ""
        else:
            current += char
    return [e.strip() for e in entries + [current] if e.strip()]


def method_variant(label: str) -> tuple[str, dict[str, Any]]:
    """A study's method entry: a method name, or a name with options of its own, as ``--set`` would give them
    (``random[successive_halving=true,epochs=4]``), so one study compares a method with a variant of it."""
    from archsearch.experiment.options import parse_assignments

    name, bracket, rest = label.partition("[")
    if not bracket:
        return label, {}
    if not rest.endswith("]"):
        raise UsageError(f"method entry {label!r} must look like METHOD[field=value,...]")
    return name.strip(), parse_assignments(split_methods(rest[:-1]), f"method entry {label!r}:")


def _resolve(settings: StudySettings, label: str, name: str | None = None) -> Any:
    """The run settings of one of the study's method entries (its own options over the study's)."""
    from archsearch.experiment.settings import resolve_settings

    method, own = method_variant(label)
    return resolve_settings(method, **_run_options(settings, seed=0, name=name or f"{method}-s0"), **own)


def cpu_budgets(value: Any) -> list[float]:
    """``150``, ``"150,600"`` or ``[150, 600]`` -> the sorted distinct CPU-second targets (each positive)."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    targets = []
    for item in items:
        try:
            target = float(item.strip()) if isinstance(item, str) else float(item)
        except (TypeError, ValueError):
            target = math.nan
        if isinstance(item, bool) or not 0 < target < math.inf:
            raise ConfigError(f"compare cpu_budget={value!r} is invalid: each target must be a positive number of "
                              "CPU-seconds (e.g. 150 or 150,600,2400)")
        targets.append(target)
    if not targets:
        raise ConfigError(f"compare cpu_budget={value!r} is invalid: give at least one target")
    return sorted(set(targets))


def _run_options(settings: StudySettings, *, seed: int, name: str, budget: float | None = None,
                 proxy_archs: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    return {"space": settings.space, "preset": settings.preset, "data": settings.data, "data_dir": settings.data_dir,
            "image_size": settings.image_size,
            "constraints": list(settings.constraints), "seed": seed,
            "executor": settings.executor if settings.executor != "local" else None,
            "workers": 1 if settings.executor == "local" else settings.workers,  # a local study is the parallel layer
            "ray_address": settings.ray_address, "device": settings.device, "name": name, "budget": budget,
            "proxy_archs": proxy_archs,
            "final_epochs": 0}  # the study judges every chosen net itself: its searches skip their own retraining


def search_key(method: str, budget: float, seed: int) -> str:
    return f"{method}-b{budget:g}-s{seed}"


def parse_search_key(key: str) -> tuple[str, float, int]:
    method, budget, seed = key.rsplit("-", 2)
    return method, float(budget[1:]), int(seed[1:])


def _random_space(settings: StudySettings) -> Any:
    """The common space as its runs build it (options resolved against the data), with the constraints checked."""
    from archsearch.spaces import create_space

    resolved = _resolve(settings, settings.methods[0], "probe")
    space = create_space(resolved.space["name"], **resolved.space["options"])
    random_archs(settings, space, count=1)
    return space


def random_archs(settings: StudySettings, space: Any, count: int | None = None) -> list[Any]:
    """K uniform draws under the study's constraints (rejection sampling), the same for every study."""
    from archsearch.cost.constraints import cost_predicate, parse_constraints

    within = cost_predicate(parse_constraints(settings.constraints), space.cost)
    rng = np.random.default_rng([20, 24, 1])  # fixed: the baseline distribution is part of the protocol
    return [space.space.sample(rng, where=within) for _ in range(count or settings.judge("random_archs"))]


def _over_budget(pilot: Mapping[str, Any] | None, target: float | None) -> bool:
    """Even the method's smallest pilot budget cost more than the target: it ran at that budget, above it."""
    return bool(pilot and target is not None and pilot.get("points") and pilot["points"][0][1] >= target)


def _budget_field(label: str, preset: str) -> tuple[str, float, bool]:
    from archsearch.methods import make_config, method_spec

    method, own = method_variant(label)
    field = method_spec(method).budget_field
    if field is None:
        raise ConfigError(f"method {method!r} has no single budget field, so compare cannot scale its search")
    value = getattr(make_config(method, preset, **own), field)
    return field, float(value), isinstance(value, int) and not isinstance(value, bool)


__all__ = ["STUDY_FILE", "STATE_FILE", "COMPARE_JSON", "PROTOCOL", "JUDGE_PRESETS", "PILOT_FRACTIONS", "PROBE_REACH", "RANDOM_SEEDS", "CHOSEN_SEED", "POWER", "ALPHA", "StudySettings", "resolve_study", "split_methods", "method_variant", "cpu_budgets", "search_key", "parse_search_key", "random_archs"]
