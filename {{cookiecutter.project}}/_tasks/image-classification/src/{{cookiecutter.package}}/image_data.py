"""Training on images: the saved split's index, its files decoded as the loaders ask for them (task.py)."""

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from .data import InMemoryDataModule, load_split
from .features import encode
from .images import decode
from .metrics import label_codes
from .schema import LABEL
from .splits import SPLITS


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
