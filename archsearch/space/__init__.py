"""Search-space core: choices, `Space`, `Arch` (pure Python + numpy; no torch).

The choice modules for users' own spaces (`LayerChoice`, `InputChoice`, `freeze`, `space_from_module`,
`ModuleSpace`) are `MixedOp`s, so they live a layer up, in `archsearch.spaces.modules`; import them from
`archsearch` or `archsearch.spaces`.
"""

import importlib
import warnings
from typing import Any

from archsearch.space.choices import Categorical, Choice, Numeric, Value
from archsearch.space.space import Arch, Space, product

_MOVED = ("InputChoice", "LayerChoice", "ModuleSpace", "choice_modules", "freeze", "set_path", "space_from_module")


def __getattr__(name: str) -> Any:
    """The choice modules' earlier home, kept for one release with a DeprecationWarning (they need torch, which this
    core does not import)."""
    if name in _MOVED:
        warnings.warn(f"archsearch.space.{name} moved: use `from archsearch import {name}` (this name goes in the "
                      "next release)", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("archsearch.spaces.modules"), name)
    raise AttributeError(f"module 'archsearch.space' has no attribute {name!r}")


__all__ = ["Arch", "Categorical", "Choice", "Numeric", "Space", "Value", "product"]
