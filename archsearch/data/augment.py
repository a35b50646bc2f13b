"""Batched augmentation on tensors (no per-sample Python loop, no torchvision).

Works on a whole batch at once: pad (the fill is the normalised value of a black pixel, which is what padding
before normalisation gives), take a random crop of the original size at a per-sample offset with two `gather`s,
and flip a random half horizontally. All randomness comes from the `torch.Generator` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from archsearch.errors import ConfigError


@dataclass(frozen=True)
class Augmentation:
    """Random crop with `crop_padding` pixels of padding, and horizontal flip when `flip`.

    Defaults per dataset (standard practice, e.g. the CIFAR-10 recipe of He et al. 2016 and DARTS): 4 pixels for
    32x32 images, 2 for 28x28 (scaled to the image size, *interpretation*), 1 for 8x8 digits; flips for natural
    images and Fashion-MNIST (clothes are left/right symmetric) but not for digits (a mirrored digit is not a digit).
    """

    crop_padding: int = 0
    flip: bool = False
    fill: tuple[float, ...] = (0.0,)  # per channel, in normalised units
    cutout: float = 0.0  # side of the square `cutout` zeroes, as a fraction of the image side (0: none)
    autoaugment: bool = False  # AutoAugment's ImageNet policy (`archsearch.data.autoaugment`)
    std: tuple[float, ...] = (1.0,)  # per channel: with `fill`, how normalised values map back to pixels

    def __post_init__(self) -> None:
        if self.crop_padding < 0:
            raise ConfigError(f"crop_padding must be >= 0, got {self.crop_padding}")
        if not 0 <= self.cutout <= 1:
            raise ConfigError(f"cutout must be a fraction of the image side in [0, 1], got {self.cutout}")

    @property
    def is_identity(self) -> bool:
        return self.crop_padding == 0 and not self.flip and self.cutout == 0 and not self.autoaugment


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator,
                fill: tuple[float, ...] = (0.0,)) -> torch.Tensor:
    """Pad every image by `padding` pixels and cut a same-size window at a random offset, per sample."""
    if padding == 0:
        return x
    batch, channels, height, width = x.shape
    padded = F.pad(x, (padding, padding, padding, padding), value=0.0)
    if any(v != 0.0 for v in fill):
        border = torch.ones(1, 1, height + 2 * padding, width + 2 * padding, dtype=x.dtype, device=x.device)
        border[..., padding:padding + height, padding:padding + width] = 0.0
        values = torch.tensor(fill, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
        padded = padded + border * values
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator).to(x.device)
    rows = offsets[0, :, None] + torch.arange(height, device=x.device)  # (B, H)
    cols = offsets[1, :, None] + torch.arange(width, device=x.device)  # (B, W)
    padded = padded.gather(2, rows[:, None, :, None].expand(batch, channels, height, width + 2 * padding))
    return padded.gather(3, cols[:, None, None, :].expand(batch, channels, height, width))


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator).to(x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Zero one square per image, its side `fraction` of the image's, its centre anywhere in the image (so it may be
    clipped at a border), as DeVries & Taylor 2017 and DARTS' code do (after normalisation: zero is the mean)."""
    batch, _, height, width = x.shape
    side = round(fraction * min(height, width))
    if side == 0:
        return x
    centres = torch.stack([torch.randint(0, height, (batch,), generator=generator),
                           torch.randint(0, width, (batch,), generator=generator)]).to(x.device)
    rows = torch.arange(height, device=x.device)[None, :]
    cols = torch.arange(width, device=x.device)[None, :]
    top, left = centres[0, :, None] - side // 2, centres[1, :, None] - side // 2
    inside_rows = (rows >= top) & (rows < top + side)  # (B, H)
    inside_cols = (cols >= left) & (cols < left + side)  # (B, W)
    mask = inside_rows[:, None, :, None] & inside_cols[:, None, None, :]
    return x.masked_fill(mask, 0.0)


def augment_batch(x: torch.Tensor, augmentation: Augmentation, generator: torch.Generator) -> torch.Tensor:
    x = random_crop(x, augmentation.crop_padding, generator, augmentation.fill)
    if augmentation.flip:
        x = random_flip(x, generator)
    if augmentation.autoaugment:
        from archsearch.data.autoaugment import autoaugment

        x = autoaugment(x, generator, fill=augmentation.fill, std=augmentation.std)
    if augmentation.cutout:
        x = cutout(x, augmentation.cutout, generator)
    return x
