"""Weight initialisation drawn from an explicit generator, so a seed fixes a network's weights without touching
torch's global RNG (which building a network reads: see `archsearch.train.task.seeded`)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from archsearch.errors import unknown_name

INIT_SCHEMES = ("pytorch", "he_fout")


def init_weights(model: nn.Module, generator: torch.Generator, scheme: str) -> None:
    """Re-draw `model`'s conv and linear weights from `generator`, module by module in `model.modules()` order.

    - ``pytorch``: PyTorch's own default for conv / linear layers (DARTS, the NARS predictor): weights
      kaiming-uniform with a = sqrt(5), biases uniform in +-1/fan_in**0.5 (DARTS' form; PyTorch's 1/sqrt(fan_in)
      differs from it in the last bit for a few fan-ins above 5,000). Other layers keep their weights.
    - ``he_fout``: ProxylessNAS' released code (run_manager ``init_model('he_fout')``): conv
      N(0, sqrt(2 / (k_h k_w C_out))), BN (1, 0), linear U(+-1/sqrt(fan_in)), every bias 0.
    """
    if scheme not in INIT_SCHEMES:
        raise unknown_name("init scheme", scheme, INIT_SCHEMES)
    with torch.no_grad():
        for module in model.modules():
            if scheme == "pytorch":
                _pytorch_default(module, generator)
            else:
                _he_fout(module, generator)


def _pytorch_default(module: nn.Module, generator: torch.Generator) -> None:
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_uniform_(module.weight, a=5 ** 0.5, generator=generator)
        if module.bias is not None:
            fan_in = module.weight[0].numel()
            bound = 1.0 / fan_in ** 0.5
            nn.init.uniform_(module.bias, -bound, bound, generator=generator)


def _he_fout(module: nn.Module, generator: torch.Generator) -> None:
    if isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out), generator=generator)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
        module.weight.fill_(1.0)
        module.bias.zero_()
    elif isinstance(module, nn.Linear):
        bound = 1.0 / math.sqrt(module.in_features)
        nn.init.uniform_(module.weight, -bound, bound, generator=generator)
        if module.bias is not None:
            module.bias.zero_()


__all__ = ["INIT_SCHEMES", "init_weights"]
