"""What a table's input layer (network.Inputs) must learn from the training rows, worked out here with numpy."""

import numpy as np
import torch


def fitted_state(features: torch.Tensor, inputs) -> dict[str, torch.Tensor]:
    """Each number's mean and spread over its present values (a column with none: 0, and a spread of 1), and for each
    category column, the slot of each code: its own where the training rows hold it, else 0 ("unknown")."""
    columns = features.double().numpy()[:, inputs.numbers]
    counts = (~np.isnan(columns)).sum(axis=0)
    mean = np.where(counts > 0, np.nansum(columns, axis=0) / np.maximum(counts, 1), 0.0)
    spread = np.sqrt(np.nansum((columns - mean) ** 2, axis=0) / np.maximum(counts, 1))
    slots = []
    for index, size in inputs.categories:
        seen = set(features[:, index].nan_to_num(0.0).long().tolist())
        slots += [code if code in seen else 0 for code in range(size)]
    return {
        "mean": torch.as_tensor(mean, dtype=torch.float32),
        "scale": torch.as_tensor(np.maximum(spread, 1e-6), dtype=torch.float32),
        "slot": torch.as_tensor(slots, dtype=torch.long),
    }
