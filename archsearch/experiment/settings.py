"""A run's settings: what the user asks for (`RunRequest`, from flags, a config file or the API) and what the run
records once every input is checked and every default filled (`RunSettings`, written to config.yaml).

`resolve_settings` turns the one into the other, before anything is created: unknown names fail naming the allowed
ones, the data is loaded and checked, the space is resolved against the data and the method.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

from archsearch.cost.constraints import Constraint, parse_constraints
from archsearch.errors import ConfigError, UsageError
from archsearch.methods import make_config, method_spec

CONFIG_FILE = "config.yaml"
DEFAULT_DATA = "fashion-mnist"  # the default dataset (README, "Data")

@dataclasses.dataclass
class RunSettings:
    """Everything that defines a run; written to config.yaml, read back by `resume`."""

    method: str
    name: str
    space: dict[str, Any]  # {"name": ..., "options": {...}} (options resolved against the data)
    preset: str = "quick"
    data: Any = DEFAULT_DATA  # a built-in name or an absolute path (a `Dataset` only until `start` saves it)
    data_dir: str | None = None
    image_size: int | None = None
    data_sha256: str | None = None  # content hash (`dataset_hash`); `resume` refuses data that changed
    data_source: str | None = None  # where the data was read from, for the reader of config.yaml
    split: dict[str, Any] = dataclasses.field(default_factory=dict)
    budget: float | None = None
    constraints: list[str] = dataclasses.field(default_factory=list)
    seed: int = 0
    executor: str = "local"
    workers: int | None = None
    ray_address: str | None = None
    storage: str | None = None
    device: str | None = None
    method_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    proxy_archs: list[dict[str, Any]] | None = None  # scored with the method's own estimate at the end (a study)
    latency_runtime: str | None = None  # where latency is timed when a method's config names none: the run's
    #   $ARCHSEARCH_LATENCY_RUNTIME (or torch) when it started, kept so a resumed run times as it began
    # built once by `resolve_settings` from the fields above and handed to the run; never stored (on resume, and in
    # the other processes of a torchrun, the stored fields rebuild them)
    method_config: Any = dataclasses.field(default=None, compare=False, repr=False)
    search_space: Any = dataclasses.field(default=None, compare=False, repr=False)

    def stored(self) -> dict[str, Any]:
        """The fields config.yaml holds, as plain values."""
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name not in BUILT_FIELDS}

    def portable(self) -> "RunSettings":
        """These settings without what was built from them (a process that gets them rebuilds it)."""
        return dataclasses.replace(self, method_config=None, search_space=None)


BUILT_FIELDS = ("method_config", "search_space")


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """What a user asks of a run, from flags, a run config file or ``archsearch.run(method, **options)``: built once
    and passed down. None is the default `resolve_settings` fills in. Every field but the API's own (`API_ONLY`)
    is a key a run config file may hold."""

    method: str
    space: Any = None  # a built-in name, 'FILE.py:FUNCTION', a function, a model with choices, a ModuleSpace, or
    #                    {"name": ..., "options": {...}}; default: the method's own (MethodSpec.default_space)
    space_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the space's keyword arguments
    preset: str | None = None  # paper | quick | smoke (default quick)
    data: Any = None  # a dataset name, a .npz file or image folder, or a `Dataset` (default DEFAULT_DATA)
    data_dir: str | None = None
    image_size: int | None = None  # resize an image folder's images to this size
    budget: float | None = None  # sets the method's budget field (MethodSpec.budget_field)
    constraints: Sequence[str] | str | None = None  # ["flops<=300M", "latency<=5ms"]
    seed: int | None = None
    executor: str | None = None  # local | ray (default local)
    workers: int | None = None  # evaluations at once (default: one per core)
    ray_address: str | None = None
    storage: str | None = None  # a database URL for the ledger (default: the run's own ledger.db)
    name: str | None = None  # default: <method>-<space>-<time>
    runs_dir: str | Path | None = None  # default: $ARCHSEARCH_RUNS or runs/
    device: str | None = None  # default: cuda when there is one
    method_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # fields of the method's config
    force: bool = False  # run a budget refused as absurd
    split: Mapping[str, Any] | None = None  # hold-out sizes (default: by preset and data size)
    proxy_archs: Sequence[Mapping[str, Any]] | None = None  # scored with the method's own estimate (a study)

    @classmethod
    def of(cls, method: str, **options: Any) -> "RunRequest":
        """From ``archsearch.run``'s keywords: a request field by its name, any other keyword a field of the
        method's config."""
        names = {f.name for f in dataclasses.fields(cls)}
        own = {k: v for k, v in options.items() if k in names and k != "method_options"}
        method_options = {**dict(options.get("method_options") or {}),
                          **{k: v for k, v in options.items() if k not in names}}
        return cls(method=method, method_options=method_options, **own)


