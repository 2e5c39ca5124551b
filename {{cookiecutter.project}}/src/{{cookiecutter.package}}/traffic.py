"""`make simulate-traffic`: send held-out rows (as they are, or shifted) to a served bento, for the drift demo."""

from fnmatch import fnmatch

import pandas as pd

from . import config
from .data import load_split
from .features import FEATURES, MONITORED, bounds, to_request
from .smoke import _call


def held_out_records(shift: dict[str, float] | None = None) -> list[dict]:
    """The validation and test rows (never trained on), each once, as the service takes them.

    `shift` multiplies the named number columns (a name may be an fnmatch pattern: `prefix_*`), kept inside the
    contract's range so the service takes them.
    """
    splits_dir = config.require(config.load("data"), "splits_dir", "data")
    frame = pd.concat([load_split(splits_dir, name)[FEATURES] for name in ("val", "test")], ignore_index=True)
    numbers = [name for name in FEATURES if MONITORED.get(name, "numerical") == "numerical"]
    for pattern, factor in (shift or {}).items():
        columns = [name for name in numbers if fnmatch(name, pattern)]
        if not columns:
            raise ValueError(f"configs/drift.yaml simulate.shift: {pattern!r} names no number column of the contract")
        for name in columns:
            low, high = bounds(name)
            shifted = (frame[name] * factor).clip(low, high)
            frame[name] = shifted.round() if pd.api.types.is_integer_dtype(frame[name]) else shifted
    return [to_request(row) for row in frame.to_dict("records")]


def send(url: str, records: list[dict], batch: int) -> int:
    """POST the records in batches; returns how many were answered. Any non-200 answer stops with its body."""
    for start in range(0, len(records), batch):
        status, body = _call(f"{url.rstrip('/')}/predict", {"records": records[start : start + batch]}, timeout=30)
        if status != 200:
            raise RuntimeError(f"POST {url}/predict -> {status}: {body[:300]}")
    return len(records)
