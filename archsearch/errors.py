"""Errors users can act on. The CLI prints ``str(err)`` as one line and exits 2 for `UsageError`s."""

from __future__ import annotations

import difflib
from typing import Iterable, Mapping


class ArchsearchError(Exception):
    """Base of every error archsearch raises on purpose."""


class UsageError(ArchsearchError):
    """Bad input from the user: config, flag, name, value. CLI exit code 2."""


class ConfigError(UsageError):
    """A config file or keyword argument is wrong."""


class ConstraintError(UsageError):
    """A constraint string is malformed, or no architecture can satisfy the constraints."""


class DataError(ArchsearchError):
    """A dataset is missing or corrupt; the message says how to get it."""


class CheckpointError(ArchsearchError):
    """A checkpoint is unreadable, truncated or fails its checksum."""


class RunInUseError(ArchsearchError):
    """Another process writes this run (it holds the run's lock): "run X is in use by pid N on HOST"."""


class DamagedRunError(ArchsearchError):
    """A file of a run (ledger, config, result, checkpoint manifest) is corrupt; the message names it and why."""


class DivergedError(ArchsearchError):
    """Training produced a NaN or infinite loss; searches record the candidate as failed and go on."""

    def __init__(self, message: str, *, epoch: int | None = None, step: int | None = None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step


def check_one_of(config: object, allowed: Mapping[str, Iterable[object]], owner: str = "") -> None:
    """Each named field of `config` must hold one of its allowed values; the first that does not is an
    `unknown_name` error (``unknown proxyless algo 'grad'; did you mean 'gradient'? ...``)."""
    for field, values in allowed.items():
        value = getattr(config, field)
        if value not in values:
            raise unknown_name(f"{owner} {field}".strip(), value, [v for v in values if v is not None])


def check_at_least(config: object, minimum: float, fields: Iterable[str], prefix: str = "") -> None:
    """Each named field of `config` that is set (not None) must be at least `minimum`:
    ``{prefix}batch_size must be >= 1, got 0``."""
    for field in fields:
        value = getattr(config, field)
        if value is not None and value < minimum:
            raise ConfigError(f"{prefix}{field} must be >= {minimum}, got {value}")


def unknown_name(kind: str, name: object, allowed: Iterable[object]) -> UsageError:
    """`unknown space 'mobilnet'; did you mean 'mobilenet'? (allowed: darts, mobilenet)`."""
    allowed = sorted(map(str, allowed))
    close = difflib.get_close_matches(str(name), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UsageError(f"unknown {kind} {name!r}{hint} (allowed: {', '.join(allowed)})")
