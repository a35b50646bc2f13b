"""AutoAugment (Cubuk et al. 2019, "AutoAugment: Learning Augmentation Policies from Data"), its ImageNet policy,
on whole batches of tensors (no torchvision, no per-image Python loop): FBNetV3's final training uses it.

Each image draws one of the policy's 25 sub-policies; each of the sub-policy's two operations then applies with its
probability, at its magnitude (one of 10 levels). Images arrive normalised; the operations work on pixel values in
[0, 1] (``pixel = (x - fill) * std``, with `fill` the normalised value of a black pixel), as PIL's do on 0..255.
The geometric operations fill what they uncover with black, the signed ones (shear, translate, rotate and the four
enhancements) take a random sign, as the reference implementations do.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LEVELS = 10  # magnitudes are levels 0..9 of each operation's range (the paper's discretisation)

# The ImageNet policy (Cubuk et al. 2019, appendix, Table 9): (operation, probability, level) pairs; None: the
# operation has no magnitude.
IMAGENET_POLICY: tuple[tuple[tuple[str, float, int | None], tuple[str, float, int | None]], ...] = (
    (("posterize", 0.4, 8), ("rotate", 0.6, 9)),
    (("solarize", 0.6, 5), ("autocontrast", 0.6, None)),
    (("equalize", 0.8, None), ("equalize", 0.6, None)),
    (("posterize", 0.6, 7), ("posterize", 0.6, 6)),
    (("equalize", 0.4, None), ("solarize", 0.2, 4)),
    (("equalize", 0.4, None), ("rotate", 0.8, 8)),
    (("solarize", 0.6, 3), ("equalize", 0.6, None)),
    (("posterize", 0.8, 5), ("equalize", 1.0, None)),
    (("rotate", 0.2, 3), ("solarize", 0.6, 8)),
    (("equalize", 0.6, None), ("posterize", 0.4, 6)),
    (("rotate", 0.8, 8), ("color", 0.4, 0)),
    (("rotate", 0.4, 9), ("equalize", 0.6, None)),
    (("equalize", 0.0, None), ("equalize", 0.8, None)),
    (("invert", 0.6, None), ("equalize", 1.0, None)),
    (("color", 0.6, 4), ("contrast", 1.0, 8)),
    (("rotate", 0.8, 8), ("color", 1.0, 2)),
    (("color", 0.8, 8), ("solarize", 0.8, 7)),
    (("sharpness", 0.4, 7), ("invert", 0.6, None)),
    (("shear_x", 0.6, 5), ("equalize", 1.0, None)),
    (("color", 0.4, 0), ("equalize", 0.6, None)),
    (("equalize", 0.4, None), ("solarize", 0.2, 4)),
    (("solarize", 0.6, 5), ("autocontrast", 0.6, None)),
    (("invert", 0.6, None), ("equalize", 1.0, None)),
    (("color", 0.6, 4), ("contrast", 1.0, 8)),
    (("equalize", 0.8, None), ("equalize", 0.6, None)),
)


def _fraction(level: int) -> float:
    return level / (LEVELS - 1)


# -- operations on pixels in [0, 1], shape (N, C, H, W) ------------------------------------------------------------------
def _to_levels(p: torch.Tensor) -> torch.Tensor:
    return (p * 255).round().clamp(0, 255)


def invert(p: torch.Tensor) -> torch.Tensor:
    return 1.0 - p


def solarize(p: torch.Tensor, threshold: float) -> torch.Tensor:
    """Invert every pixel at or above `threshold` (PIL: value >= threshold on 0..255)."""
    return torch.where(_to_levels(p) >= round(threshold * 255), 1.0 - p, p)


def posterize(p: torch.Tensor, bits: int) -> torch.Tensor:
    """Keep the `bits` high bits of each 8-bit value."""
    mask = (0xFF << (8 - bits)) & 0xFF
    return (_to_levels(p).to(torch.int64) & mask).to(p.dtype) / 255


def autocontrast(p: torch.Tensor) -> torch.Tensor:
    """Stretch each channel of each image to the full range (a constant channel stays as it is)."""
    levels = _to_levels(p)
    low = levels.amin(dim=(2, 3), keepdim=True)
    high = levels.amax(dim=(2, 3), keepdim=True)
    span = high - low
    stretched = ((levels - low) * (255 / span.clamp(min=1))).floor().clamp(0, 255)  # PIL's lookup table rounds down
    return torch.where(span > 0, stretched, levels) / 255


def equalize(p: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation of each channel of each image, as PIL's ``ImageOps.equalize``: with h the histogram,
    step = (pixels - count of the largest present value) // 255, and value i maps to (step // 2 + sum_{j<i} h_j) //
    step (unchanged when step is 0)."""
    n, c, height, width = p.shape
    levels = _to_levels(p).to(torch.int64).reshape(n * c, height * width)
    hist = torch.zeros(n * c, 256, dtype=torch.int64, device=p.device).scatter_add_(1, levels,
                                                                                   torch.ones_like(levels))
    top = 255 - torch.flip(hist > 0, dims=[1]).to(torch.int64).argmax(dim=1, keepdim=True)  # largest present value
    step = (height * width - hist.gather(1, top)) // 255
    before = torch.cumsum(hist, dim=1) - hist  # sum_{j<i} h_j
    lut = ((step // 2 + before) // step.clamp(min=1)).clamp(max=255)
    mapped = torch.where(step > 0, lut.gather(1, levels), levels)
    return (mapped.to(p.dtype) / 255).reshape(n, c, height, width)


def _grey(p: torch.Tensor) -> torch.Tensor:
    if p.shape[1] == 3:  # ITU-R 601-2 luma, as PIL's convert("L")
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=p.dtype, device=p.device).reshape(1, 3, 1, 1)
        return (p * weights).sum(dim=1, keepdim=True)
    return p.mean(dim=1, keepdim=True)


def _blend(p: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's enhancers: other + factor * (p - other), clipped (factor 1 leaves the image as it is)."""
    return (other + factor.reshape(-1, 1, 1, 1) * (p - other)).clamp(0, 1)


def brightness(p: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return _blend(p, torch.zeros_like(p), factor)


def color(p: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Saturation: blend with the grey image (a grey image has none to change)."""
    return _blend(p, _grey(p).expand_as(p), factor)


def contrast(p: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the image's mean grey level."""
    return _blend(p, _grey(p).mean(dim=(2, 3), keepdim=True).expand_as(p), factor)


def sharpness(p: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with PIL's SMOOTH filter (3x3, centre 5, others 1, /13); the border pixels stay as they are."""
    channels = p.shape[1]
    kernel = torch.ones(3, 3, dtype=p.dtype, device=p.device)
    kernel[1, 1] = 5
    kernel = (kernel / 13).expand(channels, 1, 3, 3)
    smooth = p.clone()
    smooth[:, :, 1:-1, 1:-1] = F.conv2d(p, kernel, groups=channels)
    return _blend(p, smooth, factor)


def affine(p: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Warp each image by its own 2x3 `matrix` (output -> input, in coordinates normalised to [-1, 1]); the
    uncovered area is black."""
    grid = F.affine_grid(matrix.to(p.dtype), list(p.shape), align_corners=False)
    return F.grid_sample(p, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _geometry(name: str, amount: torch.Tensor) -> torch.Tensor:
    """The 2x3 matrices of shear (amount: the shear factor), translation (a fraction of the image side) and
    rotation (degrees), one per image."""
    n = len(amount)
    matrix = torch.zeros(n, 2, 3, dtype=torch.float32)
    matrix[:, 0, 0] = matrix[:, 1, 1] = 1.0
    if name == "shear_x":
        matrix[:, 0, 1] = amount
    elif name == "shear_y":
        matrix[:, 1, 0] = amount
    elif name == "translate_x":
        matrix[:, 0, 2] = 2 * amount
    elif name == "translate_y":
        matrix[:, 1, 2] = 2 * amount
    else:  # rotate
        radians = amount * math.pi / 180
        matrix[:, 0, 0], matrix[:, 0, 1] = torch.cos(radians), -torch.sin(radians)
        matrix[:, 1, 0], matrix[:, 1, 1] = torch.sin(radians), torch.cos(radians)
    return matrix


SIGNED_RANGES = {"shear_x": 0.3, "shear_y": 0.3, "translate_x": 150 / 331, "translate_y": 150 / 331,
                 "rotate": 30.0, "brightness": 0.9, "color": 0.9, "contrast": 0.9, "sharpness": 0.9}  # the paper's
ENHANCERS = {"brightness": brightness, "color": color, "contrast": contrast, "sharpness": sharpness}


def apply_operation(p: torch.Tensor, name: str, level: int | None, generator: torch.Generator) -> torch.Tensor:
    """One operation at one level on every image of `p` (signed operations draw a sign per image)."""
    if name == "invert":
        return invert(p)
    if name == "autocontrast":
        return autocontrast(p)
    if name == "equalize":
        return equalize(p)
    assert level is not None, name
    if name == "solarize":
        return solarize(p, 1.0 - _fraction(level))
    if name == "posterize":
        return posterize(p, int(8 - round(level / ((LEVELS - 1) / 4))))
    sign = torch.where(torch.rand(len(p), generator=generator) < 0.5, -1.0, 1.0)
    amount = sign * SIGNED_RANGES[name] * _fraction(level)
    if name in ENHANCERS:
        return ENHANCERS[name](p, (1.0 + amount).to(p.device))
    return affine(p, _geometry(name, amount).to(p.device))


def autoaugment(x: torch.Tensor, generator: torch.Generator, *, fill: tuple[float, ...],
                std: tuple[float, ...]) -> torch.Tensor:
    """The ImageNet policy on a normalised batch (`fill`: a black pixel's normalised value, `std` per channel)."""
    shape = (1, -1, 1, 1)
    fill_t = torch.tensor(fill, dtype=x.dtype, device=x.device).reshape(shape)
    std_t = torch.tensor(std, dtype=x.dtype, device=x.device).reshape(shape)
    p = ((x - fill_t) * std_t).clamp(0, 1)
    chosen = torch.randint(0, len(IMAGENET_POLICY), (len(x),), generator=generator).to(x.device)
    coins = torch.rand(len(x), 2, generator=generator).to(x.device)
    touched = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    for index, sub_policy in enumerate(IMAGENET_POLICY):
        for slot, (name, probability, level) in enumerate(sub_policy):
            mask = (chosen == index) & (coins[:, slot] < probability)
            if bool(mask.any()):
                p[mask] = apply_operation(p[mask], name, level, generator)
                touched |= mask
    return torch.where(touched[:, None, None, None], p / std_t + fill_t, x)  # the others exactly as they came


__all__ = ["IMAGENET_POLICY", "apply_operation", "autoaugment", "autocontrast", "equalize", "posterize", "solarize"]
