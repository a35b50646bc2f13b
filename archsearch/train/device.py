"""Which device to train on: chosen at run time, so the same code runs on CPU here and on CUDA elsewhere."""

from __future__ import annotations

import torch


def default_device() -> torch.device:
    """CUDA (the current device) when available, else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def resolve_device(device: torch.device | str | None) -> torch.device:
    """`device` as a `torch.device`, or `default_device()` when None."""
    return default_device() if device is None else torch.device(device)