API_ONLY = ("split", "proxy_archs")  # request fields a run config file does not hold


def resolve_settings(request: RunRequest | str, *, warn: Callable[[str], None] | None = None,
                     **options: Any) -> RunSettings:
    """Check every input (unknown names fail here, naming the allowed ones; the data is loaded and checked) and
    fill the defaults; nothing is written before all checks pass. A method name with keywords stands for
    ``RunRequest.of(method, **options)``. An absurd budget is refused unless `force`; a large one is reported to
    `warn` (default: a line on stderr)."""
    from archsearch.cost.timing import measurement_runtime
    from archsearch.executors import EXECUTORS
    from archsearch.errors import unknown_name
    from archsearch.experiment.checks import check_data_sizes, check_method_values, check_run_inputs
    from archsearch.methods import check_budget

    if isinstance(request, str):
        request = RunRequest.of(request, **options)
    method, method_options = request.method, dict(request.method_options)
    typed = _typed_settings(**{k: getattr(request, k) for k in (
        "preset", "data", "data_dir", "budget", "seed", "executor", "workers", "ray_address", "storage", "name",
        "device")})
    constraints, space, split, image_size, force = (request.constraints, request.space, request.split,
                                                    request.image_size, request.force)
    spec = method_spec(method)
    preset, data, data_dir, budget, seed = (typed[k] for k in ("preset", "data", "data_dir", "budget", "seed"))
    executor, workers, ray_address, storage, name, device = (
        typed[k] for k in ("executor", "workers", "ray_address", "storage", "name", "device"))
    preset = preset or "quick"
    executor = executor or "local"
    if executor not in EXECUTORS:
        raise unknown_name("executor", executor, EXECUTORS)
    check_run_inputs(seed=seed, workers=workers, budget=budget, name=name, device=device, executor=executor,
                     ray_address=ray_address, storage=storage)
    config = make_config(method, preset, budget, **method_options)  # option names, typed values, the preset
    check_method_values(method, config, method_options)
    check_budget(method, config, force=force, warn=warn or _warn)
    if constraints is not None and not isinstance(constraints, (str, list, tuple)):
        raise ConfigError(f"constraints must be a list such as ['flops<=300M'], got {constraints!r}")
    constraint_texts = [constraints] if isinstance(constraints, str) else [str(c) for c in (constraints or [])]
    parsed_constraints = parse_constraints(constraint_texts)  # malformed constraints fail before anything is created
    if isinstance(space, Mapping):
        space_name, space_options = space.get("name"), dict(space.get("options") or {})
    else:
        space_name, space_options = space, {}
    space_options.update(request.space_options)
    if isinstance(space_name, str) and not space_name.strip():
        raise UsageError("--space must not be empty (leave it out for the method's default space, "
                         f"{spec.default_space})")
    if space_name is None:
        space_name = spec.default_space
    if isinstance(data, str) and not data.strip():
        raise UsageError(f"--data must not be empty (leave it out for the default, {DEFAULT_DATA})")
    if data is None:
        data = DEFAULT_DATA
    splits_info = data_info(data, data_dir, image_size)
    data = splits_info["data"]
    split_options = (dict(split) if split is not None
                     else _default_split(preset, splits_info["train_images"], splits_info["name"]))
    check_data_sizes(method, config, split_options, splits_info["train_images"], splits_info["name"])
    space_name, space_options, space_label, search_space = _resolve_space(
        method, config, space_name, space_options, preset, splits_info, executor, parsed_constraints)
    if name is None:
        name = f"{method}-{space_label}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    return RunSettings(method=method, name=name, space={"name": space_name, "options": space_options},
                       preset=preset, data=data, data_dir=data_dir, split=split_options, budget=budget,
                       constraints=constraint_texts, seed=int(seed or 0), executor=executor, workers=workers,
                       ray_address=ray_address, storage=storage, device=device, method_options=dict(method_options),
                       image_size=image_size, data_sha256=splits_info["sha256"], data_source=splits_info["source"],
                       proxy_archs=None if request.proxy_archs is None else [dict(a) for a in request.proxy_archs],
                       latency_runtime=measurement_runtime(None), method_config=config, search_space=search_space)


