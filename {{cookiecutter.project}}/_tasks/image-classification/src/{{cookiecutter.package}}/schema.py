"""The data contract: the one definition of columns, dtypes, ranges and the label.

Training data, the service's request validation and the drift check all take their columns from here (features.py
says how).
An image is one row: its 8 x 8 grey levels row by row (pixel_<row>_<column>), then the label. To train on your own
images, flatten them the same way and change SIDE, the pixel range and the classes below.
"""

import pandera.pandas as pa

BUNDLED = "load_digits"  # the scikit-learn loader `make data` writes data/raw/ from (no download)

SIDE = 8  # images are SIDE x SIDE pixels
PIXEL = {"ge": 0, "le": 16}  # grey levels: 0 is paper, 16 the darkest ink
FEATURES = [f"pixel_{row}_{column}" for row in range(SIDE) for column in range(SIDE)]
LABEL = "target"
CLASSES = list(range(10))  # the label's values, the digit drawn; the model's outputs follow this order
POSITIVE = None  # no single class to draw ROC and precision-recall curves for: the confusion matrix says more

SCHEMA = pa.DataFrameSchema(
    {
        **{name: pa.Column(float, [pa.Check.ge(PIXEL["ge"]), pa.Check.le(PIXEL["le"])]) for name in FEATURES},
        LABEL: pa.Column(int, pa.Check.isin(CLASSES)),
    },
    checks=[pa.Check(lambda frame: len(frame) > 0, name="has_rows", error="the table has no rows")],
    name="Contract",
    strict=True,  # an unexpected column is an error, not silently ignored
    coerce=True,  # integer grey levels in a CSV are fine; text in a pixel column is not
    ordered=False,
)
