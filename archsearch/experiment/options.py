"""A run's options from their sources, merged in one place: a run config file (YAML), then flags, then the method's
fields (``--set``, the method's own flags). The result is the keyword arguments of `archsearch.run`; the CLI only
parses its command line into the pieces.

Also the values the CLI reads for other commands: ``field=value`` assignments, YAML / JSON files of fields, and the
options a run would give a space on some data (`run_space_options`, for ``archsearch latency build --data``).
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from archsearch.errors import ConfigError, UsageError, unknown_name
from archsearch.experiment.settings import API_ONLY, RunRequest

# Keys a run config file (YAML) may hold: the run request's fields; flags override them, ``--set`` overrides
# `method_options`.
RUN_KEYS = tuple(f.name for f in dataclasses.fields(RunRequest) if f.name not in API_ONLY)


def parse_assignments(items: Sequence[str] | None, what: str) -> dict[str, Any]:
    """``["lr=1e-3", "ema=true", "sizes=[1, 2]"]`` -> {"lr": 0.001, "ema": True, "sizes": [1, 2]} (YAML 1.2
    scalars; the field's type decides the rest, in `make_config`)."""
    from archsearch._values import scalar

    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} {item!r} must look like field=value")
        out[key.strip().replace("-", "_")] = scalar(text)
    return out


def check_keys(given: Sequence[str], allowed: Sequence[str], where: str) -> None:
    """Reject an unknown key with the closest allowed one: ``unknown key 'budjet' in x.yaml; did you mean ...``."""
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown key {key!r} in {where}{hint} (allowed: {', '.join(sorted(allowed))})")


def _reason(err: BaseException) -> str:
    """Why a file could not be read, in a few words."""
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text (byte {err.start})"
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    return str(err)


def _read_yaml(path: Path, what: str, syntax: str) -> Any:
    """The YAML 1.2 content of `path` (YAML is a superset of JSON); a missing, unreadable or malformed file is one
    line naming it."""
    import yaml

    from archsearch._values import load_yaml

    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no {what} file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {what} file {str(path)!r}: {_reason(err)}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid {syntax}: {' '.join(str(err).split())}") from None


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """A YAML or JSON file holding a mapping of `what` fields (a recipe file of ``archsearch train``)."""
    data = _read_yaml(path, what, "YAML/JSON")
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of {what} fields")
    return data