def latency_build_command(space: Mapping[str, Any], data: Any, runtime: str | None = None) -> str:
    """The ``archsearch latency build`` command that measures the table a run of `space` on `data` looks for."""
    import shlex

    name, options = str(space.get("name")), dict(space.get("options") or {})
    parts = ["archsearch", "latency", "build"]
    if name == "user":
        parts += ["--space", str(options.get("source"))]
        parts += [f"--space-option={k}={v}" for k, v in (options.get("kwargs") or {}).items()]
    else:
        parts += ["--space", name] + (["--preset", str(options["preset"])] if "preset" in options else [])
        parts += [f"--space-option={k}={v}" for k, v in options.items()
                  if k not in ("preset", "num_classes", "in_channels", "input_size")]
    if isinstance(data, str):
        parts += ["--data", data]
    if runtime not in (None, "torch"):
        parts += ["--runtime", str(runtime)]
    return " ".join(shlex.quote(p) for p in parts)


def _typed_settings(**values: Any) -> dict[str, Any]:
    """Run settings read by the types of `RunSettings` (a config file's ``seed: 1.5`` or ``workers: true`` is a
    usage error, ``budget: 1e3`` a number)."""
    from archsearch._values import coerce, field_types

    types = field_types(RunSettings)
    return {key: coerce(value, types[key] | None, key) if value is not None else None
            for key, value in values.items()}


def _warn(message: str) -> None:
    print(f"archsearch: warning: {message}", file=sys.stderr)


def data_info(data: Any, data_dir: str | None, image_size: int | None = None) -> dict[str, Any]:
    """Load and check the data (before anything is created): what the run records of it, and its shape.

    ``data``: the name or absolute path to record (a `Dataset` stays an object until `start` saves it;
    ``fashion-mnist`` becomes ``fashion-mnist-subset`` when only the bundled subset is there, so the run, its
    workers and `resume` all use the subset)."""
    from archsearch.data.datasets import Dataset, data_path
    from archsearch.data.fashion_subset import SUBSET_NAME
    from archsearch.data.files import dataset_hash
    from archsearch.train.task import cached_dataset, install_dataset

    if isinstance(data, Dataset):
        if image_size is not None:
            raise UsageError("image_size resizes an image folder's images; resize an in-memory Dataset yourself")
        dataset = data
    else:
        path = data_path(data)
        data = str(data) if path is None else str(path)
        dataset = cached_dataset(data, data_dir, image_size)
        if dataset.name == SUBSET_NAME and data != SUBSET_NAME:
            data = SUBSET_NAME
            install_dataset((data, data_dir, image_size), lambda: dataset)
    return {"data": data, "name": dataset.name, "source": dataset.source or "arrays in memory",
            "sha256": dataset_hash(dataset), "train_images": int(len(dataset.y_train)),
            "input_shape": tuple(int(s) for s in dataset.x_train.shape[1:]), "num_classes": int(dataset.num_classes)}


