"""Image files: a folder of class subfolders scanned into an index, one file decoded as the model takes it (MODE,
HEIGHT x WIDTH), and the per-image statistics a drift check compares.

Served with the model (the service decodes uploads with `decode`), so it imports nothing but PIL, numpy and pandas.
"""

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from .schema import HEIGHT, LABEL, MODE, MODES, WIDTH

EXTENSIONS = {".png", ".jpg", ".jpeg"}
FORMATS = {"PNG", "JPEG"}  # what an upload may be (a folder is filtered by EXTENSIONS)
SHAPE = (len(MODE), HEIGHT, WIDTH)  # channels first, as the network takes them
MAX_PIXELS = 50_000_000  # a larger image (a decompression bomb, or a photo at print size) is refused
STATS = ["brightness", "contrast", "ink", "centre_row", "centre_column", "width", "height"]


class ImageError(ValueError):
    """A file or upload that is not an image this project can take; the message says which and why."""


def decode(source: bytes | str | Path) -> tuple[np.ndarray, tuple[int, int]]:
    """One image as the model takes it: uint8 (channels, HEIGHT, WIDTH) in MODE, and its (width, height) before."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            size, mode = image.size, image.mode
            if image.format not in FORMATS:
                raise ImageError(f"a {image.format} image; send PNG or JPEG")
            if size[0] * size[1] > MAX_PIXELS:
                raise ImageError(f"it is {size[0]}x{size[1]} pixels; the limit is {MAX_PIXELS:,} (scale it down)")
            image.load()  # decodes the whole file: a truncated or corrupt one fails here, not in training
            if mode not in MODES:
                raise ImageError(f"its mode {mode!r} does not convert to {MODE!r}; save it as 8-bit PNG or JPEG")
            converted = image.convert(MODE)
    except UnidentifiedImageError:
        raise ImageError("not a PNG or JPEG image (its format is not one PIL can identify)") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(f"not a readable PNG or JPEG image ({type(error).__name__}: {error})") from None
    if converted.size != (WIDTH, HEIGHT):
        converted = converted.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    array = np.asarray(converted, dtype=np.uint8)
    return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)), size


def scan(folder: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The index of a folder: one row per image (path, label, width, height, mode, sha256), and the files left out.

    A folder of class subfolders gives labelled rows (the label is the subfolder's name); a folder of image files
    with no subfolders gives unlabelled rows (new data to check for drift). Hidden files are not looked at.
    """
    folder = Path(folder)
    subfolders = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    groups = [(path.name, path) for path in subfolders] or [(None, folder)]
    rows, left_out = [], []
    for label, directory in groups:
        files = directory.rglob("*") if label is not None else directory.iterdir()
        for file in sorted(files):
            if not file.is_file() or any(part.startswith(".") for part in file.relative_to(folder).parts):
                continue
            if file.suffix.lower() not in EXTENSIONS:
                left_out.append(f"{file}: not a .png, .jpg or .jpeg file")
                continue
            data = file.read_bytes()
            try:
                with Image.open(io.BytesIO(data)) as image:
                    image.load()
                    (width, height), mode = image.size, image.mode
                    if image.format not in FORMATS:  # decode refuses it too: training must not meet it
                        raise OSError(f"a {image.format} file named {file.suffix}")
            except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
                left_out.append(f"{file}: not a readable image ({type(error).__name__}: {error})")
                continue
            row = {"path": str(file), "width": width, "height": height, "mode": mode}
            row["sha256"] = hashlib.sha256(data).hexdigest()
            rows.append(row if label is None else {**row, LABEL: label})
    columns = ["path", *([LABEL] if subfolders else []), "width", "height", "mode", "sha256"]
    return pd.DataFrame(rows, columns=columns), left_out


def load(paths) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Decode files: uint8 (n, channels, HEIGHT, WIDTH) and each file's size before resizing."""
    arrays, sizes = np.empty((len(paths), *SHAPE), dtype=np.uint8), []
    for index, path in enumerate(paths):
        try:
            arrays[index], size = decode(path)
        except ImageError as error:
            raise ImageError(f"{path}: {error}") from None
        sizes.append(size)
    return arrays, sizes


def stats(arrays: np.ndarray, sizes: list[tuple[int, int]]) -> pd.DataFrame:
    """Per-image statistics (STATS): what a new camera, scanner or preprocessing step changes.

    brightness and contrast: the mean and spread of the grey level (0-1); ink: the share of pixels far from the
    image's background (its median level); centre_row/centre_column: where those pixels are (0 top/left, 1
    bottom/right); width/height: the size before resizing.
    """
    grey = arrays.astype(np.float32).mean(axis=1) / 255.0  # (n, HEIGHT, WIDTH)
    away = np.abs(grey - np.median(grey.reshape(len(grey), -1), axis=1)[:, None, None])
    mass = away.sum(axis=(1, 2))
    weight = np.where(mass > 0, mass, 1.0)  # a flat image has its centre at 0, not NaN
    rows, columns = np.linspace(0, 1, HEIGHT), np.linspace(0, 1, WIDTH)
    size = np.asarray(sizes, dtype=float).reshape(-1, 2)
    return pd.DataFrame(
        {
            "brightness": grey.mean(axis=(1, 2)),
            "contrast": grey.std(axis=(1, 2)),
            "ink": (away > 0.25).mean(axis=(1, 2)),
            "centre_row": (away.sum(axis=2) * rows).sum(axis=1) / weight,
            "centre_column": (away.sum(axis=1) * columns).sum(axis=1) / weight,
            "width": size[:, 0],
            "height": size[:, 1],
        }
    )


def write_digits(folder: str | Path) -> Path:
    """scikit-learn's 8x8 digits (bundled, no download) as PNG files in class subfolders: 0-16 ink -> 0-255 grey."""
    from sklearn.datasets import load_digits

    folder = Path(folder)
    digits = load_digits()
    levels = np.rint(digits.images * (255 / 16)).astype(np.uint8)
    for index, (image, target) in enumerate(zip(levels, digits.target, strict=True)):
        path = folder / str(target) / f"{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)  # uint8, 2-D: grey (L)
    return folder
