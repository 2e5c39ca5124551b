"""What a table's input layer (network.Inputs) must learn from the training rows, worked out here with numpy."""

import numpy as np
import torch

from {{ cookiecutter.package }}.features import NUM_INPUTS


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


def fitted_state(features: torch.Tensor, inputs) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{name: (what the input layer holds, what it should)}: its buffers, saved in its state, against the account
    above."""
    expected = _expected(features, inputs)
    assert set(expected) <= {name for name, _ in inputs.named_buffers()}
    return {name: (getattr(inputs, name), value) for name, value in expected.items()}


def random_inputs(count: int) -> torch.Tensor:
    """Rows the model takes: any values of the encoded width."""
    return torch.rand(count, NUM_INPUTS)


def check_batch(features: torch.Tensor) -> None:
    assert features.shape[1:] == (NUM_INPUTS,) and features.dtype == torch.float32


def distinct_batch(dataset, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `count` of the dataset's rows, in order, each with features no earlier one has (NaN equal to NaN)."""
    seen, kept = set(), []
    for index in range(len(dataset)):
        features, _ = dataset[index]
        key = features.nan_to_num(float("inf")).numpy().tobytes()
        if key not in seen:
            seen.add(key)
            kept.append(index)
        if len(kept) == count:
            break
    rows = [dataset[index] for index in kept]
    return torch.stack([row[0] for row in rows]), torch.stack([torch.as_tensor(row[1]) for row in rows])
