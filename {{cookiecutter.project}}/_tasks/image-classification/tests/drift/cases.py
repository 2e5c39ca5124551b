"""What the drift tests change in an image project's data, and how its current data is written (a folder)."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from {{ cookiecutter.package }}.schema import LABEL

SHIFTED = ["centre_column"]  # where the ink is: the one statistic a sideways move changes
# Every image moved (not only the held-out ones): an adopted sample of 50 per class holds too few held-out images
# for a small move to reach the per-column threshold.
SHIFT_ALL_ROWS = True


def shift(frame: pd.DataFrame) -> pd.DataFrame:
    """Each image an eighth of its width to the right (the first column repeated): its centre moves, little else."""

    def moved(path: str) -> Image.Image:
        pixels = np.asarray(Image.open(path))
        step = max(1, pixels.shape[1] // 8)  # one pixel of an 8 x 8 digit
        right = pixels.copy()
        right[:, step:] = pixels[:, :-step]
        return Image.fromarray(right)

    return pd.DataFrame({"image": [moved(path) for path in frame["path"]]}, index=frame.index)


def write(frame: pd.DataFrame, name: str) -> str:
    """The frame's images as a folder (current data): class subfolders where it has labels, else files side by side.

    A row holds an image file's path, a PIL image ("image") or raw bytes ("bytes": a file that is no image).
    """
    folder = Path("data") / name
    shutil.rmtree(folder, ignore_errors=True)
    for number, row in enumerate(frame.to_dict("records")):
        target = folder / (str(row[LABEL]) if LABEL in row else "") / f"{number:05d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if "bytes" in row and isinstance(row["bytes"], bytes):
            target.write_bytes(row["bytes"])
        elif "image" in row and row["image"] is not None:
            row["image"].save(target)
        else:
            shutil.copyfile(row["path"], target)
    return str(folder)


def _broken_file(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, pd.DataFrame({"bytes": [b"not an image"]})], ignore_index=True)


def _unknown_class(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{LABEL: "not-a-class"})


INVALID_DATA = [
    pytest.param(_broken_file, "not a readable", False, id="a-file-that-is-no-image"),
    pytest.param(_unknown_class, "not one of", True, id="a-class-the-model-does-not-know"),
]