def load_run_config(path: Path) -> dict[str, Any]:
    """A run config file: the keys of `RUN_KEYS`, method fields under ``method_options``."""
    data = _read_yaml(path, "config", "YAML")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of run settings")
    check_keys(list(data), RUN_KEYS, str(path))
    for key in ("method_options", "space_options"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ConfigError(f"{key} in {path} must be a mapping")
    if isinstance(data.get("constraints"), str):
        data["constraints"] = [data["constraints"]]
    _check_value_types(data, path)
    return data


_TEXT_KEYS = ("method", "preset", "data", "data_dir", "executor", "ray_address", "storage", "name", "runs_dir",
              "device")


def _check_value_types(data: Mapping[str, Any], path: Path) -> None:
    """A run config file's values of the wrong kind (``constraints: 5``, ``runs_dir: 5``) are one line naming the
    key, not an error deep in the run. Numbers (seed, budget, ...) are typed with the run's settings."""
    for key in _TEXT_KEYS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{key} in {path} must be text, got {value!r}")
    space = data.get("space")
    if space is not None and not isinstance(space, (str, dict)):
        raise ConfigError(f"space in {path} must be a space name or a mapping, got {space!r}")
    constraints = data.get("constraints")
    if constraints is not None and not (isinstance(constraints, list)
                                        and all(isinstance(c, str) for c in constraints)):
        raise ConfigError(f"constraints in {path} must be a list of constraints such as ['flops<=300M'], "
                          f"got {constraints!r}")


def merge_run_options(config_file: Path | None, flags: Mapping[str, Any], *,
                      space_options: Sequence[str] | None = None, overrides: Sequence[str] | None = None,
                      final_epochs: int | None = None,
                      method_flags: Callable[[str], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The keyword arguments of `archsearch.run`: the config file, then `flags` (run keys; None: not given), then
    for the method's fields its own flags (`method_flags(method)`: field values), ``--set`` `overrides` and
    `final_epochs`; `space_options`: ``KEY=VALUE`` over the file's. Unknown keys and methods fail naming the
    closest allowed ones."""
    from archsearch.methods import method_names, method_spec

    options: dict[str, Any] = load_run_config(config_file) if config_file else {}
    for key in RUN_KEYS:
        value = flags.get(key)
        if key in ("method_options", "space_options"):
            continue
        if value is not None:
            options[key] = value
    merged_space_options = dict(options.get("space_options") or {})
    merged_space_options.update(parse_assignments(space_options, "--space-option"))
    method = options.get("method")
    if not method:
        raise UsageError(f"name a method: archsearch run METHOD (methods: {', '.join(method_names())})")
    if method not in method_names():
        raise unknown_name("method", method, method_names())
    method_options = dict(options.get("method_options") or {})
    if method_flags is not None:
        method_options.update(method_flags(method))
    method_options.update(parse_assignments(overrides, "--set"))
    if final_epochs is not None:
        if final_epochs < 0:
            raise UsageError(f"--final-epochs must be >= 0 (0 skips the final training), got {final_epochs}")
        method_options["final_epochs"] = final_epochs
    check_keys(list(method_options), method_spec(method).options, f"the options of method {method!r}")
    options["constraints"] = list(options.get("constraints") or [])
    options["space_options"] = merged_space_options
    options["method_options"] = method_options
    return options


def merge_recipe_fields(base: Mapping[str, Any] | None, recipe_file: Path | None = None,
                        overrides: Sequence[str] | None = None) -> dict[str, Any]:
    """The recipe fields of a retraining: `base` (an arch file's own recipe), then a recipe file, then ``--set``
    `overrides`; unknown fields fail naming the closest `Recipe` field."""
    from archsearch.train.recipe import Recipe

    fields = dict(base or {})
    if recipe_file:
        fields.update(read_mapping(recipe_file, "recipe"))
    fields.update(parse_assignments(overrides, "--set"))
    check_keys(list(fields), [f.name for f in dataclasses.fields(Recipe)], "the recipe")
    return fields


def run_space_options(space: str, options: Mapping[str, Any], preset: str, data: Any,
                      data_dir: str | None = None) -> dict[str, Any]:
    """The options a run with this `preset` on `data` gives the built-in `space` (its preset, the data's image
    shape and class count where the user set none), so what is built for the space alone (a latency table) is what
    such a run finds."""
    from archsearch.experiment.settings import data_info, fit_space_options

    return fit_space_options(space, dict(options), preset, data_info(data, data_dir))


def latency_space(space: str, options: Mapping[str, Any], preset: str | None, data: Any,
                  data_dir: str | None = None) -> tuple[Any, dict[str, Any]]:
    """(the space, the options its table records) as a run on `data` builds it, so what ``archsearch latency
    build`` measures is the table such a run finds: a built-in space with the preset and the data's shape
    (`run_space_options`), a user's ``FILE.py:FUNCTION`` called with the data's shape and class count (the data
    is required: it gives the input shape each choice sees)."""
    from archsearch.spaces import create_space, user

    if user.is_user_space(space):
        if data is None:
            raise UsageError(f"a latency table of space {space!r} needs --data: the data's image shape decides the "
                             "input each choice sees")
        from archsearch.experiment.settings import data_info

        info = data_info(data, data_dir)
        recorded, search_space, _ = user.resolve(space, dict(options), input_shape=info["input_shape"],
                                                 num_classes=info["num_classes"])
        return search_space, recorded
    resolved = dict(options)
    if preset is not None:
        resolved["preset"] = preset
    if data is not None:
        resolved = run_space_options(space, resolved, preset or "quick", data, data_dir)
    return create_space(space, **resolved), resolved


__all__ = ["RUN_KEYS", "check_keys", "latency_space", "load_run_config", "merge_recipe_fields",
           "merge_run_options", "parse_assignments", "read_mapping", "run_space_options"]
