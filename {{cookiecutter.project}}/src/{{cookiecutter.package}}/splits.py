"""The saved split: seeded, stratified, written once by `make validate` as Parquet shards with a manifest of hashes.

`make validate` reads the data in batches (validate.read_batches), checks each against the contract and writes the
split part by part, shard by shard: memory follows a batch, not the table. Kept apart from data.py (the DataModule)
so `make validate` does not import Lightning.
"""

import hashlib
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq
from sklearn.model_selection import train_test_split

from . import config
from .config import DataConfig
from .plugin import TASK
from .validate import (
    TEXT,
    ContractError,
    FailureLog,
    parquet_batches,
    read_batches,
    reading_as_text,
    settled,
    validate_frame,
)

SPLITS = ("train", "val", "test")
FORMAT = "parquet-shards"
SHARD = "part-{:05d}.parquet"


def file_sha256(path: str | Path) -> str:
    """The file's hash; for a folder (of images, of shards), one hash over every file's relative path and content."""
    path = Path(path)
    if path.is_dir():
        return Store(path).sha256()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assign(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """Each row's part (0 train, 1 val, 2 test), stratified by label and seeded: the same labels and seed give the
    same assignment, whether the rows were read at once or in batches.

    Rows with the same `groups` value (identical image files) go to one part together: a duplicate in both training
    and test would flatter the test score.
    """
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must be in (0, 1) and sum below 1"
        )
    if groups is not None:
        first = ~pd.Series(groups).duplicated().to_numpy()
        if not first.all():
            parts = assign(labels[first], val_fraction, test_fraction, seed)
            return pd.Series(groups).map(pd.Series(parts, index=groups[first])).to_numpy(np.int8)
    positions = np.arange(len(labels), dtype=np.int32 if len(labels) < 2**31 else np.int64)  # half the memory
    rest, test = train_test_split(positions, test_size=test_fraction, random_state=seed, stratify=labels)
    _, val = train_test_split(
        rest, test_size=val_fraction / (1 - test_fraction), random_state=seed, stratify=labels[rest]
    )
    parts = np.zeros(len(labels), dtype=np.int8)
    parts[val], parts[test] = 1, 2
    return parts


