"""Search-space core: choices, `Space`, `Arch` (pure Python + numpy; no torch).

The choice modules for user-defined spaces (`LayerChoice`, `InputChoice`, `freeze`, `space_from_module`,
`ModuleSpace`, in `archsearch.space.modules`) need torch, so they are imported on first use, and
``Space.from_module(model)`` forwards to `space_from_module`.
"""

from typing import Any

from archsearch.space.choices import Categorical, Choice, Numeric, Value
from archsearch.space.space import Arch, Space, product

_MODULE_NAMES = ("InputChoice", "LayerChoice", "ModuleSpace", "choice_modules", "freeze", "set_path",
                 "space_from_module")


def _from_module(model: Any, *, name: str = "user") -> Space:
    """The `Space` of a model's `LayerChoice` / `InputChoice` modules (see `archsearch.space.modules`)."""
    from archsearch.space.modules import space_from_module

    return space_from_module(model, name=name)


Space.from_module = staticmethod(_from_module)  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name in _MODULE_NAMES:
        from archsearch.space import modules

        return getattr(modules, name)
    raise AttributeError(f"module 'archsearch.space' has no attribute {name!r}")


__all__ = ["Arch", "Categorical", "Choice", "InputChoice", "LayerChoice", "ModuleSpace", "Numeric", "Space", "Value",
           "choice_modules", "freeze", "product", "set_path", "space_from_module"]
