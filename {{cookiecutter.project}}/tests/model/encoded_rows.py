"""The cases of a task whose model takes encoded rows of floats (a table's, an image's): what tests/model/cases.py
hands the shared model tests besides its own account of the fitted input layer."""

import torch
from torch.utils.data import IterableDataset, TensorDataset

from {{ cookiecutter.package }}.features import NUM_INPUTS


def fitted_buffers(expected: dict[str, torch.Tensor], inputs) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{name: (what the input layer holds, what it should)}: its buffers, saved in its state, against `expected`."""
    assert set(expected) <= {name for name, _ in inputs.named_buffers()}
    return {name: (getattr(inputs, name), value) for name, value in expected.items()}


def random_inputs(count: int) -> torch.Tensor:
    """Rows the model takes: any values of the encoded width."""
    return torch.rand(count, NUM_INPUTS)


def check_batch(features: torch.Tensor) -> None:
    assert features.shape[1:] == (NUM_INPUTS,) and features.dtype == torch.float32


def distinct_batch(dataset, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `count` of the dataset's rows, in order, each with features no earlier one has (NaN equal to NaN). A
    stream of batches (a table's shards) is read whole first."""
    if isinstance(dataset, IterableDataset):
        batches = list(dataset)
        dataset = TensorDataset(torch.cat([batch[0] for batch in batches]), torch.cat([batch[1] for batch in batches]))
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
