"""A search space of your own: an ordinary PyTorch model with a `LayerChoice` wherever there is a decision.

    archsearch run spos --preset smoke --space examples/user_space.py:make_space --data examples/small.npz

`make_space` builds a stem, five choice layers (each one of conv 3x3, conv 5x5, separable conv 3x3, max pool 3x3 or
identity, at 16 channels) and a classifier head. archsearch calls it with the data's `input_shape` (C, H, W) and
`num_classes`. Until a method picks a path, each choice runs its first candidate, so the model runs as written.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from archsearch import LayerChoice

CHANNELS = 16
LAYERS = 5


def conv_bn_relu(channels: int, kernel: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU())


def sep_conv_bn_relu(channels: int, kernel: int) -> nn.Module:
    """Depthwise k x k then pointwise 1 x 1: a conv's receptive field at a fraction of its MACs."""
    return nn.Sequential(nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels, bias=False),
                         nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())


def candidates(channels: int) -> dict[str, nn.Module]:
    return {"conv3x3": conv_bn_relu(channels, 3), "conv5x5": conv_bn_relu(channels, 5),
            "sepconv3x3": sep_conv_bn_relu(channels, 3), "maxpool3x3": nn.MaxPool2d(3, stride=1, padding=1),
            "identity": nn.Identity()}


class ChoiceNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, channels: int = CHANNELS, layers: int = LAYERS) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        self.layers = nn.Sequential(*[LayerChoice(candidates(channels), label=f"layer{i + 1}") for i in range(layers)])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)))


def make_space(input_shape: tuple[int, ...] = (1, 28, 28), num_classes: int = 10) -> nn.Module:
    """The supernet: every candidate of every layer, one `LayerChoice` each (labels layer1..layer5)."""
    return ChoiceNet(in_channels=input_shape[0], num_classes=num_classes)


if __name__ == "__main__":
    model = make_space()
    print(model(torch.zeros(2, 1, 28, 28)).shape)  # torch.Size([2, 10]): each layer runs its first candidate
