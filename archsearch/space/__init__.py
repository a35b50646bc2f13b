"""Search-space core: choices, `Space`, `Arch` (pure Python + numpy; no torch).

The choice modules for users' own spaces (`LayerChoice`, `InputChoice`, `freeze`, `space_from_module`,
`ModuleSpace`) are `MixedOp`s, so they live a layer up, in `archsearch.spaces.modules`; import them from
`archsearch` or `archsearch.spaces`.
"""

from typing import Any

from archsearch.space.choices import Categorical, Choice, Numeric, Value
from archsearch.space.space import Arch, Space, product

_MOVED = ("InputChoice", "LayerChoice", "ModuleSpace", "choice_modules", "freeze", "set_path", "space_from_module")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        raise ImportError(f"{name} is not in archsearch.space (the torch-free core) but in archsearch.spaces: "
                          f"use `from archsearch import {name}`")
    raise AttributeError(f"module 'archsearch.space' has no attribute {name!r}")


__all__ = ["Arch", "Categorical", "Choice", "Numeric", "Space", "Value", "product"]
