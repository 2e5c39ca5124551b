"""What an image model's input layer (network.Inputs) must learn from the training images, worked out with numpy."""

import numpy as np
import torch

from {{ cookiecutter.package }}.features import NUM_INPUTS
from {{ cookiecutter.package }}.images import SHAPE


def _expected(features: torch.Tensor, inputs) -> dict[str, torch.Tensor]:
    """One mean and one spread (the sample standard deviation) of the grey levels per channel, over every pixel of
    every training image."""
    channels = features.double().numpy().reshape(len(features), SHAPE[0], -1).transpose(1, 0, 2).reshape(SHAPE[0], -1)
    return {
        "mean": torch.as_tensor(channels.mean(axis=1, keepdims=True), dtype=torch.float32),
        "scale": torch.as_tensor(np.maximum(channels.std(axis=1, ddof=1, keepdims=True), 1e-6), dtype=torch.float32),
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
