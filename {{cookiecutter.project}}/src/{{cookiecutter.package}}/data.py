"""The bundled data and the LightningDataModules (the saved split itself: splits.py).

A table trains from the split's Parquet shards as a stream (ShardDataModule): memory follows a shard and the
shuffle buffer, not the table. An image or text task holds its split's index or texts (InMemoryDataModule).
"""

import math
import warnings
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pyarrow as pa
import torch
import torch.distributed
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from .metrics import label_codes
from .plugin import TASK
from .splits import (
    SPLITS,
    Store,
    check_part_current,
    check_split_current,
    file_sha256,
    load_split,
    read_manifest,
    save_splits,
    split,
)
from .validate import ContractError

# Lightning warns that an IterableDataset's length can be wrong with several loader workers: a ShardStream splits its
# rows between workers too, and its length is what each process yields.
warnings.filterwarnings("ignore", message="Your `IterableDataset` has `__len__` defined")

__all__ = [  # re-exported
    "SPLITS", "check_split_current", "file_sha256", "load_split", "read_manifest", "save_splits", "split",
]  # fmt: skip


def auto_batch_size(rows: int) -> int:
    """configs/train.yaml's `batch_size: auto`: 64 up to 16,384 training rows; above, the power of two nearest
    rows / 128 (about 128 steps an epoch), at most 4,096. A step's fixed cost (Lightning's loop and hooks, the
    optimiser call: about 2 ms on a CPU) is then a small share of its work: at 1,024 rows a step Lightning ran at 0.7
    of a hand-written loop's speed, at 4,096 at 0.96 (bench/train_throughput.py)."""
    if rows <= 16_384:
        return 64
    return min(4096, 2 ** round(math.log2(rows / 128)))


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


