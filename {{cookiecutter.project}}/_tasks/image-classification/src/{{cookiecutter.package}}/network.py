"""The network inside the classifier: a small CNN over the image, and how its input is normalised.

configs/model.yaml holds these keyword arguments (with the optimiser's); change them, or this module, for
larger images.
"""

import math
from collections.abc import Sequence

import torch
from torch import nn


def build(
    num_inputs: int,
    num_classes: int,
    channels: Sequence[int] = (16, 32),
    hidden_sizes: Sequence[int] = (64,),
    dropout: float = 0.2,
) -> nn.Module:
    """Rows of num_inputs grey levels -> 1 x side x side images -> conv blocks -> dense head -> class logits."""
    side = math.isqrt(num_inputs)
    if side * side != num_inputs:
        raise ValueError(f"{num_inputs} features do not make a square image")
    layers: list[nn.Module] = [nn.Unflatten(1, (1, side, side))]
    width = 1
    for out in channels:
        # Same-size convolution, then halve the side while it is even (8 -> 4 -> 2).
        layers += [nn.Conv2d(width, out, kernel_size=3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
        if side % 2 == 0 and side > 2:
            layers.append(nn.MaxPool2d(2))
            side //= 2
        width = out
    layers.append(nn.Flatten())
    width *= side * side
    for hidden in hidden_sizes:
        layers += [nn.Dropout(dropout), nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers += [nn.Dropout(dropout), nn.Linear(width, num_classes)]
    return nn.Sequential(*layers)


class Inputs(nn.Module):
    """Grey levels -> standardised grey levels, with one mean and one spread over every pixel of the training images.

    Per-pixel statistics would divide by ~0 at the corners, which are blank in nearly every training image.
    """

    def __init__(self, num_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(1))
        self.register_buffer("scale", torch.ones(1))
        self.width = num_features

    def fit(self, features: torch.Tensor) -> None:
        self.mean.copy_(features.mean().reshape(1))
        self.scale.copy_(features.std().clamp_min(1e-6).reshape(1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.scale
