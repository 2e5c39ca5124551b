"""The bundled data and the LightningDataModule (the saved split itself: splits.py)."""

from pathlib import Path

import lightning as L
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from .metrics import label_codes
from .plugin import TASK
from .splits import SPLITS, check_split_current, file_sha256, load_split, save_splits, split
from .validate import ContractError

__all__ = ["SPLITS", "check_split_current", "file_sha256", "load_split", "save_splits", "split"]  # re-exported


def write_bundled_data(path: str | Path) -> Path:
    """Write the task's bundled data set (a package's own files, no data-set download) where data.yaml's raw says."""
    if TASK.bundled is None:
        raise ContractError(
            f"{path} is missing, and this project's contract was adopted from your own data (schema.BUNDLED is None). "
            f"Put it back (commit it, or fetch it in `make data`), or adopt another: {TASK.adopt_usage}"
        )
    return TASK.write_bundled(Path(path))


def to_tensors(frame: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoded features (the task's encode) and class indices: what the model trains on."""
    return torch.from_numpy(TASK.encode(frame)), torch.from_numpy(label_codes(frame[TASK.label]))


class InMemoryDataset(Dataset):
    """Whole tensors in memory; a batch is one indexing operation, not batch_size calls to __getitem__."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor):
        self.features, self.labels = features, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.features[index], self.labels[index]

    def __getitems__(self, indices: list[int]):
        # DataLoader hands a whole batch of indices here when the dataset defines __getitems__.
        index = torch.as_tensor(indices)
        return self.features[index], self.labels[index]


def keep_batch(batch):
    """collate_fn for InMemoryDataset: the batch is already stacked."""
    return batch


class InMemoryDataModule(L.LightningDataModule):
    def __init__(self, splits_dir: str, batch_size: int = 64, eval_batch_size: int = 1024):
        super().__init__()
        self.splits_dir, self.batch_size, self.eval_batch_size = splits_dir, batch_size, eval_batch_size
        self.datasets: dict[str, InMemoryDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        for name in SPLITS:
            if name not in self.datasets:
                self.datasets[name] = InMemoryDataset(*to_tensors(load_split(self.splits_dir, name)))

    def train_features(self) -> torch.Tensor:
        """The training split's encoded rows: what the model's preprocessing is fitted on (network.Inputs)."""
        self.setup()
        return self.datasets["train"].features

    def _loader(self, name: str, batch_size: int, shuffle: bool) -> DataLoader:
        return DataLoader(self.datasets[name], batch_size=batch_size, shuffle=shuffle, collate_fn=keep_batch)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)


def datamodule(splits_dir: str, **settings) -> L.LightningDataModule:
    """The task's LightningDataModule over the saved split; `settings` are configs/train.yaml's datamodule keys."""
    return TASK.datamodule(splits_dir, **settings)
