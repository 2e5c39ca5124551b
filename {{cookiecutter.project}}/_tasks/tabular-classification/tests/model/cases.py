"""What a table's input layer (network.Inputs) must learn from the training rows, worked out here with numpy."""

import numpy as np
import torch

from .encoded_rows import check_batch, distinct_batch, fitted_buffers, random_inputs

__all__ = ["check_batch", "distinct_batch", "fitted_state", "random_inputs"]  # what the shared model tests take


def _expected(features: torch.Tensor, inputs) -> dict[str, torch.Tensor]:
    """Each number's mean and spread over its present values (a column with none: 0, and a spread of 1); for each
    category column, the slot of each code: its own where the training rows hold it, else 0 ("unknown"); for each
    date, the latest and the mean and spread of the ages against it."""
    columns = features.double().numpy()[:, inputs.numbers]
    counts = (~np.isnan(columns)).sum(axis=0)
    mean = np.where(counts > 0, np.nansum(columns, axis=0) / np.maximum(counts, 1), 0.0)
    spread = np.sqrt(np.nansum((columns - mean) ** 2, axis=0) / np.maximum(counts, 1))
    slots = []
    for index, size in inputs.categories:
        seen = set(features[:, index].nan_to_num(0.0).long().tolist())
        slots += [code if code in seen else 0 for code in range(size)]
    # Dates (days since 1970): the latest one, and the mean and spread of each row's age against it.
    days = features.double().numpy()[:, inputs.dates]
    dated = (~np.isnan(days)).sum(axis=0)
    latest = np.where(dated > 0, np.nanmax(np.where(np.isnan(days), -np.inf, days), axis=0), 0.0)
    age = latest - days
    age_mean = np.where(dated > 0, np.nansum(age, axis=0) / np.maximum(dated, 1), 0.0)
    age_spread = np.sqrt(np.nansum((age - age_mean) ** 2, axis=0) / np.maximum(dated, 1))
    return {
        "mean": torch.as_tensor(mean, dtype=torch.float32),
        "scale": torch.as_tensor(np.maximum(spread, 1e-6), dtype=torch.float32),
        "slot": torch.as_tensor(slots, dtype=torch.long),
        "latest": torch.as_tensor(latest, dtype=torch.float32),
        "age_mean": torch.as_tensor(age_mean, dtype=torch.float32),
        "age_scale": torch.as_tensor(np.maximum(age_spread, 1e-6), dtype=torch.float32),
    }


def fitted_state(features, inputs) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """`features`: the training rows, one tensor or in chunks (the shards a table's data module streams)."""
    if not isinstance(features, torch.Tensor):
        features = torch.cat(list(features))
    return fitted_buffers(_expected(features, inputs), inputs)
