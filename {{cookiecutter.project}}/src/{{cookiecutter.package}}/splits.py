"""The saved split: seeded, stratified, written once by `make validate` with a manifest of hashes.

Kept apart from data.py (the DataModule) so `make validate` does not import Lightning.
"""

import hashlib
import json
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from . import config
from .config import DataConfig
from .plugin import TASK
from .validate import STANDARD, ContractError, read_table, validate_frame, write_table

SPLITS = ("train", "val", "test")


def file_sha256(path: str | Path) -> str:
    """The file's hash; for a folder (of images), one hash over every file's relative path and content."""
    digest = hashlib.sha256()
    path = Path(path)
    if path.is_dir():
        for file in sorted(item for item in path.rglob("*") if item.is_file()):
            digest.update(f"{file.relative_to(path).as_posix()}\t{file_sha256(file)}\n".encode())
        return digest.hexdigest()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split(frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> dict[str, pd.DataFrame]:
    """Stratified, seeded split: the same data and seed give the same rows in each part.

    Rows with the same features.GROUP value (identical image files) go to one part together: a duplicate in both
    training and test would flatter the test score.
    """
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must be in (0, 1) and sum below 1"
        )
    if TASK.group is not None and frame[TASK.group].duplicated().any():
        firsts = split(frame.drop_duplicates(TASK.group), val_fraction, test_fraction, seed)
        return {name: frame[frame[TASK.group].isin(part[TASK.group])] for name, part in firsts.items()}
    rest, test = train_test_split(frame, test_size=test_fraction, random_state=seed, stratify=frame[TASK.label])
    train, val = train_test_split(
        rest, test_size=val_fraction / (1 - test_fraction), random_state=seed, stratify=rest[TASK.label]
    )
    return {"train": train, "val": val, "test": test}


def save_splits(parts: dict[str, pd.DataFrame], directory: str | Path, source: str | Path) -> dict:
    """Write each part as CSV (keeping the source row number) and a manifest with their hashes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"source": str(source), "source_sha256": file_sha256(source), "parts": {}}
    for name, part in parts.items():
        path = directory / f"{name}.csv"
        write_table(part.rename_axis("source_row").reset_index(), path, STANDARD)
        manifest["parts"][name] = {"rows": len(part), "sha256": file_sha256(path)}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def check_split_current(directory: str | Path, source: str | Path) -> None:
    """Refuse to go on when the source data changed after the split was saved (it was not re-validated)."""
    manifest_path = Path(directory) / "manifest.json"
    if not manifest_path.is_file():
        raise ContractError(f"{manifest_path}: no saved split. Run `make validate` first.")
    manifest = json.loads(manifest_path.read_text())
    if Path(source).exists() and manifest["source_sha256"] != file_sha256(source):
        raise ContractError(
            f"{source} changed after the split in {directory}/ was saved. Run `make validate` to check and re-split it."
        )


def load_split(directory: str | Path, name: str) -> pd.DataFrame:
    """Read one saved part, validated against the contract again (a hand-edited split is caught too)."""
    path = Path(directory) / f"{name}.csv"
    if not path.is_file():
        raise ContractError(f"{path}: no saved split. Run `make validate` (it validates and splits the data) first.")
    frame = read_table(path, dialect=STANDARD).set_index("source_row")
    return validate_frame(frame, path)


def split_and_save(frame: pd.DataFrame, source: str) -> tuple[str, dict[str, pd.DataFrame]]:
    """`make validate`'s second half: the validated frame split as configs/data.yaml says, saved; (folder, parts)."""
    data_cfg = config.load(DataConfig)
    parts = split(frame, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    directory = data_cfg.splits_dir
    save_splits(parts, directory, source)
    return directory, parts
