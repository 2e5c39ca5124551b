"""`make simulate-traffic`: send held-out rows (as they are, or shifted) to a served bento, for the drift demo."""

import pandas as pd

from . import config
from .config import DataConfig
from .data import load_split
from .local_server import call
from .plugin import TASK


def held_out_records(shift: dict[str, float] | None = None) -> list[dict]:
    """The validation and test rows (never trained on), each once, as the service takes them.

    `shift` (configs/drift.yaml simulate.shift) changes them as the task's requests says: a fainter scan, an
    instrument recalibrated to other units.
    """
    splits_dir = config.load(DataConfig).splits_dir
    frame = pd.concat([load_split(splits_dir, name) for name in ("val", "test")], ignore_index=True)
    return TASK.request_records(frame, shift)


def send(url: str, records: list[dict], batch: int) -> int:
    """POST the records in batches; returns how many were answered. Any non-200 answer stops with its body."""
    for start in range(0, len(records), batch):
        status, body = call(f"{url.rstrip('/')}/predict", {"records": records[start : start + batch]}, timeout=30)
        if status != 200:
            raise RuntimeError(f"POST {url}/predict -> {status}: {body[:300]}")
    return len(records)
