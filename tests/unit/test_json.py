"""`json_value`: the one sanitiser of what methods hand over (result.json, metric rows, ledger attributes)."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import torch

from archsearch._json import json_value


@dataclasses.dataclass
class _Point:
    x: float
    tags: tuple


def test_json_value_makes_plain_json_of_tensors_arrays_dataclasses_and_the_rest():
    value = {"t": torch.tensor([[1.0, 2.0]], requires_grad=True), "a": np.arange(3), "s": np.float32(0.5),
             "i": np.int64(7), "b": np.bool_(True), 3: (1, "x"), "set": {3, 1, 2}, "mixed": {1, "a"},
             "p": _Point(1.5, (1, 2)), "path": Path("/tmp/x"), "none": None, "nested": [{"f": 0.25}]}
    out = json_value(value)
    assert out == {"t": [[1.0, 2.0]], "a": [0, 1, 2], "s": 0.5, "i": 7, "b": True, "3": [1, "x"], "set": [1, 2, 3],
                   "mixed": ["a", 1], "p": {"x": 1.5, "tags": [1, 2]}, "path": "/tmp/x", "none": None,
                   "nested": [{"f": 0.25}]}
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert type(out["i"]) is int and type(out["s"]) is float and type(out["b"]) is bool


def test_non_finite_floats_are_none_unless_kept():
    value = {"nan": math.nan, "inf": np.float64(math.inf), "list": [1.0, -math.inf], "t": torch.tensor(math.nan)}
    assert json_value(value) == {"nan": None, "inf": None, "list": [1.0, None], "t": None}
    kept = json_value(value, finite=False)
    assert math.isnan(kept["nan"]) and kept["inf"] == math.inf and kept["list"][1] == -math.inf
    assert math.isnan(kept["t"])
