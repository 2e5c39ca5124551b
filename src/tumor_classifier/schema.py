"""The data contract of data/raw/messy_id.csv: the one definition of its columns, types, ranges and label.

Written by `make adopt` from 1200 rows; review it and edit it as the data's owner. Training, the service's
request validation and the drift check all follow it. Ranges are the observed ones widened by 10% of their span
(never below 0 for a column with no negative value); categories are the values seen. A category the
training split never showed is the model's 'unknown'. Add new categories at the end of a list.

Left out of the features (and of the copy in data/raw/):
- _id: unique per row (an identifier)
- order_id: unique per row (an identifier)
- ordered_on: a date or time: derive numbers from it (day of week, age) to use it
- gift_note: 1043 distinct values: free text, not a category (at most 50)
"""

import pandas as pd  # noqa: F401 (pd.BooleanDtype: the type of a true/false column)
import pandera.pandas as pa
from pandera.typing import Series

BUNDLED = None  # adopted data: `make data` writes nothing (the file is data/raw/, see configs/data.yaml)


class Contract(pa.DataFrameModel):
    """data/raw/messy_id.csv, one row per example; the label is returned."""

    # seen -1.77 .. 164.55; missing in 5.0% of rows
    spend: Series[float] = pa.Field(ge=-18.5, le=182, nullable=True)
    # seen 1 .. 6
    items: Series[int] = pa.Field(ge=0, le=7)
    # category; missing in 11.2% of rows
    coupon: Series[str] = pa.Field(isin=["NONE", "SPRING", "VIP"], nullable=True)
    # category; missing in 86.2% of rows
    referrer: Series[str] = pa.Field(isin=["ads", "friend"], nullable=True)
    # the label
    returned: Series[str] = pa.Field(isin=["no", "yes"])

    class Config:
        strict = True  # an unexpected column is an error, not silently ignored
        coerce = True  # CSV integers in a float column are fine; text in a number column is not
        ordered = False

    @pa.dataframe_check(error="the table has no rows")
    def has_rows(cls, df):
        return len(df) > 0


LABEL = "returned"
CLASSES = ["no", "yes"]  # the label's values; the model's outputs follow this order
POSITIVE = "yes"  # the class the report's ROC and precision-recall curves are drawn for
SCHEMA = Contract.to_schema()
