"""The data contract: the one definition of columns, dtypes, ranges, nullability and the label.

Training data, the service's request validation and the drift check all take their columns from here (features.py
says how). For your own table, `make adopt DATA=<file> LABEL=<column>` writes this file from it; review it then.
"""

import pandera.pandas as pa
from pandera.typing import Series

BUNDLED = "load_breast_cancer"  # the scikit-learn loader `make data` writes data/raw/ from (no download)

# Upper bounds are physical limits with head-room, not the observed maxima: they catch unit mistakes
# (an area in mm² where µm² was meant) without rejecting a rare but real measurement.
RADIUS = {"ge": 0, "le": 50}
TEXTURE = {"ge": 0, "le": 80}
PERIMETER = {"ge": 0, "le": 400}
AREA = {"ge": 0, "le": 8000}
RATIO = {"ge": 0, "le": 1}
SHAPE = {"ge": 0, "le": 2}


class Contract(pa.DataFrameModel):
    """Breast-cancer diagnostic measurements (scikit-learn's bundled Wisconsin table), one row per tumour."""

    mean_radius: Series[float] = pa.Field(**RADIUS)
    mean_texture: Series[float] = pa.Field(**TEXTURE)
    mean_perimeter: Series[float] = pa.Field(**PERIMETER)
    mean_area: Series[float] = pa.Field(**AREA)
    mean_smoothness: Series[float] = pa.Field(**RATIO)
    mean_compactness: Series[float] = pa.Field(**SHAPE)
    mean_concavity: Series[float] = pa.Field(**SHAPE)
    mean_concave_points: Series[float] = pa.Field(**RATIO)
    mean_symmetry: Series[float] = pa.Field(**RATIO)
    mean_fractal_dimension: Series[float] = pa.Field(**RATIO)
    radius_error: Series[float] = pa.Field(ge=0, le=10)
    texture_error: Series[float] = pa.Field(ge=0, le=20)
    perimeter_error: Series[float] = pa.Field(ge=0, le=100)
    area_error: Series[float] = pa.Field(ge=0, le=2000)
    smoothness_error: Series[float] = pa.Field(**RATIO)
    compactness_error: Series[float] = pa.Field(**RATIO)
    concavity_error: Series[float] = pa.Field(**RATIO)
    concave_points_error: Series[float] = pa.Field(**RATIO)
    symmetry_error: Series[float] = pa.Field(**RATIO)
    fractal_dimension_error: Series[float] = pa.Field(**RATIO)
    worst_radius: Series[float] = pa.Field(**RADIUS)
    worst_texture: Series[float] = pa.Field(**TEXTURE)
    worst_perimeter: Series[float] = pa.Field(**PERIMETER)
    worst_area: Series[float] = pa.Field(**AREA)
    worst_smoothness: Series[float] = pa.Field(**RATIO)
    worst_compactness: Series[float] = pa.Field(**SHAPE)
    worst_concavity: Series[float] = pa.Field(**SHAPE)
    worst_concave_points: Series[float] = pa.Field(**RATIO)
    worst_symmetry: Series[float] = pa.Field(**RATIO)
    worst_fractal_dimension: Series[float] = pa.Field(**RATIO)
    target: Series[str] = pa.Field(isin=["malignant", "benign"])  # the label, in its own values

    class Config:
        strict = True  # an unexpected column is an error, not silently ignored
        coerce = True  # CSV integers in a float column are fine; text in a number column is not
        ordered = False

    @pa.dataframe_check(error="the table has no rows")
    def has_rows(cls, df):
        return len(df) > 0


LABEL = "target"
CLASSES = ["malignant", "benign"]  # the label's values; the model's outputs follow this order
POSITIVE = "malignant"  # the class a screening model must not miss: ROC and precision-recall curves are drawn for it
SCHEMA = Contract.to_schema()
