"""Plain JSON of what methods hand over (results, metric rows, ledger attributes), below every layer; it imports
neither torch nor numpy and recognises their tensors, arrays and scalars by their ``tolist``."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping


def json_value(value: Any, *, finite: bool = True) -> Any:
    """`value` as plain JSON: mappings with text keys; lists, tuples and sets (sorted) as lists; tensors and numpy
    arrays or scalars as numbers and lists; dataclasses as dicts; anything else as its text. Non-finite floats
    become None, unless `finite` is False (ledger attributes keep them: Optuna stores NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_value(v, finite=finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v, finite=finite) for v in value]
    if isinstance(value, (set, frozenset)):
        try:
            ordered = sorted(value)
        except TypeError:  # values of several kinds: no order among them
            ordered = sorted(value, key=repr)
        return json_value(ordered, finite=finite)
    if hasattr(value, "tolist") and not isinstance(value, type):  # a tensor, a numpy array or scalar
        return json_value((value.detach().cpu() if hasattr(value, "detach") else value).tolist(), finite=finite)
    if isinstance(value, float):
        return value if math.isfinite(value) or not finite else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_value(dataclasses.asdict(value), finite=finite)
    return str(value)


__all__ = ["json_value"]
