"""The network inside the classifier: an MLP over the contract's features, and how its input is normalised.

configs/model.yaml holds these keyword arguments (with the optimiser's); change them, or this module, for your data.
"""

from collections.abc import Sequence

import torch
from torch import nn


def build(
    num_features: int, num_classes: int, hidden_sizes: Sequence[int] = (64, 32), dropout: float = 0.1
) -> nn.Module:
    """Features -> (Linear, ReLU, Dropout) per hidden size -> class logits."""
    layers: list[nn.Module] = []
    width = num_features
    for hidden in hidden_sizes:
        layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def input_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of each training feature (the deviation floored: a constant column is safe)."""
    return features.mean(dim=0), features.std(dim=0).clamp_min(1e-6)
