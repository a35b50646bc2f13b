"""Spaces you write yourself, recorded so that any process can rebuild them.

A user space is a function that returns an `nn.Module` with `LayerChoice` / `InputChoice` (or a `ModuleSpace`),
named ``"FILE.py:FUNCTION"`` or ``"package.module:FUNCTION"``. The function gets ``input_shape=`` and
``num_classes=`` from the run's data when it takes them, plus any ``--space-option`` as keyword arguments. A run
records the source (a file by its absolute path), the sha256 of the file and those arguments as the options of the
registered space ``user``: workers and `resume` rebuild the space from these plain values, and a file that changed
since is refused instead of silently searched.

In the Python API a function passed as an object is recorded the same way when it can be imported again (defined
at the top level of a module). A module object, a `ModuleSpace`, or a function that cannot be imported (a lambda,
one defined in a script's ``__main__`` or a notebook) lives in this process only: a run uses it here and `resume`
works in the same process, while a new process or Ray workers need one of the importable forms.

Every fresh network (supernet or candidate) is a new call of the function, so its weights come from torch's global
RNG, which the run seeds: the same seed gives the same search. A module object is copied instead, and the copy's
layers re-initialised with their own ``reset_parameters()`` (custom initialisation in the module's ``__init__`` is
not repeated; pass the function to keep it).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib
import importlib.util
import inspect
import itertools
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch
import torch.nn as nn

from archsearch.errors import ConfigError, UsageError, unknown_name
from archsearch.spaces import register_space
from archsearch.spaces.modules import ModuleSpace, freeze, space_from_module

NAME = "user"  # the registered space every user space is recorded as
OBJECT_PREFIX = "object:"  # source of a space that exists only in this process
_objects: dict[str, Callable[[], Any]] = {}  # "object:N" -> the function building a fresh model
_object_ids = itertools.count(1)
_modules: dict[tuple[str, str], Any] = {}  # (file, sha256) -> the module loaded from it


# -- the registered space -------------------------------------------------------------------------------------------
@register_space(NAME)
def user_space(source: str, input_shape: Sequence[int] | None = None, num_classes: int | None = None,
               kwargs: Mapping[str, Any] | None = None, sha256: str | None = None) -> ModuleSpace:
    """The space `source` names ("FILE.py:FUNCTION", "package.module:FUNCTION" or an in-process "object:N"),
    its function called with `kwargs` (and input_shape / num_classes where it takes them)."""
    from archsearch.train.task import seeded

    function, label = _function(source, sha256)
    make = functools.partial(_call, function, label, dict(kwargs or {}), _shape(input_shape), num_classes)
    with _importable_from(source), seeded(0):  # the template: only its structure and costs are used
        first = make()
    own_shape, own_classes = (first.input_shape, first.num_classes) if isinstance(first, ModuleSpace) else (None, None)
    for what, own, given in (("input_shape", own_shape, _shape(input_shape)), ("num_classes", own_classes,
                                                                                 num_classes)):
        if own is not None and given is not None and tuple(_listed(own)) != tuple(_listed(given)):
            raise UsageError(f"space {label} is a ModuleSpace with {what}={own!r}, but the data has {given!r}")
    model = first.model if isinstance(first, ModuleSpace) else first
    try:
        space_from_module(model)
    except UsageError as err:
        raise UsageError(f"space {label}: {err}") from None

    def fresh() -> nn.Module:
        with _importable_from(source):
            built = make()
        return built.model if isinstance(built, ModuleSpace) else built

    search_space = ModuleSpace(model, input_shape if input_shape is not None else own_shape,
                               num_classes if num_classes is not None else own_classes, name=_short_label(source))
    search_space.factory = fresh  # fresh networks: a new call each (weights from the caller's seeded RNG)
    return search_space


# -- from what the user gave to recorded options ---------------------------------------------------------------------
def is_user_space(space: object) -> bool:
    """True for what `resolve` takes: a source string ("x.py:f", "pkg.mod:f"), a function, a module, a ModuleSpace,
    or the recorded form {"name": "user", ...}."""
    if isinstance(space, str):
        return ":" in space or space == NAME
    return isinstance(space, (nn.Module, ModuleSpace)) or (callable(space) and not isinstance(space, Mapping))


def resolve(space: Any, options: Mapping[str, Any] | None, *, input_shape: Sequence[int],
            num_classes: int) -> tuple[dict[str, Any], ModuleSpace, str]:
    """(the options of space "user" a run records, the space built from them, a short label for the run name).

    Everything a worker or `resume` would trip over fails here, in one line: a missing file or function, a
    function that raises or returns no module with choices, a model whose output does not fit the data."""
    options = dict(options or {})
    data_shape, data_classes = [int(s) for s in input_shape], int(num_classes)
    if isinstance(space, str) and space == NAME:  # the recorded form, e.g. from a config file
        recorded = dict(options)
        if "source" not in recorded:
            raise ConfigError("space 'user' needs the option source='FILE.py:FUNCTION'")
        recorded.setdefault("input_shape", data_shape)
        recorded.setdefault("num_classes", data_classes)
    elif isinstance(space, str):
        source, sha = _normalised_source(space)
        recorded = {"source": source, "sha256": sha, "kwargs": options}
    else:
        if options:
            raise ConfigError(f"space options {sorted(options)} apply to a space given by name or source, not to "
                              f"a {type(space).__name__} object")
        recorded = _object_options(space)
    recorded = {k: v for k, v in recorded.items() if v is not None}
    if isinstance(space, ModuleSpace):
        recorded.setdefault("input_shape", list(space.input_shape) if space.input_shape else None)
        recorded.setdefault("num_classes", space.num_classes)
    if recorded.get("input_shape") is None:
        recorded["input_shape"] = data_shape
    if recorded.get("num_classes") is None:
        recorded["num_classes"] = data_classes
    recorded["input_shape"] = _listed(recorded["input_shape"])
    if recorded["input_shape"] != data_shape or int(recorded["num_classes"]) != data_classes:
        raise UsageError(f"space {_label(recorded['source'])} is for inputs {tuple(recorded['input_shape'])} and "
                         f"{recorded['num_classes']} classes, but the data has {tuple(data_shape)} and {data_classes}")
    recorded = {k: v for k, v in recorded.items() if v is not None and v != {}}
    search_space = user_space(**recorded)
    _check_forward(search_space, _label(recorded["source"]))
    return recorded, search_space, _short_label(recorded["source"])


def _object_options(space: Any) -> dict[str, Any]:
    """The recorded form of a function, module or ModuleSpace passed in the API."""
    if isinstance(space, ModuleSpace):
        factory = space.factory
        if factory is not None and _importable_source(factory) is not None:
            return _function_options(factory)
        make = factory if factory is not None else _reinitialised_copies(space.model)
        return {"source": _remember(make)}
    if isinstance(space, nn.Module):
        space_from_module(space)  # no choices: say so now
        return {"source": _remember(_reinitialised_copies(space))}
    return _function_options(space)


def _function_options(function: Callable[..., Any]) -> dict[str, Any]:
    source = _importable_source(function)
    if source is None:
        return {"source": _remember(function)}
    normalised, sha = _normalised_source(source)
    return {"source": normalised, "sha256": sha}


def _remember(make: Callable[[], Any]) -> str:
    token = f"{OBJECT_PREFIX}{next(_object_ids)}"
    _objects[token] = make
    return token


def _reinitialised_copies(model: nn.Module) -> Callable[[], nn.Module]:
    """Fresh networks from a module object: copies whose layers re-draw their weights (`reset_parameters`) from
    torch's global RNG, which the run seeds; so the object's own weights never decide the search."""

    def fresh() -> nn.Module:
        copied = copy.deepcopy(model)
        for module in copied.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
        return copied

    return fresh


def _importable_source(function: Any) -> str | None:
    """"package.module:qualname" when importing that gives back `function` itself, else None (lambdas, closures,
    functions of ``__main__``: a new process could only get them by re-running the script)."""
    module_name, qualname = getattr(function, "__module__", None), getattr(function, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname or module_name == "__main__":
        return None
    module = sys.modules.get(module_name)
    if module is None:
        return None
    with contextlib.suppress(AttributeError):
        if _attribute(module, qualname) is function:
            file = getattr(module, "__file__", None)
            if module_name.startswith("archsearch_user_") and file:  # loaded by us from a file: name the file
                return f"{Path(file).resolve()}:{qualname}"
            return f"{module_name}:{qualname}"
    return None


# -- loading ------------------------------------------------------------------------------------------------------------
def _split(source: str) -> tuple[str, str, bool]:
    """(file or module, function, is_file) of "FILE.py:FUNCTION" / "package.module:FUNCTION"."""
    target, _, function = source.rpartition(":")
    if not target or not function:
        raise UsageError(f"space {source!r} must be FILE.py:FUNCTION or package.module:FUNCTION")
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", function):
        raise UsageError(f"space {source!r}: {function!r} is not a function name")
    is_file = target.endswith(".py") or os.sep in target or "/" in target or Path(target).is_file()
    if not is_file and not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", target):
        raise UsageError(f"space file {target!r} not found")
    return target, function, is_file


def _normalised_source(source: str) -> tuple[str, str | None]:
    """(the source with an absolute file path, the sha256 of its file), loading it once to check it exists."""
    if source.startswith(OBJECT_PREFIX):
        return source, None
    target, function, is_file = _split(source)
    if is_file:
        path = Path(target).expanduser()
        if not path.is_file():
            raise UsageError(f"space file {target!r} not found")
        source = f"{path.resolve()}:{function}"
    _, sha = _load(source)
    return source, sha


def _function(source: str, sha256: str | None) -> tuple[Callable[..., Any], str]:
    """The function behind `source` (checked against the recorded hash of its file) and its label."""
    label = _label(source)
    if source.startswith(OBJECT_PREFIX):
        if source not in _objects:
            raise UsageError("this run's space was a Python object given to archsearch.run in another process, so "
                             "it cannot be rebuilt here; give the space as 'FILE.py:FUNCTION' (or a function "
                             "importable from a module) to resume in a new process or to use Ray workers")
        return _objects[source], label
    module, sha = _load(source)
    if sha256 is not None and sha is not None and sha != sha256:
        raise ConfigError(f"space file {_file_of(source, module)} changed since the run recorded it (sha256 "
                          f"{sha256[:12]}..., now {sha[:12]}...); restore it, or start a new run")
    function_name = source.rpartition(":")[2]
    try:
        function = _attribute(module, function_name)
    except AttributeError:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise unknown_name(f"function in {_file_of(source, module)}:", function_name, names) from None
    if not callable(function):
        raise UsageError(f"space {label}: {function_name!r} is a {type(function).__name__}, not a function")
    return function, label


def _load(source: str) -> tuple[Any, str | None]:
    """(the module `source` names, the sha256 of its file). A file is executed once per process and content."""
    target, _, is_file = _split(source)
    if is_file:
        path = Path(target).expanduser().resolve()
        try:
            content = path.read_bytes()
        except OSError:
            raise UsageError(f"space file {_shown(target)!r} not found") from None
        sha = hashlib.sha256(content).hexdigest()
        key = (str(path), sha)
        if key not in _modules:
            name = f"archsearch_user_{sha[:12]}_" + re.sub(r"\W", "_", path.stem)
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[name] = module  # classes defined there can be found by name (copies, pickles)
            try:
                with _on_path(path.parent):
                    spec.loader.exec_module(module)  # type: ignore[union-attr]
            except Exception as err:
                del sys.modules[name]
                raise UsageError(f"cannot load space file {_shown(target)}: {type(err).__name__}: "
                                 f"{_one_line(err)}") from None
            _modules[key] = module
        return _modules[key], sha
    try:
        with _on_path(Path.cwd()):  # as `python -m` would: packages in the working directory import
            module = importlib.import_module(target)
    except Exception as err:
        raise UsageError(f"cannot import space module {target!r}: {type(err).__name__}: {_one_line(err)}") from None
    file = getattr(module, "__file__", None)
    sha = hashlib.sha256(Path(file).read_bytes()).hexdigest() if file and Path(file).is_file() else None
    return module, sha


def _call(function: Callable[..., Any], label: str, kwargs: dict[str, Any], input_shape: tuple[int, ...] | None,
          num_classes: int | None) -> Any:
    """Call the user's function (input_shape / num_classes where it takes them); any failure is one line."""
    try:
        parameters = dict(inspect.signature(function).parameters)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    except (TypeError, ValueError):  # no signature to read (some builtins): pass only what was asked for
        parameters, takes_any = {}, False
    for key in kwargs:
        if not takes_any and key not in parameters:
            raise unknown_name(f"option of space {label}:", key, parameters)
    arguments = dict(kwargs)
    for key, value in (("input_shape", input_shape), ("num_classes", num_classes)):
        if value is not None and key not in arguments and (takes_any or key in parameters):
            arguments[key] = value
    try:
        built = function(**arguments)
    except UsageError as err:
        raise UsageError(f"space {label}: {_one_line(err)}") from None
    except Exception as err:
        raise UsageError(f"space {label} raised {type(err).__name__}: {_one_line(err)}") from None
    if not isinstance(built, (nn.Module, ModuleSpace)):
        raise UsageError(f"space {label} returned a {type(built).__name__}, not an nn.Module with LayerChoice / "
                         "InputChoice (or a ModuleSpace)")
    return built