def split(frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> dict[str, pd.DataFrame]:
    """The frame's rows in each part (assign), in the frame's order."""
    groups = frame[TASK.group].to_numpy() if TASK.group is not None else None
    parts = assign(frame[TASK.label].astype(str).to_numpy(), val_fraction, test_fraction, seed, groups)
    return {name: frame[parts == index] for index, name in enumerate(SPLITS)}


class Store:
    """Where the saved split lives: a local folder, or a prefix on S3-compatible storage (`s3://bucket/prefix`: the
    platform's MinIO or any S3; credentials and endpoint from the usual AWS_* variables, AWS_ENDPOINT_URL for a store
    other than Amazon's). Every step reads the split through this, so the same code trains from either."""

    def __init__(self, location: str | Path):
        self.location = str(location).rstrip("/")
        self.remote = self.location.startswith("s3://")
        if self.remote:
            try:
                self.fs, self.root = pyarrow.fs.FileSystem.from_uri(self.location)
            except (OSError, pa.ArrowInvalid) as error:
                raise ContractError(
                    f"{self.location}: cannot reach this storage ({error}). Check AWS_* variables."
                ) from None
        else:
            self.fs, self.root = pyarrow.fs.LocalFileSystem(), str(Path(self.location).resolve())

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def exists(self, relative: str) -> bool:
        return self.fs.get_file_info(self.path(relative)).type != pyarrow.fs.FileType.NotFound

    def read_text(self, relative: str) -> str:
        with self.fs.open_input_stream(self.path(relative)) as stream:
            return stream.read().decode()

    def read_table(self, relative: str) -> pa.Table:
        return pq.read_table(self.path(relative), filesystem=self.fs)

    def open(self, relative: str) -> pq.ParquetFile:
        """A shard, to read a row group at a time."""
        return pq.ParquetFile(self.path(relative), filesystem=self.fs)  # closed with the ParquetFile

    def sha256(self, relative: str = "") -> str:
        """One hash over a folder's files (the whole store's by default): a line per file, in the order of their
        relative paths' parts, of the path, a tab and the content's hash. A local folder (file_sha256) and the same
        files on S3 hash alike: the manifest's hash, made on the local staging folder, is checked here."""
        folder = self.path(relative) if relative else self.root
        if self.remote:
            selector = pyarrow.fs.FileSelector(folder, recursive=True)
            files = {item.path[len(folder) + 1 :]: item.path for item in self.fs.get_file_info(selector)
                     if item.type == pyarrow.fs.FileType.File}  # fmt: skip
        else:  # pathlib's walk: a symlinked folder inside is not followed (pyarrow's would, round a loop too)
            files = {item.relative_to(folder).as_posix(): str(item) for item in Path(folder).rglob("*")
                     if item.is_file()}  # fmt: skip
        digest = hashlib.sha256()
        for name in sorted(files, key=lambda name: name.split("/")):
            content = hashlib.sha256()
            with self.fs.open_input_stream(files[name]) as stream:
                for block in iter(lambda stream=stream: stream.read(1 << 20), b""):
                    content.update(block)
            digest.update(f"{name}\t{content.hexdigest()}\n".encode())
        return digest.hexdigest()

    def publish(self, staging: Path) -> None:
        """Put a finished split in place of the one there. A local folder is swapped in one rename; on S3 the old
        objects go, the shards are copied, and the manifest last: a reader finds no manifest, or a whole split."""
        if not self.remote:
            shutil.rmtree(self.root, ignore_errors=True)
            staging.rename(self.root)
            return
        self.fs.delete_dir_contents(self.root, missing_dir_ok=True)
        for name in SPLITS:
            pyarrow.fs.copy_files(str(staging / name), self.path(name), destination_filesystem=self.fs)
        with self.fs.open_output_stream(self.path("manifest.json")) as stream:
            stream.write((staging / "manifest.json").read_bytes())
        shutil.rmtree(staging, ignore_errors=True)


class SplitWriter:
    """Rows into `<directory>/<part>/part-NNNNN.parquet`, at most `shard_rows` rows per shard.

    Everything is written to a staging folder (beside a local `directory`, a temporary one for S3) and put in place by
    commit(): a failure (abort) leaves the split that was there as it was.
    """

    def __init__(self, directory: str | Path, shard_rows: int):
        self.store, self.shard_rows = Store(directory), shard_rows
        if self.store.remote:
            self.staging = Path(tempfile.mkdtemp(prefix="split-"))
        else:
            local = Path(self.store.root)
            self.staging = local.with_name(local.name + ".staging")
            shutil.rmtree(self.staging, ignore_errors=True)  # what a killed run left
            self.staging.mkdir(parents=True)
        self.schema: pa.Schema | None = None
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.shards: dict[str, list[dict]] = {name: [] for name in SPLITS}
        self.classes: dict[str, Counter] = {name: Counter() for name in SPLITS}

    def write(self, name: str, frame: pd.DataFrame) -> None:
        """Append validated rows (indexed by their row in the source) to part `name`."""
        if frame.empty:
            return
        self.classes[name].update(frame[TASK.label].astype(str).value_counts().to_dict())
        table = pa.Table.from_pandas(frame.rename_axis("source_row").reset_index(), preserve_index=False)
        if self.schema is None:
            self.schema = settled(table.schema)
        table = table.cast(self.schema)
        while table.num_rows:
            shards = self.shards[name]
            if not shards or shards[-1]["rows"] >= self.shard_rows:
                self._open(name)
            room = self.shard_rows - shards[-1]["rows"]
            self.writers[name].write_table(table.slice(0, room))
            shards[-1]["rows"] += min(room, table.num_rows)
            table = table.slice(room)

    def _open(self, name: str) -> None:
        if name in self.writers:
            self.writers[name].close()
        path = self.staging / name / SHARD.format(len(self.shards[name]))
        path.parent.mkdir(exist_ok=True)
        self.writers[name] = pq.ParquetWriter(path, self.schema)
        self.shards[name].append({"file": path.relative_to(self.staging).as_posix(), "rows": 0})

    def commit(self, source: str | Path) -> dict:
        """Close the shards, write the manifest (rows, classes and a hash per part) and move the split into place."""
        for writer in self.writers.values():
            writer.close()
        manifest = {"source": str(source), "source_sha256": file_sha256(source), "format": FORMAT, "parts": {}}
        for name in SPLITS:
            (self.staging / name).mkdir(exist_ok=True)
            manifest["parts"][name] = {
                "rows": sum(shard["rows"] for shard in self.shards[name]),
                "sha256": file_sha256(self.staging / name),
                "classes": dict(sorted(self.classes[name].items())),
                "shards": self.shards[name],
            }
        (self.staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        self.store.publish(self.staging)
        return manifest

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.close()
        shutil.rmtree(self.staging, ignore_errors=True)


def save_splits(parts: dict[str, pd.DataFrame], directory: str | Path, source: str | Path) -> dict:
    """Write each part (rows indexed by their source row) as shards, and the manifest; returns the manifest."""
    writer = SplitWriter(directory, config.load(DataConfig).shard_rows)
    try:
        for name in SPLITS:
            writer.write(name, parts[name])
        return writer.commit(source)
    except BaseException:
        writer.abort()
        raise


def read_manifest(directory: str | Path) -> dict:
    """The saved split's manifest; a clear error where there is none, or one an older version wrote (CSV parts)."""
    store = Store(directory)
    if not store.exists("manifest.json"):
        raise ContractError(
            f"{store.location}/manifest.json: no saved split. Run `make validate` (it validates and splits the data) "
            "first."
        )
    manifest = json.loads(store.read_text("manifest.json"))
    if manifest.get("format") != FORMAT:
        raise ContractError(f"{directory}/ holds a split in an older format. Run `make validate` to save it again.")
    return manifest


def check_split_current(directory: str | Path, source: str | Path) -> None:
    """Refuse to go on when the source data changed after the split was saved (it was not re-validated)."""
    manifest = read_manifest(directory)
    if Path(source).exists() and manifest["source_sha256"] != file_sha256(source):
        raise ContractError(
            f"{source} changed after the split in {directory}/ was saved. Run `make validate` to check and re-split it."
        )


def check_part_current(directory: str | Path, name: str) -> dict:
    """The part's manifest entry, once its shards are checked against the hash `make validate` recorded: a hand-edited
    split is refused, not trained on."""
    part = read_manifest(directory)["parts"][name]
    if Store(directory).sha256(name) != part["sha256"]:
        raise ContractError(
            f"{directory}/{name}/ changed after `make validate` saved it. Run `make validate` to check and re-split it."
        )
    return part


def load_split(directory: str | Path, name: str, rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Read one saved part, validated against the contract again (a hand-edited split is caught too): whole, or a
    seeded sample of at most `rows` rows read shard by shard (what a step needs of a part of millions of rows)."""
    part = read_manifest(directory)["parts"][name]
    store = Store(directory)
    if rows is None or part["rows"] <= rows:
        frame = store.read_table(name).to_pandas()
    else:
        wanted = np.sort(np.random.default_rng(seed).choice(part["rows"], size=rows, replace=False))
        pieces, start = [], 0
        for shard in part["shards"]:
            inside = wanted[(wanted >= start) & (wanted < start + shard["rows"])] - start
            if len(inside):
                pieces.append(store.read_table(shard["file"]).take(inside).to_pandas())
            start += shard["rows"]
        frame = pd.concat(pieces, ignore_index=True)
    return validate_frame(frame.set_index("source_row"), f"{store.location}/{name}")


def label_codes_sorted(levels: dict[str, int], codes: np.ndarray) -> np.ndarray:
    """Codes numbered by first appearance, renumbered in the labels' sorted order (as np.unique numbers them): the
    stratified assignment is then the one the labels themselves give."""
    names = sorted(levels)
    remap = np.empty(len(levels), dtype=np.int32)
    for rank, label in enumerate(names):
        remap[levels[label]] = rank
    return remap[codes]


def validate_and_split(source: str | Path, split_it: bool = True, progress: bool = True) -> tuple[int, dict | None]:
    """`make validate`: check the data batch by batch, then write the split as configs/data.yaml says.

    First pass: each batch is checked (every failure of every batch is reported, with its line in the file) and, while
    none failed, spooled as validated Parquet. Second pass: the spool's rows go to their parts. A failure anywhere
    writes nothing. Returns (rows, manifest or None when not split).
    """
    return reading_as_text(lambda text: _validate_and_split(source, split_it, progress, text), TEXT)


def _validate_and_split(source: str | Path, split_it: bool, progress: bool, text: list[str]) -> tuple[int, dict | None]:
    data_cfg = config.load(DataConfig)
    writer = SplitWriter(data_cfg.splits_dir, data_cfg.shard_rows) if split_it else None
    spool_path = writer.staging / "validated.parquet" if writer else None
    spool: pq.ParquetWriter | None = None
    failures = FailureLog(source)
    levels: dict[str, int] = {}
    codes: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    rows, started, shown = 0, time.monotonic(), time.monotonic()
    try:
        for start, batch in read_batches(source, data_cfg.batch_rows, text):
            rows = start + len(batch)
            valid = failures.check(batch, start)
            if progress and time.monotonic() - shown > 10:
                shown = time.monotonic()
                print(f"  validate: {rows:,} rows checked in {shown - started:.0f} s", flush=True)
            if valid is None or writer is None or failures.count:
                continue
            for label in valid[TASK.label].astype(str).unique():
                levels.setdefault(label, len(levels))
            codes.append(valid[TASK.label].astype(str).map(levels).to_numpy(np.int32))
            if TASK.group is not None:
                groups.append(valid[TASK.group].to_numpy())
            table = pa.Table.from_pandas(valid.rename_axis("source_row").reset_index(), preserve_index=False)
            if spool is None:
                spool = pq.ParquetWriter(spool_path, settled(table.schema), compression="none")  # read once, soon
            spool.write_table(table.cast(spool.schema))
        failures.raise_if_any()
        if writer is None:
            return rows, None
        pa.default_memory_pool().release_unused()  # pass 1's batches, freed but kept by pyarrow: not on top of assign
        parts = assign(
            label_codes_sorted(levels, np.concatenate(codes)),
            data_cfg.val_fraction,
            data_cfg.test_fraction,
            data_cfg.seed,
            np.concatenate(groups) if groups else None,
        )
        spool.close()
        spool = None
        _distribute(parquet_batches(pq.ParquetFile(spool_path), data_cfg.batch_rows), parts, writer)
        spool_path.unlink()
        return rows, writer.commit(source)
    except BaseException:
        if spool is not None:
            spool.close()
        if writer is not None:
            writer.abort()
        raise


def _distribute(batches: Iterable[pa.RecordBatch], parts: np.ndarray, writer: SplitWriter) -> None:
    """Send each spooled row to its part (`parts`, by position in the spool)."""
    offset = 0
    for batch in batches:
        frame = batch.to_pandas().set_index("source_row")
        mine = parts[offset : offset + len(frame)]
        offset += len(frame)
        for index, name in enumerate(SPLITS):
            writer.write(name, frame[mine == index])


def split_and_save(frame: pd.DataFrame, source: str) -> tuple[str, dict[str, pd.DataFrame]]:
    """A validated frame split as configs/data.yaml says, saved; (folder, parts)."""
    data_cfg = config.load(DataConfig)
    parts = split(frame, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    save_splits(parts, data_cfg.splits_dir, source)
    return data_cfg.splits_dir, parts
