"""`make simulate-traffic`: send held-out rows (as they are, or shifted) to a served bento, for the drift demo."""

import json
import urllib.error
import urllib.request

import pandas as pd

from . import config
from .data import load_split
from .schema import FEATURES


def held_out_records(shift: dict[str, float] | None = None) -> list[dict[str, float]]:
    """The validation and test rows (never trained on), each once; `shift` multiplies the named columns."""
    splits_dir = config.require(config.load("data"), "splits_dir", "data")
    frame = pd.concat([load_split(splits_dir, name)[FEATURES] for name in ("val", "test")], ignore_index=True)
    for column, factor in (shift or {}).items():
        if column not in FEATURES:
            raise ValueError(f"configs/drift.yaml simulate.shift: {column!r} is not a feature of the contract")
        frame[column] = frame[column] * factor
    return [{name: float(value) for name, value in row.items()} for row in frame.to_dict("records")]


def send(url: str, records: list[dict], batch: int) -> int:
    """POST the records in batches; returns how many were answered. Any non-200 answer stops with its body."""
    for start in range(0, len(records), batch):
        body = json.dumps({"records": records[start : start + batch]}).encode()
        request = urllib.request.Request(
            f"{url.rstrip('/')}/predict", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"POST {url}/predict -> {error.code}: {error.read().decode()[:300]}") from None
    return len(records)