def _default_split(preset: str, train_images: int, dataset_name: str = "") -> dict[str, Any]:
    """Hold-out sizes: 10k validation + GreedyNAS' 1000-image small validation set (paper/quick), fewer for smoke
    or small datasets (digits has 1797 images); the bundled Fashion-MNIST subset has its own (see
    `archsearch.data.fashion_subset`: the quick presets keep their sizes on it)."""
    from archsearch.data.fashion_subset import SUBSET_NAME, SUBSET_SPLIT

    if preset == "smoke":
        return {"val_size": min(256, train_images // 5), "small_val_size": min(128, train_images // 10),
                "train_size": min(512, train_images // 2)}
    if dataset_name == SUBSET_NAME:
        return dict(SUBSET_SPLIT)
    if train_images < 30000:
        return {"val_size": train_images // 5, "small_val_size": train_images // 10}
    return {"val_size": 10000, "small_val_size": 1000}


def _resolve_space(method: str, config: Any, space: Any, options: dict[str, Any], preset: str,
                   info: Mapping[str, Any], executor: str,
                   constraints: Sequence[Constraint] = ()) -> tuple[str, dict[str, Any], str, Any]:
    """(registered space name, its options, a label for the run name, the space), checked against the method, the
    data's image shape and the run's `constraints` (`check_space_fits`).

    A built-in name gets the preset and the data's shape; a user space ("file.py:function", "package.module:function",
    a function, an nn.Module with choices, a ModuleSpace) is recorded as the space "user" (`archsearch.spaces.user`)."""
    from archsearch.experiment.checks import check_space_fits
    from archsearch.spaces import user

    search_space: Any
    if user.is_user_space(space):
        options, search_space, label = user.resolve(space, options, input_shape=info["input_shape"],
                                                    num_classes=info["num_classes"])
        if executor != "local" and str(options["source"]).startswith(user.OBJECT_PREFIX):
            raise UsageError(f"a space given as a Python object exists in this process only, so {executor} workers "
                             "cannot build it; give it as 'FILE.py:FUNCTION' or a function importable from a module")
        name = user.NAME
    elif isinstance(space, str):
        name, label = space, space
        options, search_space = fit_space(space, options, preset, info)
    else:
        raise ConfigError(f"space must be a space name, 'FILE.py:FUNCTION', an nn.Module with LayerChoice / "
                          f"InputChoice or a ModuleSpace; got a {type(space).__name__}")
    check = method_spec(method).check_space
    if check is not None:  # a method that cannot search this space says why before the run directory exists
        check(search_space, method, config)
    check_space_fits(search_space, info["input_shape"], constraints)
    return name, options, label, search_space


def fit_space_options(name: str, options: dict[str, Any], preset: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """The space's options with the run's preset and the data's image shape and class count filled in (where the
    space takes them and the user did not set them), so the space fits the data and workers rebuild it exactly."""
    return fit_space(name, options, preset, info)[0]


def fit_space(name: str, options: dict[str, Any], preset: str, info: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """`fit_space_options` and the space they build."""
    import inspect

    from archsearch.spaces import SPACES, create_space

    factory = SPACES.factory(name) if name in _space_names() else None
    if factory is None:
        return options, create_space(name, **options)  # raises the unknown-name error with suggestions
    accepted = inspect.signature(factory).parameters
    resolved = dict(options)
    if "preset" in accepted and "preset" not in resolved:
        resolved["preset"] = preset
    space = create_space(name, **resolved)
    channels, height = info["input_shape"][:2]  # images are (C, H, W)
    want = {"num_classes": int(info["num_classes"]), "in_channels": int(channels), "input_size": int(height)}
    have = {"num_classes": getattr(space, "num_classes", None),
            "in_channels": getattr(space, "input_shape", (None,))[0],
            "input_size": getattr(space, "input_shape", (None, None))[1]}
    for key, value in want.items():
        if key in accepted and key not in resolved and have[key] != value:
            resolved[key] = value
    if resolved != options:
        space = create_space(name, **resolved)  # fail now, not in a worker, if the space cannot take the data's shape
    return resolved, space


def _space_names() -> list[str]:
    from archsearch.spaces import space_names

    return space_names()


def read_settings(run_dir: Path) -> RunSettings:
    path = Path(run_dir) / CONFIG_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    fields = {f.name for f in dataclasses.fields(RunSettings)} - set(BUILT_FIELDS)
    try:
        return RunSettings(**{k: v for k, v in document.items() if k in fields})
    except TypeError as err:
        raise ConfigError(f"{path} is not a run config: {err}") from None


def _check_overrides(values: Mapping[str, Any]) -> None:
    """Where a resumed run continues must exist here: its device, worker count, executor."""
    from archsearch.experiment.checks import check_device, check_executor, check_workers

    typed = _typed_settings(**values)
    check_workers(typed.get("workers"))
    check_device(typed.get("device"))
    if "executor" in typed:  # the whole picture (the run's own executor with the new address, say)
        check_executor(typed["executor"] or "local", typed.get("ray_address"))
