"""AutoAugment on tensors: each pixel operation equals PIL's on the same 8-bit image, the policy is the paper's
ImageNet one, and the batched policy applies each image's sub-policy in order, from the generator alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from archsearch.data import autoaugment as aa
from archsearch.data.augment import Augmentation, augment_batch


def _images(n=6, channels=1, size=12, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, size, size, channels), dtype=np.uint8)
    images[0] = 7  # a constant image: every operation must leave it sensible
    images[1, :, :] = rng.integers(40, 90, size=(size, size, channels))  # a narrow range: contrast matters
    return images


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def _pil(images: np.ndarray, op) -> torch.Tensor:
    out = []
    for image in images:
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        result = np.asarray(op(pil))
        out.append(result[..., None] if result.ndim == 2 else result)
    return _tensor(np.stack(out))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name, ours, theirs", [
    ("equalize", aa.equalize, ImageOps.equalize),
    ("autocontrast", aa.autocontrast, ImageOps.autocontrast),
    ("invert", aa.invert, ImageOps.invert),
    ("posterize 5", lambda p: aa.posterize(p, 5), lambda im: ImageOps.posterize(im, 5)),
    ("solarize 128", lambda p: aa.solarize(p, 128 / 255), lambda im: ImageOps.solarize(im, 128)),
])
def test_pixel_operations_equal_pils(channels, name, ours, theirs):
    images = _images(channels=channels)
    torch.testing.assert_close(ours(_tensor(images)), _pil(images, theirs), atol=1 / 255 + 1e-6, rtol=0)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name, enhancer", [("brightness", ImageEnhance.Brightness),
                                            ("contrast", ImageEnhance.Contrast),
                                            ("color", ImageEnhance.Color),
                                            ("sharpness", ImageEnhance.Sharpness)])
def test_enhancers_equal_pils_within_rounding(channels, name, enhancer):
    images = _images(channels=channels)
    factor = 1.6
    ours = aa.ENHANCERS[name](_tensor(images), torch.full((len(images),), factor))
    theirs = _pil(images, lambda im: enhancer(im).enhance(factor))
    # PIL rounds to 8 bits (and its contrast mean is an integer); ours stays in floats
    assert (ours - theirs).abs().max() <= 3 / 255


def test_geometry_moves_pixels_as_asked():
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, 4, 2] = 1.0
    shifted = aa.affine(image, aa._geometry("translate_x", torch.tensor([2 / 9])))
    # the output at column c reads the input at c + 2: the dot moves 2 pixels left
    assert shifted[0, 0, 4, 0] == 1.0 and shifted.sum() == 1.0
    turned = aa.affine(image, aa._geometry("rotate", torch.tensor([90.0])))
    assert turned.sum() == 1.0 and turned[0, 0, 4, 2] == 0.0  # a quarter turn about the centre moves it
    assert torch.equal(aa.affine(image, aa._geometry("shear_x", torch.tensor([0.0]))), image)


def test_the_policy_is_the_imagenet_one():
    assert len(aa.IMAGENET_POLICY) == 25 and all(len(s) == 2 for s in aa.IMAGENET_POLICY)
    assert aa.IMAGENET_POLICY[0] == (("posterize", 0.4, 8), ("rotate", 0.6, 9))
    names = {op for s in aa.IMAGENET_POLICY for op, _, _ in s}
    assert names == {"posterize", "rotate", "solarize", "autocontrast", "equalize", "color", "contrast", "invert",
                     "sharpness", "shear_x"}
    for sub_policy in aa.IMAGENET_POLICY:
        for name, probability, level in sub_policy:
            assert 0 <= probability <= 1 and (level is None) == (name in ("autocontrast", "equalize", "invert"))


def test_a_batch_is_augmented_per_image_from_the_generator_alone():
    images = _tensor(_images(n=64, channels=1, size=16, seed=3))
    mean, std = 0.3, 0.2
    x = (images - mean) / std
    augmentation = Augmentation(fill=(-mean / std,), std=(std,), autoaugment=True)
    out = augment_batch(x, augmentation, torch.Generator().manual_seed(1))
    again = augment_batch(x, augmentation, torch.Generator().manual_seed(1))
    assert torch.equal(out, again) and out.shape == x.shape
    pixels = out * std + mean
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5  # still images
    changed = (out != x).flatten(1).any(dim=1)
    assert 0.3 < changed.float().mean() < 1.0  # most images change, a few draw no-ops (probabilities < 1)
    # one image alone gets its own sub-policy: the same draws give the same image
    single = aa.autoaugment(x[:1], torch.Generator().manual_seed(5), fill=(-mean / std,), std=(std,))
    assert single.shape == (1, 1, 16, 16)
