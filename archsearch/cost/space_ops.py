"""The ops a latency table of a space times: each candidate of each searchable block at the block's input, plus the
parts every arch shares, and a short id of them (a table is reused only for the same ops)."""

from __future__ import annotations

import hashlib
import json
from typing import Callable, Mapping

import torch.nn as nn

from archsearch.cost.timing import InputSpec, input_spec, spec_json
from archsearch.errors import ConfigError, UsageError

FIXED_PREFIX = "fixed:"


def op_key(block_name: str, value: object) -> str:
    """Table key of candidate `value` of searchable block `block_name` (the block fixes the input shape)."""
    return f"{block_name}:{value}"


def _block_field(block: object, *names: str) -> object:
    for name in names:
        if isinstance(block, Mapping) and name in block:
            return block[name]
        if hasattr(block, name):
            return getattr(block, name)
    raise ConfigError(f"space block {block!r} has none of the fields {names}")


def _fixed_modules(search_space: object) -> list[tuple[str, Callable[[], nn.Module], InputSpec]]:
    """The space's non-searchable parts (stem, head) as (name, factory, input shape)."""
    fixed = getattr(search_space, "fixed_modules", None)
    if fixed is None:
        return []
    out = []
    for item in fixed():
        if isinstance(item, tuple):
            name, module, shape = item
        else:
            name = _block_field(item, "name")
            module = _block_field(item, "module", "make")
            shape = _block_field(item, "input_shape", "input")
        factory = module if (callable(module) and not isinstance(module, nn.Module)) else (lambda m=module: m)
        out.append((str(name), factory, input_spec(shape)))
    return out


def space_ops(search_space: object) -> list[tuple[str, Callable[[], nn.Module], InputSpec]]:
    """Every op a latency table of `search_space` needs, as ``(key, make_module, input_shape)`` for
    `measure_table`: each candidate of each searchable block at the block's input shape, plus the fixed modules.

    The space provides `blocks` (name, input shape, candidate values), `make_candidate(block, value)` and
    optionally `fixed_modules()` (docs/architecture.md, "Adding a method or a space"); a user's `ModuleSpace` finds
    them by tracing its model (`archsearch.spaces.module_ops`)."""
    blocks = getattr(search_space, "blocks", None)
    make_candidate = getattr(search_space, "make_candidate", None)
    if blocks is None or make_candidate is None:
        raise UsageError(f"space {getattr(search_space, 'name', search_space)!r} has no per-op description "
                         "(blocks / make_candidate), so no latency table can be built for it")
    ops = [(FIXED_PREFIX + name, factory, shape) for name, factory, shape in _fixed_modules(search_space)]
    for block in blocks:
        name = str(_block_field(block, "name"))
        shape = input_spec(_block_field(block, "input_shape", "input"))
        for value in _block_field(block, "values", "candidates", "choices"):
            ops.append((op_key(name, value), lambda n=name, v=value: make_candidate(n, v), shape))
    return ops


def space_tag(search_space: object) -> str:
    """A short id of the space's op shapes: tables are reusable exactly between spaces with the same ops. A space
    whose op keys do not say what the ops are (a user's, keyed by its labels) adds its `latency_signature`."""
    ops = [(key, spec_json(shape)) for key, _, shape in space_ops(search_space)]
    described: list = [getattr(search_space, "name", "space"), ops]
    signature = getattr(search_space, "latency_signature", None)
    if signature is not None:
        described.append(str(signature))
    blob = json.dumps(described, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]
