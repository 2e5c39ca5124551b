"""The data contract: the one definition of columns, dtypes, ranges and the label.

Training data, the service's request validation and the drift check all take their columns from here.
An image is one row: its 8 x 8 grey levels row by row (pixel_<row>_<column>), then the label. To train on your own
images, flatten them the same way and change SIDE, the pixel range and the classes below.
"""

from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

BUNDLED = "load_digits"  # the scikit-learn loader `make data` writes data/raw/ from (no download)

SIDE = 8  # images are SIDE x SIDE pixels
PIXEL = {"ge": 0, "le": 16}  # grey levels: 0 is paper, 16 the darkest ink
FEATURES = [f"pixel_{row}_{column}" for row in range(SIDE) for column in range(SIDE)]
LABEL = "target"
CLASSES = [str(digit) for digit in range(10)]  # the digit drawn; label i is CLASSES[i]
POSITIVE = None  # no single class to draw ROC and precision-recall curves for: the confusion matrix says more

SCHEMA = pa.DataFrameSchema(
    {
        **{name: pa.Column(float, [pa.Check.ge(PIXEL["ge"]), pa.Check.le(PIXEL["le"])]) for name in FEATURES},
        LABEL: pa.Column(int, pa.Check.isin(list(range(len(CLASSES))))),
    },
    checks=[pa.Check(lambda frame: len(frame) > 0, name="has_rows", error="the table has no rows")],
    name="Contract",
    strict=True,  # an unexpected column is an error, not silently ignored
    coerce=True,  # integer grey levels in a CSV are fine; text in a pixel column is not
    ordered=False,
)

# What a drift check compares: statistics of each image, not 64 separate pixels. They are what a new scanner,
# pen or preprocessing step changes, and five tests keep more power than 64 (each at a Bonferroni threshold).
MONITORED = ["intensity", "contrast", "ink", "centre_row", "centre_column"]


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


def request_model(bounds: dict[str, dict]) -> type[Image]:
    """The service's record type, each grey level bounded by the contract's range checks (`bounds`)."""
    ranges = {str(bounds[name]) for name in FEATURES}
    if len(ranges) != 1:
        raise ValueError(f"every pixel must have the same range in the contract; found {sorted(ranges)}")
    pixel = Annotated[float, Field(**bounds[FEATURES[0]])]
    count = SIDE * SIDE
    description = f"{count} grey levels row by row (or {SIDE} rows of {SIDE}); an error's index counts row by row"

    class Record(Image):
        pixels: list[pixel] = Field(min_length=count, max_length=count, description=description)

    return Record


def to_request(row: dict) -> dict:
    """One row of the contract's features as the service takes it: an image of SIDE rows."""
    values = [float(row[name]) for name in FEATURES]
    return {"pixels": [values[start : start + SIDE] for start in range(0, len(values), SIDE)]}