def _check_forward(search_space: ModuleSpace, label: str) -> None:
    """One forward pass of the first architecture on a zero batch of the data's shape: a model that does not fit
    the data fails here, before the run starts, rather than in every trial."""
    shape, classes = tuple(search_space.input_shape or ()), search_space.num_classes
    arch = search_space.space.validate({n: c.values[0] for n, c in search_space.space.choices.items()})
    child = freeze(search_space.model, arch).eval()
    try:
        with torch.no_grad():
            out = child(torch.zeros(2, *shape))
    except Exception as err:
        raise UsageError(f"space {label}: a forward pass on a batch of shape {(2, *shape)} fails: "
                         f"{type(err).__name__}: {_one_line(err)}") from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, classes):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UsageError(f"space {label}: the model's output for a batch of shape {(2, *shape)} is {got}, "
                         f"expected {(2, classes)} (one logit per class)")


# -- small helpers ------------------------------------------------------------------------------------------------------
def _attribute(module: Any, qualname: str) -> Any:
    value = module
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


@contextlib.contextmanager
def _on_path(directory: Path) -> Iterator[None]:
    """`directory` first on sys.path for a block (a space file's own imports of files next to it)."""
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _importable_from(source: str) -> contextlib.AbstractContextManager:
    """While calling a file's function, its directory is importable (for imports inside the function)."""
    if source.startswith(OBJECT_PREFIX):
        return contextlib.nullcontext()
    target, _, is_file = _split(source)
    return _on_path(Path(target).parent) if is_file else _on_path(Path.cwd())


def _file_of(source: str, module: Any) -> str:
    return _shown(str(getattr(module, "__file__", None) or source.rpartition(":")[0]))


def _label(source: str) -> str:
    """The source as a user recognises it: a file relative to the working directory when it is below it."""
    if source.startswith(OBJECT_PREFIX):
        return f"{source} (a Python object)"
    target, _, function = source.rpartition(":")
    return f"{_shown(target)}:{function}"


def _shown(target: str) -> str:
    """A file relative to the working directory when it is below it (as the user probably typed it)."""
    with contextlib.suppress(ValueError):
        return str(Path(target).relative_to(Path.cwd()))
    return target


def _short_label(source: str) -> str:
    """A name for run names and reports: the function's name (or "user" for an object)."""
    if source.startswith(OBJECT_PREFIX):
        return NAME
    return source.rpartition(":")[2].split(".")[-1]


def _shape(shape: Sequence[int] | None) -> tuple[int, ...] | None:
    return tuple(int(s) for s in shape) if shape is not None else None


def _listed(shape: Sequence[int]) -> list[int]:
    return [int(s) for s in shape]


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


__all__ = ["NAME", "is_user_space", "resolve", "user_space"]
