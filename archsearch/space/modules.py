"""Deprecated: the choice modules moved to `archsearch.spaces.modules` (import them from `archsearch`). This module
keeps code written against the earlier README working for one release, with a DeprecationWarning."""

import importlib
import warnings

warnings.warn("archsearch.space.modules moved: import LayerChoice, InputChoice, ModuleSpace, freeze, set_path and "
              "space_from_module from archsearch (this module goes in the next release)", DeprecationWarning,
              stacklevel=2)
_moved = importlib.import_module("archsearch.spaces.modules")  # imported by name: the core stays below `spaces`
InputChoice = _moved.InputChoice
LayerChoice = _moved.LayerChoice
ModuleSpace = _moved.ModuleSpace
choice_modules = _moved.choice_modules
freeze = _moved.freeze
set_path = _moved.set_path
space_from_module = _moved.space_from_module

__all__ = ["InputChoice", "LayerChoice", "ModuleSpace", "choice_modules", "freeze", "set_path", "space_from_module"]
