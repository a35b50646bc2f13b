"""What a recipe changes on a model before training: parameter groups, dropout / drop-path rates, memory format."""

from __future__ import annotations

import torch
import torch.nn as nn

from archsearch.errors import ConfigError
from archsearch.ops.drop_path import DropPath
from archsearch.train.recipe import Recipe


def parameter_groups(model: nn.Module, weight_decay: float, *, decay_all: bool = False) -> list[dict]:
    """Weights of conv / linear layers decay; BN / norm scales and shifts and all biases (1-D tensors) do not,
    unless `decay_all` (the released DARTS, Fair DARTS and ProxylessNAS search code decays every parameter).

    The usual rule (Goyal et al. 2017; timm's ``param_groups_weight_decay``): decaying BN's gamma only shrinks a
    scale the next layer undoes, and decaying biases shifts activations for no regularisation benefit.
    """
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim > 1 or decay_all else no_decay).append(param)
    groups = []
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    groups = parameter_groups(model, recipe.weight_decay, decay_all=recipe.decay_norm_and_bias)
    if not groups:
        raise ConfigError("the model has no trainable parameters")
    if recipe.optimizer in ("sgd", "nesterov"):
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum,
                               nesterov=recipe.optimizer == "nesterov" and recipe.momentum > 0)
    if recipe.optimizer == "rmsprop":
        # TF-style RMSProp as in EfficientNet / FBNetV3: decay (alpha) 0.9, momentum 0.9; see Recipe.rmsprop_eps
        return torch.optim.RMSprop(groups, lr=recipe.lr, alpha=recipe.rmsprop_alpha, eps=recipe.rmsprop_eps,
                                   momentum=recipe.momentum)
    return torch.optim.AdamW(groups, lr=recipe.lr, betas=tuple(recipe.adamw_betas))


def set_dropout(model: nn.Module, rate: float) -> int:
    """Set `p` of every dropout module (nn.Dropout, Dropout1d/2d/3d, AlphaDropout); returns how many."""
    count = 0
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.p = rate
            count += 1
    return count


def set_drop_path(model: nn.Module, rate: float) -> list[float]:
    """Stochastic depth rates growing with depth: the i-th of n `DropPath` modules (in module order) gets
    ``rate * i / n`` (EfficientNet's drop_connect_rate scaling: the first block is never dropped)."""
    paths = [m for m in model.modules() if isinstance(m, DropPath)]
    rates = [rate * i / len(paths) for i in range(len(paths))]
    for module, p in zip(paths, rates):
        module.p = p
    return rates


def wants_channels_last(model: nn.Module, recipe: Recipe, device: torch.device, amp_active: bool) -> bool:
    """channels_last for conv nets: on CPU it is 1.3-2.4x faster for depthwise-heavy nets (measured:
    docs/architecture.md); on CUDA it pays off with mixed precision (tensor cores), so ``None`` (auto) turns it
    on for CPU or AMP."""
    if recipe.channels_last is not None:
        return recipe.channels_last
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return has_conv and (device.type == "cpu" or amp_active)


def uses_channels_last(model: nn.Module) -> bool:
    """Whether the model's 4-D weights were converted to channels_last (a 1-channel kernel fits both layouts)."""
    return any(p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
               for p in model.parameters())
