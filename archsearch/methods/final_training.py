"""`FinalTraining`: the part of a method's config that trains the chosen arch from scratch once the search ends.

Every built-in config composes one (``final: FinalTraining = ...``, the paper's values cited where it is set);
the experiment's final stage reads it. Users name its parts with flat keys, as flags, ``--set`` and config files
always have: ``final_epochs`` (0 skips the training), ``final_seeds``, ``final_recipe``. A ``final`` mapping of
``epochs`` / ``seeds`` / ``recipe`` works too. Each key replaces its part of the default (the paper's or the
preset's), a recipe included: ``final_recipe`` is the whole recipe, not fields over it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from archsearch._values import coerce
from archsearch.errors import ConfigError, UsageError

FLAT_KEYS = {"final_epochs": "epochs", "final_seeds": "seeds", "final_recipe": "recipe"}  # user key -> part
FIELD = "final"  # the config field that holds it

# The small presets train the found net briefly, alike for every method: quick, one epoch on every training image
# (about 1.5 CPU minutes on Fashion-MNIST); smoke, 3 epochs at lr 0.1 and batch 32, which lift a found net well
# above chance on digits in seconds (tests).
QUICK_EPOCHS = 1
SMOKE_EPOCHS = 3
SMOKE_RECIPE = {"lr": 0.1, "batch_size": 32}


@dataclass(frozen=True)
class FinalTraining:
    """`epochs` of training from scratch on every training image, `seeds` times, with `recipe` (fields of
    `archsearch.train.Recipe`); the test accuracy is the run's final number."""

    epochs: int  # 0: no final training
    seeds: int = 1  # independent trainings, reported as mean +- 95% CI
    recipe: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from archsearch.train.recipe import Recipe

        for key, least in (("final_epochs", 0), ("final_seeds", 1)):
            value = getattr(self, FLAT_KEYS[key])
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"{key} must be a whole number >= {least}, got {value!r}")
        if not isinstance(self.recipe, Mapping):
            raise ConfigError(f"final_recipe must be a mapping of recipe fields, got {self.recipe!r}")
        object.__setattr__(self, "recipe", dict(self.recipe))
        try:
            Recipe.from_dict(self.recipe)  # unknown or invalid recipe fields fail before a run starts
        except UsageError as err:
            raise ConfigError(f"final_recipe: {err}") from None

    def flat(self) -> dict[str, Any]:
        """The user's spelling: ``{"final_epochs": ..., "final_seeds": ..., "final_recipe": ...}``."""
        return {key: getattr(self, part) for key, part in FLAT_KEYS.items()}


def quick_final(recipe: Mapping[str, Any], **changes: Any) -> FinalTraining:
    """The quick preset's final training: `recipe` with `changes`, one epoch, one seed."""
    return FinalTraining(epochs=QUICK_EPOCHS, seeds=1, recipe={**recipe, **changes})


def smoke_final(recipe: Mapping[str, Any], **changes: Any) -> FinalTraining:
    """The smoke preset's final training: `recipe` at lr 0.1 and batch 32 with `changes`, 3 epochs, one seed."""
    return FinalTraining(epochs=SMOKE_EPOCHS, seeds=1, recipe={**recipe, **SMOKE_RECIPE, **changes})


def composed_default(config_cls: type) -> FinalTraining | None:
    """The `FinalTraining` a config class composes by default (the paper's), or None when it has no such part (a
    user's method that declares no final training)."""
    if not (dataclasses.is_dataclass(config_cls) and isinstance(config_cls, type)):
        return None
    for f in dataclasses.fields(config_cls):
        if f.name == FIELD:
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            return default if isinstance(default, FinalTraining) else None
    return None


def fold(base: FinalTraining, values: Mapping[str, Any], where: str) -> tuple[FinalTraining, dict[str, Any]]:
    """`values`' final-training keys (flat ones, or a ``final`` mapping or `FinalTraining`) over `base`, and the
    other values. `where` names the method in errors."""
    rest = dict(values)
    final = rest.pop(FIELD, None)
    if isinstance(final, FinalTraining):
        base = final
    elif final is not None:
        final = coerce(final, dict, f"{where} option {FIELD}")
        unknown = sorted(set(final) - set(FLAT_KEYS.values()))
        if unknown:
            raise ConfigError(f"{where} option {FIELD} has no part {unknown} (parts: epochs, seeds, recipe)")
        rest = {**{f"final_{part}": value for part, value in final.items()}, **rest}
    types = {"final_epochs": int, "final_seeds": int, "final_recipe": dict}
    parts = {FLAT_KEYS[key]: coerce(rest.pop(key), types[key], f"{where} option {key}")
             for key in list(rest) if key in FLAT_KEYS}
    try:
        return dataclasses.replace(base, **parts), rest
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


__all__ = ["FIELD", "FLAT_KEYS", "FinalTraining", "QUICK_EPOCHS", "SMOKE_EPOCHS", "composed_default", "fold",
           "quick_final", "smoke_final"]
