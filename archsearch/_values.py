"""Values from the command line and config files, read by the type of the field they go to.

YAML 1.1 (PyYAML's default) reads ``1e-3`` as a string and ``yes`` / ``on`` as true, so ``--set lr=1e-3`` reached
a method as text. `load_yaml` reads scalars by the YAML 1.2 core schema instead (``1e-3`` and ``1e9`` are floats,
only ``true`` / ``false`` are booleans), and `coerce` fits a value to a dataclass field's annotation: an int field
takes ``3`` or ``3.0`` but not ``1.5`` or ``true``, a float field takes finite numbers only, a bool field
``true`` / ``false`` only.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any

import yaml

from archsearch.errors import ConfigError

_FLOAT_12 = re.compile(r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
                          |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X)
_INT_12 = re.compile(r"^[-+]?[0-9]+$")
_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NONE_WORDS = ("none", "null", "~")  # an empty text is no null: `--set x=` is (`scalar`), `x=''` is a string


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's booleans, integers and floats."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:float", "tag:yaml.org,2002:int")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT_12, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return loader.construct_scalar(node).lower() == "true"


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node))


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.endswith("inf"):
        return -math.inf if text.startswith("-") else math.inf
    return math.nan if text.endswith("nan") else float(text)


_Loader.add_constructor("tag:yaml.org,2002:bool", _bool)
_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 scalars (``1e-3`` is a float, ``yes`` is a string). A document nested
    deeper than Python's recursion limit (thousands of ``[``) is a `yaml.YAMLError` like any malformed one."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("it is nested too deeply (thousands of levels of lists or mappings)") from None


def scalar(text: str) -> Any:
    """One value of ``--set field=value``: YAML 1.2 (numbers, true/false, null, [lists], {maps}), else the text."""
    if not text.strip():
        return None
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotations of a dataclass (its module's ``from __future__ import annotations`` strings)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: such fields are not checked
        return {}


def _describe(annotation: Any) -> str:
    if annotation is type(None):
        return "null"
    args = typing.get_args(annotation)
    if _is_union(annotation):
        return " or ".join(_describe(a) for a in args)
    origin = typing.get_origin(annotation) or annotation
    if dataclasses.is_dataclass(origin):  # a typed section (a `Recipe`) is given as a mapping of its fields
        return "a mapping"
    return {bool: "true or false", int: "a whole number", float: "a finite number", str: "text",
            dict: "a mapping", list: "a list", tuple: "a list"}.get(origin, getattr(origin, "__name__", str(origin)))


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


class _Mismatch(Exception):
    pass


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """`value` as a value of `annotation`, or `ConfigError` ("{where} must be a whole number, got 1.5")."""
    try:
        return _coerce(value, annotation)
    except _Mismatch:
        shown = str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, str) else value
        raise ConfigError(f"{where} must be {_describe(annotation)}, got {shown}") from None


def _coerce(value: Any, annotation: Any) -> Any:
    if annotation is Any or annotation is typing.Any or annotation is None:
        return value
    if _is_union(annotation):
        args = typing.get_args(annotation)
        if isinstance(value, str) and str in args:
            return value  # text fields keep their text ("" and "none" included); YAML's null is None
        if type(None) in args and (value is None or (isinstance(value, str) and value.strip().lower()
                                                     in _NONE_WORDS)):
            return None
        for arg in sorted((a for a in args if a is not type(None)), key=_try_order):
            try:
                return _coerce(value, arg)
            except _Mismatch:
                continue
        raise _Mismatch
    if annotation is type(None):
        if value is None:
            return None
        raise _Mismatch
    origin = typing.get_origin(annotation) or annotation
    if origin is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _Mismatch
    if origin is int:
        number = _number(value)
        if isinstance(number, int):
            return number
        if isinstance(number, float) and math.isfinite(number) and number.is_integer():
            return int(number)
        raise _Mismatch
    if origin is float:
        number = _number(value)
        if number is None or not math.isfinite(number):
            raise _Mismatch
        return float(number)
    if origin is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _Mismatch
    if origin in (dict, list, tuple, typing.Mapping, typing.Sequence):
        if isinstance(value, str):
            value = scalar(value)
        want = dict if origin in (dict, typing.Mapping) else (list, tuple)
        if not isinstance(value, want):
            raise _Mismatch
        return tuple(value) if origin is tuple else value
    if dataclasses.is_dataclass(origin) and isinstance(origin, type):  # a typed section (a `Recipe`): its fields
        if isinstance(value, origin):
            return value
        if isinstance(value, str):
            value = scalar(value)
        if not isinstance(value, typing.Mapping):
            raise _Mismatch
        from_dict = getattr(origin, "from_dict", None)  # checks the keys, naming unknown ones
        if from_dict is not None:
            return from_dict(value)
        try:
            return origin(**value)
        except TypeError:  # a key that is no field
            raise _Mismatch from None
    return value  # a class we do not know: the dataclass checks it


def _try_order(annotation: Any) -> int:
    """In a union, the narrowest type first: ``int | float`` keeps 3 an int."""
    origin = typing.get_origin(annotation) or annotation
    return {bool: 0, int: 1, float: 2}.get(origin, 3 if origin is not str else 4)


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if _INT_12.match(text):
            return int(text)
        try:
            return float(text)
        except ValueError:
            return None
    return None


def matches(value: Any, annotation: Any) -> bool:
    """Whether `value` already is a value of `annotation` (after a dataclass's own ``__post_init__``)."""
    try:
        fitted = _coerce(value, annotation)
    except _Mismatch:
        return False
    return type(fitted) is type(value) and fitted == value


__all__ = ["coerce", "field_types", "load_yaml", "matches", "scalar"]
