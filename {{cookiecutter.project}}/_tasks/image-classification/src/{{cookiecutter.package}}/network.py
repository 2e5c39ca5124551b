"""The network inside the classifier: a small CNN over the image, and how its input is normalised.

configs/model.yaml holds these keyword arguments (with the optimiser's). The input's shape (channels, height,
width) comes from the contract (schema.MODE, HEIGHT, WIDTH), so a new image size needs no change here.
"""

from collections.abc import Sequence

import torch
from torch import nn

from .images import SHAPE


def build(
    num_inputs: int,
    num_classes: int,
    channels: Sequence[int] = (16, 32),
    hidden_sizes: Sequence[int] = (64,),
    dropout: float = 0.2,
    pooled: int = 4,
) -> nn.Module:
    """Rows of channels x height x width values -> images -> conv blocks -> dense head -> class logits.

    Each block halves the image while both sides are at least 4 pixels (8 -> 4 -> 2; 28 -> 14 -> 7); the last
    feature map is averaged down to at most `pooled` x `pooled`, so the head's size does not grow with the image.
    """
    depth, height, width = SHAPE
    if depth * height * width != num_inputs:
        raise ValueError(f"{num_inputs} inputs do not make an image of shape {SHAPE} (schema.MODE, HEIGHT, WIDTH)")
    layers: list[nn.Module] = [nn.Unflatten(1, SHAPE)]
    for out in channels:
        layers += [nn.Conv2d(depth, out, kernel_size=3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
        if min(height, width) >= 4:
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        depth = out
    height, width = min(height, pooled), min(width, pooled)
    layers += [nn.AdaptiveAvgPool2d((height, width)), nn.Flatten()]
    size = depth * height * width
    for hidden in hidden_sizes:
        layers += [nn.Dropout(dropout), nn.Linear(size, hidden), nn.ReLU()]
        size = hidden
    layers += [nn.Dropout(dropout), nn.Linear(size, num_classes)]
    return nn.Sequential(*layers)


class Inputs(nn.Module):
    """Grey levels -> standardised grey levels, with one mean and one spread per channel over the training images.

    Per-pixel statistics would divide by ~0 where the training images are all blank (the corners of a scan).
    """

    def __init__(self, num_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(SHAPE[0], 1))
        self.register_buffer("scale", torch.ones(SHAPE[0], 1))
        self.width = num_features

    def fit(self, features: torch.Tensor) -> None:
        channels = features.unflatten(1, (SHAPE[0], -1)).transpose(0, 1).flatten(1)
        self.mean.copy_(channels.mean(dim=1, keepdim=True))
        self.scale.copy_(channels.std(dim=1, keepdim=True).clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        channels = features.unflatten(1, (SHAPE[0], -1))  # no len(): the exported program takes any batch size
        return ((channels - self.mean) / self.scale).flatten(1)
