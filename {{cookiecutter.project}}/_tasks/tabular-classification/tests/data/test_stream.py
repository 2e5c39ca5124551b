"""Training from the split's shards: every process reads its own rows, every row once an epoch, in lockstep."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from {{ cookiecutter.package }} import config, data
from {{ cookiecutter.package }}.data import SPLITS, ShardStream, auto_batch_size, load_split, split
from {{ cookiecutter.package }}.splits import SHARD, SplitWriter, Store


def _save_sharded(bundled, row_groups: bool) -> Path:
    """The project's data split and saved in many small shards of uneven fill (the last of each part shorter); in
    one row group each, or written a few rows at a time (as `make validate` writes a large table: a shard of several
    row groups, which the stream reads one at a time, their edges not on the shards')."""
    data_cfg = config.load(config.DataConfig)
    parts = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    shard_rows = max(1, len(parts["train"]) // 6)
    writer = SplitWriter(data_cfg.splits_dir, shard_rows)
    for name in SPLITS:
        step = max(1, shard_rows // 3 + 1) if row_groups else max(1, len(parts[name]))
        for start in range(0, len(parts[name]), step):
            writer.write(name, parts[name].iloc[start : start + step])
    writer.commit(data_cfg.raw)
    first = pq.ParquetFile(Path(data_cfg.splits_dir) / "train" / SHARD.format(0))
    assert (first.num_row_groups > 1) == row_groups
    return Path(data_cfg.splits_dir)


@pytest.fixture(params=[False, True], ids=["one-row-group-a-shard", "uneven-row-groups"])
def sharded(request, workspace, bundled) -> Path:
    return _save_sharded(bundled, row_groups=request.param)


@pytest.fixture
def sharded_in_row_groups(workspace, bundled) -> Path:
    return _save_sharded(bundled, row_groups=True)


def _stream(sharded: Path, name: str = "train", **settings) -> ShardStream:
    part = json.loads((sharded / "manifest.json").read_text())["parts"][name]
    return ShardStream(Store(sharded), part["shards"], with_rows=True, **settings)


def _epoch(stream: ShardStream, rank: int, world: int, monkeypatch) -> list[torch.Tensor]:
    """The batches process `rank` of `world` reads in one epoch (its source rows)."""
    monkeypatch.setattr(data, "_process", lambda: (rank, world))
    return [rows for _, _, rows in stream]


@pytest.mark.parametrize("world", [1, 2, 3])
def test_each_process_reads_its_own_rows_and_together_every_row_once(sharded, world, monkeypatch):
    train = set(load_split(sharded, "train").index)
    batch_size = max(1, len(train) // 10)
    streams = [_stream(sharded, batch_size=batch_size, shuffle=True, seed=3, buffer_rows=batch_size * 2)]
    streams += [_stream(sharded, batch_size=batch_size, shuffle=True, seed=3, buffer_rows=batch_size * 2)
                for _ in range(world - 1)]  # fmt: skip
    for _ in range(2):  # two epochs: the order changes, the coverage does not
        batches = [_epoch(stream, rank, world, monkeypatch) for rank, stream in enumerate(streams)]
        seen = torch.cat([rows for process in batches for rows in process]).tolist()
        assert sorted(seen) == sorted(train), "every training row exactly once an epoch"
        counts = {len(process) for process in batches}
        monkeypatch.setattr(data, "_process", lambda: (0, world))
        assert counts == {len(streams[0])}, "every process steps the same number of times (DDP waits otherwise)"
        assert all(len(rows) >= 1 for process in batches for rows in process)


def test_shuffling_changes_the_order_every_epoch_and_the_seed_repeats_it(sharded, monkeypatch):
    batch_size = 16
    first = _stream(sharded, batch_size=batch_size, shuffle=True, seed=5, buffer_rows=64)
    again = _stream(sharded, batch_size=batch_size, shuffle=True, seed=5, buffer_rows=64)
    epochs = [torch.cat(_epoch(first, 0, 1, monkeypatch)).tolist() for _ in range(2)]
    repeat = torch.cat(_epoch(again, 0, 1, monkeypatch)).tolist()
    assert epochs[0] == repeat, "the same seed, the same first epoch"
    assert epochs[0] != epochs[1] and sorted(epochs[0]) == sorted(epochs[1])
    in_order = torch.cat(_epoch(_stream(sharded, batch_size=batch_size), 0, 1, monkeypatch)).tolist()
    assert in_order == list(load_split(sharded, "train").index), "unshuffled: the part's own order"


def test_batch_size_follows_the_training_rows():
    assert auto_batch_size(569) == auto_batch_size(16_384) == 64  # a small table trains as it always has
    sizes = [auto_batch_size(rows) for rows in (20_000, 100_000, 1_000_000, 4_000_000, 50_000_000)]
    assert sizes == sorted(sizes) and all(size & (size - 1) == 0 for size in sizes)  # growing powers of two
    assert sizes[2] == sizes[-1] == 4096  # capped: a step's work is then far above Lightning's fixed cost per step
    steps = [rows / size for rows, size in zip((20_000, 100_000), sizes[:2], strict=True)]
    assert all(128 / 2**0.5 <= step <= 128 * 2**0.5 for step in steps)  # about 128 steps an epoch


DDP_SCRIPT = """
import json, sys
import lightning as L
import torch
from {{ cookiecutter.package }}.data import ShardDataModule

class Recorder(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.seen = {}
    def training_step(self, batch, batch_idx):
        features, labels, rows = batch
        self.seen.setdefault(self.current_epoch, []).extend(rows.tolist())
        return self.layer(torch.ones(len(labels), 1)).sum() * 0.0
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)

L.seed_everything(7)
module = ShardDataModule(sys.argv[1], batch_size=int(sys.argv[2]), with_rows=True, buffer_rows=64)
model = Recorder()
trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_epochs=2, logger=False,
                    enable_checkpointing=False, enable_progress_bar=False, limit_val_batches=0)
trainer.fit(model, datamodule=module)
with open(f"{sys.argv[3]}/rank-{trainer.global_rank}.json", "w") as handle:
    json.dump(model.seen, handle)
"""


@pytest.mark.slow
def test_two_ddp_processes_train_on_every_row_exactly_once_an_epoch(sharded_in_row_groups, tmp_path):
    """Lightning's DDP on two CPU processes (gloo), reading the shards: the two ranks' rows in each epoch are the
    training part, each row once, and neither rank stepped more than the other."""
    script = tmp_path / "ddp_rows.py"
    script.write_text(DDP_SCRIPT)
    train = load_split(sharded_in_row_groups, "train").index
    batch_size = max(2, len(train) // 9)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(script), str(sharded_in_row_groups.resolve()), str(batch_size), str(tmp_path)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank-{rank}.json").read_text()) for rank in (0, 1)]
    for epoch in ("0", "1"):
        seen = ranks[0][epoch] + ranks[1][epoch]
        assert sorted(seen) == sorted(train.tolist()), f"epoch {epoch}: every training row once"
        assert abs(len(ranks[0][epoch]) - len(ranks[1][epoch])) <= 1
