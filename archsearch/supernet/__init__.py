"""Weight-sharing supernets: `MixedOp` and the path policies a method sets on it."""

from archsearch.supernet.mixed_op import (
    BinaryGate,
    GateGradient,
    MixedOp,
    PathPolicy,
    SinglePath,
    Weighted,
    arch_of_path,
    make_alphas,
    mixed_ops,
    recompute_allowed,
    set_path,
    set_policy,
)

__all__ = ["BinaryGate", "GateGradient", "MixedOp", "PathPolicy", "SinglePath", "Weighted", "arch_of_path",
           "make_alphas", "mixed_ops", "recompute_allowed", "set_path", "set_policy"]
