"""Search-space core: choices, `Space`, `Arch` (pure Python + numpy; no torch)."""

from archsearch.space.choices import Categorical, Choice, Numeric, Value
from archsearch.space.space import Arch, Space, product

__all__ = ["Arch", "Categorical", "Choice", "Numeric", "Space", "Value", "product"]
