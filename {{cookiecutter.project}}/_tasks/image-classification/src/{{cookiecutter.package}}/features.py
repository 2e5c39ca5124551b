"""What training, the service and the drift check make of the contract's pixels (schema.py).

An image is encoded as its grey levels row by row (`encode`); its normalisation is fitted on the training split
and lives in the model (network.Inputs). The drift check compares per-image statistics, not 64 separate pixels.
"""

from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .schema import CLASSES, FEATURES, PIXEL, SIDE

CLASS_NAMES = [str(value) for value in CLASSES]  # how answers, reports and drift name the classes
KIND = dict.fromkeys(FEATURES, "number")  # every pixel is a grey level
CATEGORIES: dict[str, list] = {}
NULLABLE: list[str] = []  # every pixel must have a value
# What a drift check compares: statistics of each image, not 64 separate pixels. They are what a new scanner,
# pen or preprocessing step changes, and five tests keep more power than 64 (each at a Bonferroni threshold).
MONITORED = dict.fromkeys(["intensity", "contrast", "ink", "centre_row", "centre_column"], "numerical")


def encode(frame: pd.DataFrame) -> np.ndarray:
    """The images as the model takes them: one float32 row of grey levels per image."""
    return frame[FEATURES].to_numpy(dtype=np.float32)  # a copy: writable for torch


def monitored(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-image statistics: mean grey level, its spread, the share of inked pixels and the ink's centre."""
    images = frame[FEATURES].to_numpy(dtype=float).reshape(-1, SIDE, SIDE)
    total = images.sum(axis=(1, 2))
    weight = np.where(total > 0, total, 1.0)  # a blank image has its centre at 0, not NaN
    positions = np.arange(SIDE)
    return pd.DataFrame(
        {
            "intensity": images.mean(axis=(1, 2)),
            "contrast": images.std(axis=(1, 2)),
            "ink": (images > 0).mean(axis=(1, 2)),
            "centre_row": (images.sum(axis=2) * positions).sum(axis=1) / weight,
            "centre_column": (images.sum(axis=1) * positions).sum(axis=1) / weight,
        },
        index=frame.index,
    )


class Image(BaseModel):
    """A request record: one image, as its SIDE * SIDE grey levels row by row or as SIDE rows of SIDE."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    pixels: list

    @field_validator("pixels", mode="before")
    @classmethod
    def rows_to_values(cls, value):
        """SIDE rows of SIDE values become the values row by row, so one set of checks (and errors) holds for both."""
        if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
            lengths = [len(row) for row in value]
            if lengths != [SIDE] * SIDE:
                raise ValueError(f"an image as rows needs {SIDE} rows of {SIDE} values; got rows of {lengths}")
            return [pixel for row in value for pixel in row]
        return value

    def features(self) -> dict[str, float]:
        return dict(zip(FEATURES, map(float, self.pixels), strict=True))


def request_model(example: dict | None = None) -> type[Image]:
    """The service's record type, each grey level bounded as the contract bounds it (schema.PIXEL)."""
    pixel = Annotated[float, Field(**PIXEL)]
    count = SIDE * SIDE
    description = f"{count} grey levels row by row (or {SIDE} rows of {SIDE}); an error's index counts row by row"

    class Record(Image):
        model_config = ConfigDict(json_schema_extra={"example": example} if example else None)
        pixels: list[pixel] = Field(min_length=count, max_length=count, description=description)

    return Record


def to_request(row: dict) -> dict:
    """One row of the contract's features as the service takes it: an image of SIDE rows."""
    values = [float(row[name]) for name in FEATURES]
    return {"pixels": [values[start : start + SIDE] for start in range(0, len(values), SIDE)]}


def bounds(name: str) -> tuple[float | None, float | None]:
    """The contract's lowest and highest allowed grey level."""
    return PIXEL["ge"], PIXEL["le"]
