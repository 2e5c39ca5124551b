"""The bundled data and the LightningDataModule (the saved split itself: splits.py)."""

from pathlib import Path

import lightning as L
{%- if cookiecutter.task == "image-classification" %}
import numpy as np
{%- endif %}
import pandas as pd
{%- if cookiecutter.task == "tabular-classification" %}
import sklearn.datasets
{%- endif %}
import torch
from torch.utils.data import DataLoader, Dataset

{% if cookiecutter.task == "image-classification" -%}
from .features import encode
from .images import decode, write_digits
{%- else -%}
from .features import FEATURES, encode
{%- endif %}
from .metrics import label_codes
from .schema import BUNDLED, LABEL
from .splits import SPLITS, check_split_current, file_sha256, load_split, save_splits, split
from .validate import ADOPT, ContractError

__all__ = ["SPLITS", "check_split_current", "file_sha256", "load_split", "save_splits", "split"]  # re-exported


def write_bundled_data(path: str | Path) -> Path:
    """Write scikit-learn's bundled data set (shipped inside the package, no download) where data.yaml's raw says."""
    if BUNDLED is None:
        raise ContractError(
            f"{path} is missing, and this project's contract was adopted from your own data (schema.BUNDLED is None). "
            f"Put it back (commit it, or fetch it in `make data`), or adopt another: {ADOPT}"
        )
{%- if cookiecutter.task == "image-classification" %}
    return write_digits(path)  # PNG files in class subfolders, the layout of your own images
{%- else %}
    bunch = getattr(sklearn.datasets, BUNDLED)(as_frame=True)
    frame = bunch.frame
    frame.columns = [column.replace(" ", "_") for column in frame.columns]
    frame[LABEL] = bunch.target_names[bunch.target]  # the label in its own values (names, not codes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[[*FEATURES, LABEL]].to_csv(path, index=False)
    return path
{%- endif %}


def to_tensors(frame: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoded features (features.encode) and class indices: what the model trains on."""
    return torch.from_numpy(encode(frame)), torch.from_numpy(label_codes(frame[LABEL]))


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
{%- if cookiecutter.task == "image-classification" %}


class ImageFiles(Dataset):
    """The index's images, decoded from disk as they are asked for (in the DataLoader's worker processes).

    `augment` (configs/train.yaml datamodule.augment, training split only): `flip` mirrors half the images left to
    right; `shift` moves each by up to that many pixels in each direction (the edge filled with the border).
    """

    def __init__(self, frame: pd.DataFrame, augment: dict | None = None):
        self.paths = frame["path"].tolist()
        self.labels = torch.from_numpy(label_codes(frame[LABEL]))
        self.flip, self.shift = bool((augment or {}).get("flip")), int((augment or {}).get("shift", 0))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        array, _ = decode(self.paths[index])
        if self.flip or self.shift:
            array = self._augment(array, torch.randint(0, 2**31 - 1, ()).item())
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).reshape(-1), self.labels[index]

    def _augment(self, array: np.ndarray, seed: int) -> np.ndarray:
        random = np.random.default_rng(seed)  # drawn from torch: seeded per worker by Lightning's seed_everything
        if self.flip and random.random() < 0.5:
            array = array[:, :, ::-1]
        if self.shift:
            rows, columns = random.integers(-self.shift, self.shift + 1, size=2)
            padded = np.pad(array, ((0, 0), (self.shift, self.shift), (self.shift, self.shift)), mode="edge")
            top, left = self.shift - rows, self.shift - columns
            array = padded[:, top : top + array.shape[1], left : left + array.shape[2]]
        return array


class ImageDataModule(InMemoryDataModule):
    """The saved split's images, read from their files by `num_workers` processes (0: in the training process).

    Only the index is held in memory; the loaders are InMemoryDataModule's, over ImageFiles datasets.
    """

    def __init__(
        self,
        splits_dir: str,
        batch_size: int = 64,
        eval_batch_size: int = 512,
        num_workers: int = 0,
        augment: dict | None = None,
        fit_rows: int = 5000,
    ):
        super().__init__(splits_dir, batch_size, eval_batch_size)
        self.num_workers, self.augment, self.fit_rows = num_workers, augment, fit_rows
        self.frames: dict[str, pd.DataFrame] = {}

    def setup(self, stage: str | None = None) -> None:
        for name in SPLITS:
            if name not in self.frames:
                self.frames[name] = load_split(self.splits_dir, name)

    def train_features(self) -> torch.Tensor:
        """Up to fit_rows training images (a seeded sample): what the model's normalisation is fitted on."""
        self.setup()
        train = self.frames["train"]
        return torch.from_numpy(encode(train.sample(n=min(self.fit_rows, len(train)), random_state=0)))

    def _loader(self, name: str, batch_size: int, shuffle: bool) -> DataLoader:
        dataset = ImageFiles(self.frames[name], self.augment if name == "train" else None)
        workers = {"num_workers": self.num_workers, "persistent_workers": self.num_workers > 0}
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, **workers)


DataModule = ImageDataModule
{%- else %}


DataModule = InMemoryDataModule
{%- endif %}
