"""Data loading, the saved split, and the in-memory LightningDataModule."""

import hashlib
import json
from pathlib import Path

import lightning as L
import pandas as pd
import sklearn.datasets
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, Dataset

from .features import FEATURES, encode
from .metrics import label_codes
from .schema import BUNDLED, LABEL
from .validate import ContractError, read_table, validate_frame, write_table

SPLITS = ("train", "val", "test")


def write_bundled_data(path: str | Path) -> Path:
    """Write scikit-learn's bundled data set (shipped inside the package, no download) as a CSV file."""
    if BUNDLED is None:
        raise ContractError(
            f"{path} is missing, and this project's contract was adopted from your own data (schema.BUNDLED is None). "
            "Put the file back (commit it, or fetch it in `make data`), or adopt another: make adopt DATA=... LABEL=..."
        )
    bunch = getattr(sklearn.datasets, BUNDLED)(as_frame=True)
    frame = bunch.frame
    frame.columns = [column.replace(" ", "_") for column in frame.columns]
    frame[LABEL] = bunch.target_names[bunch.target]  # the label in its own values (names, not codes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[[*FEATURES, LABEL]].to_csv(path, index=False)
    return path


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split(frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> dict[str, pd.DataFrame]:
    """Stratified, seeded split: the same data and seed give the same rows in each part."""
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must be in (0, 1) and sum below 1"
        )
    rest, test = train_test_split(frame, test_size=test_fraction, random_state=seed, stratify=frame[LABEL])
    train, val = train_test_split(
        rest, test_size=val_fraction / (1 - test_fraction), random_state=seed, stratify=rest[LABEL]
    )
    return {"train": train, "val": val, "test": test}


def save_splits(parts: dict[str, pd.DataFrame], directory: str | Path, source: str | Path) -> dict:
    """Write each part as CSV (keeping the source row number) and a manifest with their hashes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"source": str(source), "source_sha256": file_sha256(source), "parts": {}}
    for name, part in parts.items():
        path = directory / f"{name}.csv"
        write_table(part.rename_axis("source_row").reset_index(), path)
        manifest["parts"][name] = {"rows": len(part), "sha256": file_sha256(path)}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def check_split_current(directory: str | Path, source: str | Path) -> None:
    """Refuse to go on when the source data changed after the split was saved (it was not re-validated)."""
    manifest_path = Path(directory) / "manifest.json"
    if not manifest_path.is_file():
        raise ContractError(f"{manifest_path}: no saved split. Run `make validate` first.")
    manifest = json.loads(manifest_path.read_text())
    if Path(source).is_file() and manifest["source_sha256"] != file_sha256(source):
        raise ContractError(
            f"{source} changed after the split in {directory}/ was saved. Run `make validate` to check and re-split it."
        )


def load_split(directory: str | Path, name: str) -> pd.DataFrame:
    """Read one saved part, validated against the contract again (a hand-edited split is caught too)."""
    path = Path(directory) / f"{name}.csv"
    if not path.is_file():
        raise ContractError(f"{path}: no saved split. Run `make validate` (it validates and splits the data) first.")
    frame = read_table(path).set_index("source_row")
    return validate_frame(frame, path)


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
