"""What the drift tests change in a text project's data, and how its current data is written (a CSV table)."""

import pandas as pd
import pytest

from {{ cookiecutter.package }}.schema import LABEL, MAX_CHARS, TEXT
from {{ cookiecutter.package }}.validate import write_table

SHIFTED = ["non_letter_share"]  # what markup or numbers pasted into every text change
SHIFT_ALL_ROWS = True  # every text changed: a small adopted sample holds few held-out texts


def shift(frame: pd.DataFrame) -> pd.DataFrame:
    """Each text with a run of numbers and symbols added (an order number pasted in), within MAX_CHARS."""
    suffix = " #0042-7731/99 ###"
    return frame.assign(**{TEXT: [(text[: MAX_CHARS - len(suffix)] + suffix) for text in frame[TEXT]]})


def write(frame: pd.DataFrame, name: str) -> str:
    path = f"data/{name}.csv"
    write_table(frame, path)
    return path


def _empty_text(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame.index[0], TEXT] = "   "
    return frame


def _unknown_class(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{LABEL: "not-a-class"})


INVALID_DATA = [
    pytest.param(_empty_text, "empty once stripped", False, id="an-empty-text"),
    pytest.param(_unknown_class, "not-a-class", True, id="a-class-the-model-does-not-know"),
]
