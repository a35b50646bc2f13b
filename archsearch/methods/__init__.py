"""Search methods, registered by name with their `MethodSpec`: ``archsearch run greedynas``.

Each method module registers itself on import (``@register_method("darts", DartsConfig)``); the modules are
imported lazily, the first time a name is looked up, so importing `archsearch` stays cheap. A method's config is a
frozen dataclass (its fields are the method's options, every default citing the paper) that declares, as class
attributes, what the experiment, the CLI and the reports read through the method's spec: ``DISPLAY_NAME`` (the
paper's name), ``ACCURACY`` (what its search ranks by, `archsearch.accuracy.KINDS`), ``PRESETS`` (field values per
preset: sizes only), ``BUDGET_FIELD`` (what ``--budget`` sets), ``CLI_FLAGS`` (the method's own flags),
``DEFAULT_SPACE`` and ``FRONT_COST`` (the cost its Pareto front trades accuracy against, when not MACs); the method
class may define ``check_space(search_space, method, config)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from archsearch._registry import Registry
from archsearch.accuracy import KINDS, accuracy_spec
from archsearch.errors import ConfigError, unknown_name
from archsearch.methods._base import Candidate, Method, SavedWeights, SearchResult, weights_key
from archsearch.methods.context import Evaluated, Evaluation, RunContext, failure_reason
from archsearch.methods.final_training import FIELD as FINAL_FIELD
from archsearch.methods.final_training import FLAT_KEYS, FinalTraining, composed_default, fold

PRESET_NAMES = ("paper", "quick", "smoke")
DEFAULT_SPACE = "mobilenet"  # the space of a method whose config names none


@dataclass(frozen=True)
class MethodSpec:
    """Everything the experiment and the CLI know of a method, read from its classes once, when it registers, and
    checked there (a preset, budget field or flag naming no config field fails at import, not in a user's run)."""

    name: str
    method_cls: type  # built as ``method_cls(config, ctx)``
    config_cls: type  # a frozen dataclass: the method's options
    display_name: str = ""  # the paper's name ("ProxylessNAS"); the registered name when it declares none
    accuracy: str | None = None  # what its search ranks by: a kind of `archsearch.accuracy.KINDS`
    accuracy_epochs: str = "epochs"  # the field a "trained" accuracy's epoch count is read from
    front_cost: str | None = None  # "latency_ms": its Pareto front trades accuracy against latency (default MACs)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # preset -> field values (sizes only)
    budget_field: str | None = None  # the field ``--budget`` sets; None: the method has no single budget
    cli_flags: Mapping[str, str] = field(default_factory=dict)  # the method's own flags: flag -> field
    default_space: str = DEFAULT_SPACE  # the space searched when a run names none
    check_space: Callable[[Any, str, Any], None] | None = None  # refuses a space it cannot search, before a run
    final_default: FinalTraining | None = None  # the paper's final training of the chosen arch (the config's part)

    @classmethod
    def declared(cls, name: str, method_cls: type, config_cls: type) -> "MethodSpec":
        """The spec `config_cls` declares (``PRESETS``, ``BUDGET_FIELD``, ``CLI_FLAGS``, ``DEFAULT_SPACE``, each
        optional and possibly inherited) with `method_cls`'s ``check_space``."""
        if not (dataclasses.is_dataclass(config_cls) and isinstance(config_cls, type)):
            raise TypeError(f"method {name!r}: its config {config_cls!r} must be a dataclass")
        presets = getattr(config_cls, "PRESETS", None) or {}
        spec = cls(name=name, method_cls=method_cls, config_cls=config_cls,
                   display_name=str(getattr(config_cls, "DISPLAY_NAME", None) or name),
                   accuracy=getattr(config_cls, "ACCURACY", None),
                   accuracy_epochs=str(getattr(config_cls, "ACCURACY_EPOCHS", None) or "epochs"),
                   front_cost=getattr(config_cls, "FRONT_COST", None),
                   presets=MappingProxyType({p: MappingProxyType(dict(v)) for p, v in presets.items()}),
                   budget_field=getattr(config_cls, "BUDGET_FIELD", None),
                   cli_flags=MappingProxyType(dict(getattr(config_cls, "CLI_FLAGS", None) or {})),
                   default_space=str(getattr(config_cls, "DEFAULT_SPACE", None) or DEFAULT_SPACE),
                   check_space=getattr(method_cls, "check_space", None),
                   final_default=composed_default(config_cls))
        spec._check()
        return spec

    def accuracy_of(self, config: Any) -> dict[str, str]:
        """``{"kind", "label", "metric"}`` of what a search with `config` ranks by ("acc. after 4 ep.", ...)."""
        return accuracy_spec(self.accuracy, getattr(config, self.accuracy_epochs, None))

    @property
    def size_fields(self) -> frozenset[str]:
        """The fields that size a run: the budget field and every field a preset sets (presets change sizes only)."""
        named = {f for values in self.presets.values() for f in values}
        return frozenset(named | ({self.budget_field} if self.budget_field else set()))

    @property
    def fields(self) -> list[str]:
        """The config's field names."""
        return [f.name for f in dataclasses.fields(self.config_cls)]

    @property
    def options(self) -> list[str]:
        """The names a user sets (``--set``, config files, ``api.run``): the fields, and the final training's flat
        keys (``final_epochs``, ``final_seeds``, ``final_recipe``) when the config composes one."""
        return self.fields + (list(FLAT_KEYS) if self.final_default is not None else [])

    def _check(self) -> None:
        fields = set(self.options)
        where = f"method {self.name!r} ({self.config_cls.__name__})"
        for preset, values in self.presets.items():
            if preset not in PRESET_NAMES:
                raise ValueError(f"{where}: preset {preset!r} is not one of {PRESET_NAMES}")
            if set(values) - fields:
                raise ValueError(f"{where}: preset {preset!r} sets no field {sorted(set(values) - fields)}")
        if self.accuracy is not None and self.accuracy not in KINDS:
            raise ValueError(f"{where}: ACCURACY {self.accuracy!r} is not one of {sorted(KINDS)}")
        if self.front_cost not in (None, "latency_ms"):
            raise ValueError(f"{where}: FRONT_COST {self.front_cost!r} is not 'latency_ms'")
        named = {"BUDGET_FIELD": [self.budget_field] if self.budget_field else [],
                 "CLI_FLAGS": list(self.cli_flags.values()),
                 "ACCURACY_EPOCHS": [self.accuracy_epochs] if self.accuracy in ("trained", "trained_up_to") else []}
        for attribute, names in named.items():
            if set(names) - fields:
                raise ValueError(f"{where}: {attribute} names no field {sorted(set(names) - fields)}")


def _same_class(old: MethodSpec, new: MethodSpec) -> bool:
    """A module re-imported under another name (e.g. by a test) registers the same class again: that is allowed."""
    def qualified(spec: MethodSpec) -> str:
        return f"{spec.method_cls.__module__}.{spec.method_cls.__qualname__}"

    return old.method_cls is new.method_cls or qualified(old) == qualified(new)


# Built-in method modules, each registering its names on import. Add a module here when you add a method.
METHODS: Registry[MethodSpec] = Registry("method", [
    f"archsearch.methods.{module}" for module in ("evolution", "greedynas", "proxyless", "darts", "nars")])


def register_method(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: ``name`` runs ``cls(config_cls(...), ctx)`` (see `MethodSpec.declared`). Registering a name
    twice is an error."""

    def decorate(cls: type) -> type:
        METHODS.add(name, MethodSpec.declared(name, cls, config_cls), same=_same_class)
        return cls

    return decorate


def method_spec(name: str) -> MethodSpec:
    """The registered method `name` (an unknown name fails naming the closest ones)."""
    return METHODS.get(name)


def spec_of(config: Any) -> MethodSpec:
    """The spec of the method whose config `config` is (its exact class: SPOS's config subclasses GreedyNAS's)."""
    for name in method_names():
        spec = method_spec(name)
        if type(config) is spec.config_cls:
            return spec
    raise ConfigError(f"no registered method takes a {type(config).__name__}")


def method_names() -> list[str]:
    return METHODS.names()


def make_config(name: str, preset: str = "quick", budget: float | None = None, **options: Any) -> Any:
    """The method's config: dataclass defaults (the paper's), then the preset's sizes, the budget, then `options`.

    Each value is read by its field's type (``"1e-3"`` -> 0.001 for a float field; an int field refuses 1.5 and
    true); numeric options are never negative. Unknown option names and presets fail here, naming the allowed
    ones."""
    from archsearch._values import coerce, field_types, matches

    spec = method_spec(name)
    allowed = spec.options
    for key in options:
        if key not in allowed:
            raise unknown_name(f"option of method {name!r}:", key, allowed)
    if preset not in PRESET_NAMES:
        raise unknown_name("preset", preset, PRESET_NAMES)
    values = dict(spec.presets.get(preset, {}))
    if budget is not None:
        if spec.budget_field is None:
            raise ConfigError(f"method {name!r} has no single budget; set its fields with --set")
        values[spec.budget_field] = budget
    final = spec.final_default
    if final is not None:  # the preset's parts over the paper's, then the options' over those
        final, values = fold(final, values, f"method {name!r}")
        final, options = fold(final, options, f"method {name!r}")
        values[FINAL_FIELD] = final
    values.update(options)
    types = field_types(spec.config_cls)
    deferred: dict[str, ConfigError] = {}  # text the config's own __post_init__ reads (proxyless "5ms")
    for key, value in values.items():
        if key not in types:
            continue
        try:
            values[key] = coerce(value, types[key], f"{name} option {key}")
        except ConfigError as err:
            if not isinstance(value, str):
                raise
            deferred[key] = err
            continue
        number = values[key]
        if isinstance(number, (int, float)) and not isinstance(number, bool) and number < 0:
            raise ConfigError(f"{name} option {key} must be >= 0, got {number}")  # sizes, rates, weights
    try:
        config = spec.config_cls(**values)
    except (TypeError, ValueError) as err:
        if deferred:
            raise next(iter(deferred.values())) from None
        raise ConfigError(f"method {name!r}: {err}") from None
    for key, err in deferred.items():
        if not matches(getattr(config, key), types[key]):
            raise err
    return config


# Budgets: a value past BUDGET_REFUSE x the paper's (or past BUDGET_CAP where the paper gives none) is refused
# unless forced; past BUDGET_WARN x it is run with a warning. The paper's own sizes are the defaults.
BUDGET_WARN = 10
BUDGET_REFUSE = 1000
BUDGET_CAP = 10**6


def check_budget(name: str, config: Any, *, force: bool = False,
                 warn: Callable[[str], None] | None = None) -> None:
    """Refuse an absurd budget (``epochs=10**12``) unless `force`; `warn` about a merely large one. The fields
    bounded are the ones that size a run, as the spec declares them: its budget field and what its presets set."""
    for key, value, paper in _sizes(method_spec(name), config):
        limit = BUDGET_REFUSE * paper if paper else BUDGET_CAP
        if value > limit:
            if force:
                if warn is not None:
                    warn(f"{name} {key}={value:g} is past the sane bound {limit:g}; running it as forced")
                continue
            basis = f"{BUDGET_REFUSE}x the paper's {paper:g}" if paper else f"{BUDGET_CAP:g}"
            raise ConfigError(f"{name} {key}={value:g} is absurd (more than {basis}); pass --force to run it "
                              "anyway")
        if paper and value > BUDGET_WARN * paper and warn is not None:
            warn(f"{name} {key}={value:g} is {value / paper:.0f}x the paper's {paper:g}: this run will take long")


def _sizes(spec: MethodSpec, config: Any) -> list[tuple[str, float, float | None]]:
    """(key, value, the paper's value or None) of every number among `spec.size_fields`, the final training's
    epochs included."""
    out: list[tuple[str, float, float | None]] = []
    for f in dataclasses.fields(config):
        if f.name not in spec.size_fields:
            continue
        value = getattr(config, f.name)
        if isinstance(value, FinalTraining) and spec.final_default is not None:
            out.append(("final_epochs", value.epochs, spec.final_default.epochs or None))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            paper = f.default if isinstance(f.default, (int, float)) and not isinstance(f.default, bool) else None
            out.append((f.name, value, paper))
    return out


def create_method(name: str, config: Any, ctx: RunContext) -> Any:
    spec = method_spec(name)
    if not isinstance(config, spec.config_cls):
        raise ConfigError(f"method {name!r} takes a {spec.config_cls.__name__}, got {type(config).__name__}")
    return spec.method_cls(config, ctx)


__all__ = ["Candidate", "Evaluated", "Evaluation", "FinalTraining", "METHODS", "Method", "MethodSpec", "PRESET_NAMES",
           "RunContext", "SavedWeights", "SearchResult", "check_budget", "create_method", "failure_reason",
           "make_config", "method_names", "method_spec", "register_method", "spec_of", "weights_key"]
