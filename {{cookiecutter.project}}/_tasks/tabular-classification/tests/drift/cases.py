"""What the drift tests change in a table, and how its current data is written (a CSV file)."""

import pandas as pd
import pytest

from {{ cookiecutter.package }}.features import FEATURES, KIND, NULLABLE, bounds
from {{ cookiecutter.package }}.validate import write_table

# The columns each check changes, chosen from whatever the contract holds (the bundled table or an adopted one).
NUMBERS = [name for name in FEATURES if KIND[name] == "number"]
EMPTIED = next((name for name in FEATURES if name not in NULLABLE), None)  # a column that may not be missing
OVERRANGE = next((name for name in NUMBERS if bounds(name)[1] is not None), None)
SHIFTED = NUMBERS[:1]
SHIFT_ALL_ROWS = False  # the held-out rows, a standard deviation higher: plenty of power


def shift(frame: pd.DataFrame) -> pd.DataFrame:
    """One number column a standard deviation higher, kept inside the contract's range."""
    name = SHIFTED[0]
    low, high = bounds(name)
    return frame.assign(**{name: (frame[name] + frame[name].std()).clip(low, high)})


def write(frame: pd.DataFrame, name: str) -> str:
    """The frame as a CSV file, written as the project's own files are (the contract's separator, decimal mark)."""
    path = f"data/{name}.csv"
    write_table(frame, path)
    return path


INVALID_DATA = [
    pytest.param(
        lambda frame: frame.assign(**{EMPTIED: frame[EMPTIED].mask(frame.index % 3 == 0)}),
        "empty value",
        False,
        id="surge-of-missing-values",
        marks=pytest.mark.skipif(EMPTIED is None, reason="every column of the contract may be missing"),
    ),
    pytest.param(
        lambda frame: frame.assign(**{OVERRANGE: frame[OVERRANGE].astype(float) * 20 + bounds(OVERRANGE)[1] + 1}),
        "above the maximum",
        False,
        id="out-of-range-values",
        marks=pytest.mark.skipif(OVERRANGE is None, reason="the contract caps no number column"),
    ),
]
