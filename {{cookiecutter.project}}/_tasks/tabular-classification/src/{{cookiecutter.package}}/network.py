"""The network inside the classifier: what it makes of an encoded row (Inputs), then an MLP.

configs/model.yaml holds build()'s keyword arguments (with the optimiser's); change them, or this module, for your data.
"""

from collections.abc import Sequence

import torch
from torch import nn

from .features import CATEGORIES, CATEGORY, FEATURES, KIND, NULLABLE


class Inputs(nn.Module):
    """Encoded rows (features.encode) -> the MLP's input, fitted on the training split and saved in the model.

    Numbers and booleans: a missing value takes the training mean, and a 0/1 indicator per nullable column says it
    was missing; then each is standardised. Categories: one-hot over the contract's list plus an "unknown" slot,
    which also takes missing values and categories the training split never showed.
    """

    def __init__(self, num_features: int):
        super().__init__()
        if num_features != len(FEATURES):
            raise ValueError(f"the contract has {len(FEATURES)} features, the model was asked for {num_features}")
        self.numbers = [index for index, name in enumerate(FEATURES) if KIND[name] != CATEGORY]
        self.flags = [self.numbers.index(FEATURES.index(name)) for name in NULLABLE if KIND[name] != CATEGORY]
        self.categories = [(FEATURES.index(name), len(values) + 1) for name, values in CATEGORIES.items()]
        self.register_buffer("mean", torch.zeros(len(self.numbers)))
        self.register_buffer("scale", torch.ones(len(self.numbers)))
        # For each category column, code -> the slot it takes: itself if training saw it, else 0 ("unknown").
        self.register_buffer(
            "slot", torch.cat([torch.arange(size) for _, size in self.categories] or [torch.zeros(0)]).long()
        )
        self.width = len(self.numbers) + len(self.flags) + sum(size for _, size in self.categories)

    def fit(self, features: torch.Tensor) -> None:
        """Learn the imputation, the scaling and the categories seen from the training split's encoded rows."""
        numbers = features[:, self.numbers].double()
        mean = torch.nanmean(numbers, dim=0).nan_to_num(0.0)  # a column missing everywhere: 0
        spread = torch.nanmean((numbers - mean) ** 2, dim=0).nan_to_num(0.0).sqrt()
        self.mean.copy_(mean.float())
        self.scale.copy_(spread.clamp_min(1e-6).float())
        offset = 0
        for index, size in self.categories:
            seen = torch.bincount(features[:, index].long(), minlength=size)[:size] > 0
            self.slot[offset : offset + size] = torch.where(seen, torch.arange(size), 0)
            offset += size

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        numbers = features[:, self.numbers]
        missing = torch.isnan(numbers)
        parts = [(torch.where(missing, self.mean, numbers) - self.mean) / self.scale]
        if self.flags:
            parts.append(missing[:, self.flags].to(features.dtype))
        offset = 0
        for index, size in self.categories:
            codes = features[:, index].nan_to_num(0.0).long()
            codes = torch.where((codes > 0) & (codes < size), codes, 0)  # missing or beyond the list: unknown
            slots = self.slot[offset + codes]
            parts.append((slots.unsqueeze(1) == torch.arange(size, device=features.device)).to(features.dtype))
            offset += size
        return torch.cat(parts, dim=1)


def build(num_inputs: int, num_classes: int, hidden_sizes: Sequence[int] = (64, 32), dropout: float = 0.1) -> nn.Module:
    """Inputs -> (Linear, ReLU, Dropout) per hidden size -> class logits."""
    layers: list[nn.Module] = []
    width = num_inputs
    for hidden in hidden_sizes:
        layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
