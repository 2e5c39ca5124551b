"""The data contract: the one definition of the images, their classes and the size the model takes.

An image project's data is a folder with one subfolder per class (`data/raw/<name>/<class>/<file>.png`, PNG or
JPEG, any size, grey or colour). `make validate` scans it into an index, one row per file, and checks the index
here: the file is there, its class is one of CLASSES, it is an image PIL can convert to MODE. Every image is then
converted to MODE and resized to HEIGHT x WIDTH, for training and serving alike (images.py).
`make adopt DATA=<folder>` writes this file for your own folder; review what it decided.
"""

from pathlib import Path

import pandera.pandas as pa

BUNDLED = "load_digits"  # the scikit-learn set `make data` writes as image files under data/raw/ (no download)

HEIGHT, WIDTH = 8, 8  # the model's input size in pixels: images of another size are resized to it
MODE = "L"  # "L" (grey) or "RGB" (colour): every image is converted to it
LABEL = "label"  # the index's class column: the name of the subfolder an image is in
CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]  # the subfolders; the model's outputs follow this order
POSITIVE = None  # no single class to draw ROC and precision-recall curves for: the confusion matrix says more
GROUP = "sha256"  # files with the same content are one image: they never straddle the train/val/test split
# PIL modes that convert to MODE without losing meaning (16-bit and float images do not: convert them first).
MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"]

SCHEMA = pa.DataFrameSchema(
    {
        "path": pa.Column(
            str, pa.Check(lambda path: Path(path).is_file(), element_wise=True, error="no such image file")
        ),
        LABEL: pa.Column(str, pa.Check.isin(CLASSES)),
        "width": pa.Column(int, pa.Check.ge(1)),  # before resizing
        "height": pa.Column(int, pa.Check.ge(1)),
        "mode": pa.Column(str, pa.Check.isin(MODES)),
        "sha256": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{64}$")),  # of the file's bytes
    },
    checks=[pa.Check(lambda frame: len(frame) > 0, name="has_rows", error="the folder has no images")],
    name="Contract",
    strict=True,  # an unexpected column is an error, not silently ignored
    coerce=True,
    ordered=False,
)
