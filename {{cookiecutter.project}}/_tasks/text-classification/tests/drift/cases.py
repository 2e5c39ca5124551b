"""What the drift tests change in a text project's data, and how its current data is written (a CSV table)."""

import pandas as pd
import pytest

from {{ cookiecutter.package }}.schema import LABEL, MAX_CHARS, TEXT
from {{ cookiecutter.package }}.validate import write_table

SHIFTED = ["chars"]  # what padding a text with whitespace changes: its length, not its words or letters
SHIFT_ALL_ROWS = False  # held-out texts only: the training texts have no word outside the vocabulary


def shift(frame: pd.DataFrame) -> pd.DataFrame:
    """Each text padded with spaces to half again its length (a form that pads its field), within MAX_CHARS."""
    return frame.assign(**{TEXT: [text + " " * min(len(text) // 2 + 1, MAX_CHARS - len(text)) for text in frame[TEXT]]})


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
