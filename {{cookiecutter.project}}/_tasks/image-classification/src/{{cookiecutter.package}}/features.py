"""What training, the service and the drift check make of the contract's images (schema.py, images.py).

An image row of the index is a file; `encode` decodes it to MODE, resizes it to HEIGHT x WIDTH and hands the model
its pixels (0-255) channels first, one flat float32 row per image. Normalisation is fitted on the training split and
lives in the model (network.Inputs). The drift check compares per-image statistics (images.STATS), not pixels.
"""

from typing import Annotated, Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .images import SHAPE, STATS, load, stats
from .schema import CLASSES, HEIGHT, LABEL, MODE, SCHEMA, WIDTH

FEATURES = ["path"]  # an image of the index is its file; the service takes its pixels or the file itself
NUM_INPUTS = int(np.prod(SHAPE))  # what the model takes per image: channels x HEIGHT x WIDTH grey levels
DESCRIPTION = f"{WIDTH}x{HEIGHT} {'grey' if MODE == 'L' else MODE} images"
CLASS_NAMES = [str(value) for value in CLASSES]  # how answers, reports and drift name the classes
KIND = {"path": "image"}
CATEGORIES: dict[str, list] = {}
NULLABLE: list[str] = []
GROUP = "sha256"  # identical files share one part of the split
# What a drift check compares: statistics of each image (images.stats), not thousands of separate pixels. They are
# what a new camera or preprocessing step changes, and seven tests keep more power than one per pixel.
MONITORED = dict.fromkeys(STATS, "numerical")
# The service logs these statistics per image, not the image: a request-log row is checked against this.
STATS_SCHEMA = pa.DataFrameSchema(
    {name: pa.Column(float, pa.Check.ge(0), nullable=False) for name in STATS}, name="Statistics", coerce=True
)


def encode(frame: pd.DataFrame, encoder: Any = None) -> np.ndarray:
    """The index's images as the model takes them: decoded, converted, resized, one float32 row per image."""
    arrays, _ = load(frame["path"].tolist())
    return arrays.reshape(len(arrays), -1).astype(np.float32)


def monitored(frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
    """Per-image statistics: computed from the files for index rows, kept as they are for logged statistics."""
    if "path" not in frame:
        return frame[STATS].astype(float)
    arrays, sizes = load(frame["path"].tolist())
    return stats(arrays, sizes).set_axis(frame.index)


def loggable(frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
    """What a drift reference keeps of each row: its statistics (the files may not be there when it is read)."""
    return monitored(frame)


def contract_for(frame: pd.DataFrame) -> pa.DataFrameSchema:
    """The schema current data is checked with: the index (with or without labels), or logged statistics."""
    if "path" not in frame:
        return STATS_SCHEMA
    return SCHEMA if LABEL in frame else SCHEMA.remove_columns([LABEL])


class Image(BaseModel):
    """A request record: one image's grey levels (0-255) as HEIGHT rows of WIDTH values, a value per pixel for grey
    images and a list of channel values per pixel for colour ones, or the same values flattened in that order."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    pixels: list

    @field_validator("pixels", mode="before")
    @classmethod
    def flatten(cls, value):
        """Rows (of pixels, of channels) become one flat list, so one set of checks (and errors) holds for both."""
        if not isinstance(value, list) or not value or not isinstance(value[0], list):
            return value
        array = np.asarray(value, dtype=object)  # ragged rows make a 1-D array of lists: refused below
        expected = (HEIGHT, WIDTH) if MODE == "L" else (HEIGHT, WIDTH, SHAPE[0])
        if array.shape != expected:
            rows = f"{HEIGHT} rows of {WIDTH} values" + ("" if MODE == "L" else f" of {SHAPE[0]} channels")
            raise ValueError(f"an image as rows needs {rows}; got an array shaped {list(array.shape)}")
        return array.reshape(-1).tolist()

    def array(self) -> np.ndarray:
        """(channels, HEIGHT, WIDTH), as images.decode gives an uploaded file."""
        return np.asarray(self.pixels, dtype=np.float32).reshape(HEIGHT, WIDTH, SHAPE[0]).transpose(2, 0, 1)


def request_model(example: dict | None = None) -> type[Image]:
    """The service's record type, each value a grey level (0-255) as PNG and JPEG files hold them."""
    pixel = Annotated[float, Field(ge=0, le=255)]
    count = NUM_INPUTS
    description = f"{count} values: {HEIGHT} rows of {WIDTH} pixels" + (
        "" if MODE == "L" else f" of {SHAPE[0]} channels ({MODE})"
    )

    class Record(Image):
        model_config = ConfigDict(json_schema_extra={"example": example} if example else None)
        pixels: list[pixel] = Field(min_length=count, max_length=count, description=description)

    return Record


def inputs(records: list[Image], encoder: Any = None) -> tuple[np.ndarray, list[dict]]:
    """The model's input rows for a batch of records, and what the request log keeps of each (its statistics)."""
    arrays = np.stack([record.array() for record in records])
    logged = stats(arrays, [(WIDTH, HEIGHT)] * len(records)).to_dict("records")
    return arrays.reshape(len(records), -1), logged


def to_request(row: dict) -> dict:
    """One image as the service's JSON API takes it: HEIGHT rows of WIDTH pixels (a file's row, or an array)."""
    array = row["array"] if "array" in row else load([row["path"]])[0][0]
    pixels = np.asarray(array).transpose(1, 2, 0)  # rows, columns, channels
    pixels = pixels[:, :, 0] if MODE == "L" else pixels
    return {"pixels": pixels.round().astype(int).tolist()}


def request_records(frame: pd.DataFrame, shift: dict[str, float] | None = None) -> list[dict]:
    """The frame's images as requests; shift {"pixels": factor} scales every grey level (a fainter scan)."""
    unknown = set(shift or {}) - {"pixels"}
    if unknown:
        raise ValueError(f"configs/drift.yaml simulate.shift: {sorted(unknown)}; an image project shifts `pixels`")
    arrays, _ = load(frame["path"].tolist())
    factor = (shift or {}).get("pixels", 1.0)
    scaled = np.clip(arrays.astype(np.float32) * factor, 0, 255)
    return [to_request({"array": array}) for array in scaled]


def bounds(name: str) -> tuple[float | None, float | None]:
    """The lowest and highest grey level the service takes."""
    return 0, 255
