"""Weight-sharing supernets: `MixedOp`, the path policies a method sets on it, and `BinaryGates` (ProxylessNAS'
alphas over a whole supernet)."""

from archsearch.supernet.binary_gates import BinaryGates
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

__all__ = ["BinaryGate", "BinaryGates", "GateGradient", "MixedOp", "PathPolicy", "SinglePath", "Weighted",
           "arch_of_path", "make_alphas", "mixed_ops", "recompute_allowed", "set_path", "set_policy"]