def _process() -> tuple[int, int]:
    """(this process's rank, how many processes read the data): DDP's ranks, each rank's DataLoader workers within."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    worker = get_worker_info()
    if worker is not None:
        rank, world = rank * worker.num_workers + worker.id, world * worker.num_workers
    return rank, world


class ShardStream(IterableDataset):
    """A saved part's shards as batches of (features, labels[, source rows]), read and encoded a shard at a time.

    Each epoch the shards are taken in one seeded order (a new order every epoch when shuffling), as one stream of
    rows, and each process (every DDP rank, every DataLoader worker) reads its own contiguous slice of that stream:
    together they read every row exactly once. When shuffling, rows pass through a buffer of `buffer_rows` and
    leave it in a seeded random order. Every process yields the same number of batches: DDP steps in lockstep.
    """

    def __init__(
        self,
        store: Store,
        shards: list[dict],
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        buffer_rows: int = 262_144,
        with_rows: bool = False,
    ):
        self.store, self.shards, self.batch_size = store, shards, batch_size
        self.shuffle, self.seed, self.buffer_rows, self.with_rows = shuffle, seed, buffer_rows, with_rows
        self.rows = sum(shard["rows"] for shard in shards)
        self.epoch = 0

    def __len__(self) -> int:
        """Batches each process yields."""
        _, world = _process()
        return math.ceil(math.ceil(self.rows / world) / self.batch_size)

    def _sizes(self, rows: int) -> list[int]:
        """This process's batch sizes: `batch_size` rows each, the last what is left, and as many as every other
        process has (a process with a row fewer gives its last batch one row of the one before)."""
        count = len(self)
        sizes = [self.batch_size] * (count - 1) + [rows - self.batch_size * (count - 1)]
        for index in range(count - 1, 0, -1):
            while sizes[index] < 1 and sizes[index - 1] > 1:
                sizes[index] += 1
                sizes[index - 1] -= 1
        return sizes

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        rank, world = _process()
        order = np.arange(len(self.shards))
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(order)  # the same on every process
        low, high = rank * self.rows // world, (rank + 1) * self.rows // world
        shuffler = np.random.default_rng([self.seed, epoch, rank])
        sizes = deque(self._sizes(high - low))
        pending: list[tuple[torch.Tensor, ...]] = []
        held = 0
        buffer_rows = self.buffer_rows if self.shuffle else 1  # in order: batches leave as soon as they are read
        for chunk in self._chunks(order, low, high):
            pending.append(chunk)
            held += len(chunk[1])
            if held >= buffer_rows:
                pending, held = yield from self._emit(pending, sizes, shuffler, final=False)
        yield from self._emit(pending, sizes, shuffler, final=True)

    def _emit(self, pending, sizes: deque[int], shuffler: np.random.Generator, final: bool):
        """Yield whole batches from the buffer (shuffled); keep what does not fill the next one, unless `final`."""
        if not pending:
            return [], 0
        buffer = [torch.cat(parts) for parts in zip(*pending, strict=True)]
        if self.shuffle:
            permutation = torch.from_numpy(shuffler.permutation(len(buffer[1])))
            buffer = [part[permutation] for part in buffer]
        start = 0
        while sizes and (final or start + sizes[0] <= len(buffer[1])):
            size = sizes.popleft()
            yield tuple(part[start : start + size] for part in buffer)
            start += size
        rest = [part[start:] for part in buffer]
        return ([tuple(rest)] if len(rest[1]) else []), len(rest[1])

    def _chunks(self, order: np.ndarray, low: int, high: int) -> Iterator[tuple[torch.Tensor, ...]]:
        """Encoded rows low..high of the stream of shards in `order`, a row group (what `make validate` wrote in one
        go, at most data.yaml's batch_rows) at a time: memory holds the buffer, not a shard, and Lightning's sanity
        check reads one row group, not a whole part."""
        position = 0
        for index in order:
            shard = self.shards[index]
            if low < position + shard["rows"] and position < high:
                with self.store.open(shard["file"]) as parquet:
                    for group in range(parquet.num_row_groups):
                        rows = parquet.metadata.row_group(group).num_rows
                        first, last = max(low, position), min(high, position + rows)
                        if first < last:
                            yield self._encode(parquet.read_row_group(group).slice(first - position, last - first))
                        position += rows
            else:
                position += shard["rows"]

    def _encode(self, table: pa.Table) -> tuple[torch.Tensor, ...]:
        frame = table.to_pandas()
        features, labels = to_tensors(frame)
        if self.with_rows:
            return features, labels, torch.tensor(frame["source_row"].to_numpy(np.int64))
        return features, labels


class ShardFeatures:
    """A part's encoded rows as one tensor per shard; read again each time it is iterated."""

    def __init__(self, store: Store, shards: list[dict]):
        self.store, self.shards = store, shards

    def __iter__(self) -> Iterator[torch.Tensor]:
        for shard in self.shards:
            yield to_tensors(self.store.read_table(shard["file"]).to_pandas())[0]


class ShardDataModule(L.LightningDataModule):
    """The saved split's Parquet shards, streamed (ShardStream): the training part shuffled by shard and within a
    buffer of `buffer_rows`, each DDP rank reading its own rows; validation and test in order, split between ranks
    as well (their metrics are synced)."""

    def __init__(
        self,
        splits_dir: str,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        buffer_rows: int = 262_144,
        seed: int | None = None,
        with_rows: bool = False,
    ):
        """`seed` orders the shuffling (default: torch's, which lightning.seed_everything set alike on every rank)."""
        super().__init__()
        self.splits_dir, self.batch_size, self.eval_batch_size = splits_dir, batch_size, eval_batch_size
        self.store = Store(splits_dir)  # a local folder or an s3:// prefix
        self.buffer_rows, self.with_rows = buffer_rows, with_rows
        self.seed = torch.initial_seed() if seed is None else seed
        self.parts: dict[str, dict] = {}
        self.streams: dict[str, ShardStream] = {}

    def setup(self, stage: str | None = None) -> None:
        for name in SPLITS:
            if name not in self.parts:
                self.parts[name] = check_part_current(self.splits_dir, name)

    def stream(self, name: str) -> ShardStream:
        """The part's stream: one object for the whole fit, so that its epoch count moves the shuffle on."""
        self.setup()
        if name not in self.streams:
            train = name == "train"
            self.streams[name] = ShardStream(
                self.store,
                self.parts[name]["shards"],
                self.batch_size if train else self.eval_batch_size,
                shuffle=train,
                seed=self.seed,
                buffer_rows=self.buffer_rows,
                with_rows=self.with_rows,
            )
        return self.streams[name]

    def train_features(self) -> "ShardFeatures":
        """The training part's encoded rows, a shard at a time: what network.Inputs is fitted on, in one pass."""
        self.setup()
        return ShardFeatures(self.store, self.parts["train"]["shards"])

    def _loader(self, name: str) -> DataLoader:
        return DataLoader(self.stream(name), batch_size=None)  # the stream yields whole batches

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")


def datamodule(splits_dir: str, **settings) -> L.LightningDataModule:
    """The task's LightningDataModule over the saved split; `settings` are configs/train.yaml's datamodule keys."""
    return TASK.datamodule(splits_dir, **settings)
