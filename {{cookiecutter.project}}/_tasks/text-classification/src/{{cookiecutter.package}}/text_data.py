"""Training on texts: batches of raw texts and class indices. The model tokenizes them with its own tokenizer
(tokenizer.TextInputs), so training reads texts exactly as the saved model and the service do."""

import pandas as pd
import torch
from torch.utils.data import Dataset

from .data import InMemoryDataModule, load_split
from .metrics import label_codes
from .schema import LABEL, TEXT
from .splits import SPLITS


class Texts(Dataset):
    def __init__(self, frame: pd.DataFrame):
        self.texts = frame[TEXT].astype(str).tolist()
        self.labels = torch.from_numpy(label_codes(frame[LABEL]))

    def __len__(self) -> int:
        return len(self.texts)

    def __getitems__(self, indices: list[int]):
        return [self.texts[index] for index in indices], self.labels[torch.as_tensor(indices)]


class TextDataModule(InMemoryDataModule):
    """The saved split's texts in memory; what the tokenizer is learned on is the training split's texts."""

    def __init__(self, splits_dir: str, batch_size: int = 64, eval_batch_size: int = 512):
        super().__init__(splits_dir, batch_size, eval_batch_size)
        self.frames: dict[str, pd.DataFrame] = {}

    def setup(self, stage: str | None = None) -> None:
        for name in SPLITS:
            if name not in self.frames:
                self.frames[name] = load_split(self.splits_dir, name)
                self.datasets[name] = Texts(self.frames[name])

    def train_features(self) -> list[str]:
        """The training split's texts: what the model's tokenizer is learned on (TextInputs.fit)."""
        self.setup()
        return self.datasets["train"].texts
