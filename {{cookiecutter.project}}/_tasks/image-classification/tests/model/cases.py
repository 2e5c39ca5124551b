"""What an image model's input layer (network.Inputs) must learn from the training images, worked out with numpy."""

import numpy as np
import torch

from {{ cookiecutter.package }}.images import SHAPE

from .encoded_rows import check_batch, distinct_batch, fitted_buffers, random_inputs

__all__ = ["check_batch", "distinct_batch", "fitted_state", "random_inputs"]  # what the shared model tests take


def _expected(features: torch.Tensor, inputs) -> dict[str, torch.Tensor]:
    """One mean and one spread (the sample standard deviation) of the grey levels per channel, over every pixel of
    every training image."""
    channels = features.double().numpy().reshape(len(features), SHAPE[0], -1).transpose(1, 0, 2).reshape(SHAPE[0], -1)
    return {
        "mean": torch.as_tensor(channels.mean(axis=1, keepdims=True), dtype=torch.float32),
        "scale": torch.as_tensor(np.maximum(channels.std(axis=1, ddof=1, keepdims=True), 1e-6), dtype=torch.float32),
    }


def fitted_state(features: torch.Tensor, inputs) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return fitted_buffers(_expected(features, inputs), inputs)
