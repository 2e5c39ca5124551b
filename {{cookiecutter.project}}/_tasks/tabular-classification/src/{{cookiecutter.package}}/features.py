"""What training, the service and the drift check make of the contract's columns (schema.py).

Nothing here is written by hand per data set: each column's kind, categories, range and nullability are read from
the contract, so a new contract (`make adopt`) needs no change here. Rows are encoded into one float matrix the
model takes (`encode`); what is fitted on the training split (imputation, scaling, which categories were seen) lives
in the model itself (network.Inputs) and travels with it.
"""

import datetime
from fnmatch import fnmatch
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator

from .schema import CLASSES, LABEL, SCHEMA

# Columns the contract declares as left out (an identifier, free text, a constant: `pa.Field(metadata={"left_out":
# reason})`): a file or a request may hold them, and nothing uses them. A column the contract does not name is refused.
LEFT_OUT = {
    name: column.metadata["left_out"]
    for name, column in SCHEMA.columns.items()
    if "left_out" in (column.metadata or {})
}
FEATURES = [name for name in SCHEMA.columns if name != LABEL and name not in LEFT_OUT]
NUM_INPUTS = len(FEATURES)  # what the model takes per row: one encoded value per feature (network.Inputs expands)
DESCRIPTION = f"{len(FEATURES)} features"
GROUP = None  # no column ties rows together: each row goes to one part of the split on its own
CLASS_NAMES = [str(value) for value in CLASSES]  # how answers, reports and drift name the classes
NUMBER, BOOLEAN, CATEGORY, DATE = "number", "boolean", "category", "date"
EPOCH, DAY = pd.Timestamp(0), pd.Timedelta(days=1)


def _kind(name: str) -> str:
    dtype = SCHEMA.columns[name].dtype.type  # the pandas or numpy dtype the contract coerces to
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATE
    return NUMBER if pd.api.types.is_numeric_dtype(dtype) else CATEGORY


def _allowed(name: str) -> list | None:
    for check in SCHEMA.columns[name].checks:
        if check.name == "isin":
            return list(check.statistics["allowed_values"])
    return None


KIND = {name: _kind(name) for name in FEATURES}
CATEGORIES = {name: _allowed(name) for name in FEATURES if KIND[name] == CATEGORY}
for _name, _values in CATEGORIES.items():
    if not _values:
        raise ValueError(
            f"schema.py: text column {_name!r} has no isin=[...] list of its categories; add one (free text is not a "
            "feature), or remove the column from the contract"
        )
NULLABLE = [name for name in FEATURES if SCHEMA.columns[name].nullable]
MISSING = "__missing"  # suffix of the drift check's missing-value indicator of each nullable column
# What a drift check compares, and how: numbers with a numerical test, the rest (and each nullable column's
# missing-value indicator, whose test is one of the share of missing values) with a test made for categories.
DATES = [name for name in FEATURES if KIND[name] == DATE]
# A date is monitored by its month and day of the week, not as itself: new data is always later than the training
# data, and that is no drift; a different season or weekday mix is.
CALENDAR = {"__month": lambda dates: dates.dt.month, "__weekday": lambda dates: dates.dt.dayofweek}
MONITORED = {name: "numerical" if KIND[name] == NUMBER else "categorical" for name in FEATURES if name not in DATES}
MONITORED |= {name + part: "categorical" for name in DATES for part in CALENDAR}
MONITORED |= {name + MISSING: "categorical" for name in NULLABLE}


def encode(frame: pd.DataFrame, encoder: Any = None) -> np.ndarray:
    """The contract's rows as the model takes them: one float32 column per feature, in FEATURES order.

    Numbers as they are and booleans as 0/1 (NaN where missing); a category as 1 + its position in the contract's
    list, 0 where missing or not in the list; a date as days since 1970-01-01 (the model takes its calendar parts
    and age from that: network.Inputs). Vectorised: no loop over rows.
    """
    encoded = np.empty((len(frame), len(FEATURES)), dtype=np.float32)
    for index, name in enumerate(FEATURES):
        column = frame[name]
        if KIND[name] == CATEGORY:
            encoded[:, index] = pd.Categorical(column, categories=CATEGORIES[name]).codes + 1
        elif KIND[name] == BOOLEAN:
            encoded[:, index] = column.astype("boolean").astype("Float32").to_numpy(np.float32, na_value=np.nan)
        elif KIND[name] == DATE:
            encoded[:, index] = ((pd.to_datetime(column, format="ISO8601") - EPOCH) / DAY).to_numpy(np.float32)
        else:
            encoded[:, index] = pd.to_numeric(column).to_numpy(np.float32, na_value=np.nan)
    return encoded


def monitored(frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
    """The columns a drift check compares: every feature (a date by its month and weekday), plus whether each
    nullable one is missing."""
    columns = {name: frame[name] for name in FEATURES if name not in DATES}
    for name in DATES:
        dates = pd.to_datetime(frame[name], format="ISO8601")  # a reference read back from CSV holds text
        columns |= {name + part: part_of(dates).astype("Int64").astype(str) for part, part_of in CALENDAR.items()}
    columns |= {name + MISSING: frame[name].isna().map({True: "missing", False: "present"}) for name in NULLABLE}
    return pd.DataFrame(columns, index=frame.index)


def loggable(frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
    """What a drift reference keeps of each row: its features as they are."""
    return frame[FEATURES]


def contract_for(frame: pd.DataFrame) -> pa.DataFrameSchema:
    """The schema current data is checked with: the contract, without the label where the data has none."""
    return SCHEMA if LABEL in frame else SCHEMA.remove_columns([LABEL])


def _field(name: str) -> tuple[Any, Any]:
    """A pydantic field that refuses what the contract's column refuses: type, range, categories, missing values."""
    column = SCHEMA.columns[name]
    constraints: dict[str, Any] = {}
    pending = []  # checks with no pydantic equivalent: run the contract's own check on the one value
    for check in column.checks if KIND[name] != DATE else ():
        statistics = check.statistics or {}
        if check.name == "greater_than_or_equal_to":
            constraints["ge"] = statistics["min_value"]
        elif check.name == "less_than_or_equal_to":
            constraints["le"] = statistics["max_value"]
        elif check.name == "greater_than":
            constraints["gt"] = statistics["min_value"]
        elif check.name == "less_than":
            constraints["lt"] = statistics["max_value"]
        elif check.name == "in_range":
            constraints["ge" if statistics.get("include_min", True) else "gt"] = statistics["min_value"]
            constraints["le" if statistics.get("include_max", True) else "lt"] = statistics["max_value"]
        elif check.name != "isin":  # isin becomes the Literal type below
            pending.append(check)
    kind = KIND[name]
    if KIND[name] == DATE:  # the value is text until here: the contract's checks take it as a timestamp
        pending = [_as_timestamp(check) for check in column.checks]
    validators: list[Any] = [AfterValidator(_contract_check(check)) for check in pending]
    if kind == CATEGORY:
        kind_type: Any = Literal[tuple(CATEGORIES[name])]
    elif kind == DATE:  # ISO 8601 text, a date or a date and time; kept as naive UTC text (loggable as it is)
        kind_type = str
        validators.insert(0, BeforeValidator(_utc_text))
        constraints["json_schema_extra"] = {"format": "date-time"}
    else:
        kind_type = bool if kind == BOOLEAN else int if pd.api.types.is_integer_dtype(column.dtype.type) else float
        validators.insert(0, BeforeValidator(_no_text))
    annotated: Any = Annotated[kind_type, Field(**constraints), *validators]
    if column.nullable:
        return annotated | None, Field(default=None, description=f"{kind}; null or left out when missing")
    return annotated, Field(description=kind)


def _utc_text(value: Any) -> str:
    """ISO 8601 text (a date, or a date and time) as naive UTC text: 2024-01-30T14:05+02:00 -> 2024-01-30T12:05:00.

    What the contract takes (pandas, format ISO8601) and nothing else: no Unix times, no year pandas cannot hold.
    """
    try:
        parsed = datetime.datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
        if not 1678 <= parsed.year <= 2261:  # what the contract's datetime64[ns] column holds
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a date: send ISO 8601 text, 2024-01-30 or 2024-01-30T14:05:00Z") from None
    return parsed.isoformat()


def _as_timestamp(check):
    """A contract check of a date column, run on a request's value (naive UTC text) as the timestamp it stands for."""

    def run(series: pd.Series):
        return check(pd.to_datetime(series, format="ISO8601"))

    run.name, run.statistics = check.name, check.statistics
    return run


def _no_text(value: Any) -> Any:
    """A number or a true/false value arrives as one: the text "97" is a client's bug, not 97."""
    if isinstance(value, str | bytes):
        raise ValueError(f"text ({value!r}) where a number or true/false is expected: send it unquoted")
    return value


def _contract_check(check):
    def validate(value):
        passed = check(pd.Series([value])).check_passed
        if not bool(passed):
            raise ValueError(f"breaks the contract's check {check.name} ({check.statistics or ''})")
        return value

    return validate


class Features(BaseModel):
    """A request record: one field per feature, as the contract names, types and bounds it. The contract's left-out
    columns are accepted and ignored; any other field is refused, naming it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        """Refuse a field the contract does not name; drop the left-out ones (any name a column can have)."""
        if isinstance(data, dict):
            unknown = [name for name in data if name not in cls.model_fields and name not in LEFT_OUT]
            if unknown:
                ignored = f"; left out, accepted and ignored: {', '.join(LEFT_OUT)}" if LEFT_OUT else ""
                raise ValueError(
                    f"{', '.join(map(repr, unknown))}: not a column of the contract (features: {', '.join(FEATURES)}"
                    f"{ignored}). Send only those fields."
                )
            if LEFT_OUT:
                return {name: value for name, value in data.items() if name not in LEFT_OUT}
        return data

    def features(self) -> dict[str, Any]:
        return self.model_dump()


def request_model(example: dict | None = None) -> type[Features]:
    """The service's record type; `example` (a row of the data) is shown in the OpenAPI schema."""

    class Record(Features):
        model_config = ConfigDict(json_schema_extra={"example": example} if example else None)

    return create_model("Record", __base__=Record, **{name: _field(name) for name in FEATURES})


def to_request(row: dict) -> dict:
    """One row of the contract's features as a client sends it: raw values, null where missing."""
    record = {}
    for name in FEATURES:
        value = row[name]
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            record[name] = None
        elif KIND[name] == CATEGORY:
            record[name] = str(value)
        elif KIND[name] == BOOLEAN:
            record[name] = bool(value)
        elif KIND[name] == DATE:
            record[name] = pd.Timestamp(value).isoformat()
        elif pd.api.types.is_integer_dtype(SCHEMA.columns[name].dtype.type):
            record[name] = int(value)
        else:
            record[name] = float(value)
    return record


def _days(text: str) -> float:
    return (datetime.datetime.fromisoformat(text) - datetime.datetime(1970, 1, 1)) / datetime.timedelta(days=1)


# A category's code as `encode` gives it: 1 + its position in the contract's list (0: missing).
CODES = {name: {value: code for code, value in enumerate(values, start=1)} for name, values in CATEGORIES.items()}


def encode_records(rows: list[dict]) -> np.ndarray:
    """`encode` for records a request model has checked (each value of its column's type, or None): the same
    matrix, without building a DataFrame, which would cost a one-record request more than the model does."""
    encoded = np.empty((len(rows), len(FEATURES)), dtype=np.float32)
    for index, name in enumerate(FEATURES):
        if name in CODES:
            codes = CODES[name]
            encoded[:, index] = [codes.get(row[name], 0) for row in rows]
        elif KIND[name] == DATE:  # naive UTC ISO text (the request model's): days since 1970-01-01
            encoded[:, index] = [np.nan if row[name] is None else _days(row[name]) for row in rows]
        else:  # numbers and booleans (True is 1.0); NaN where missing
            encoded[:, index] = [np.nan if row[name] is None else row[name] for row in rows]
    return encoded


def inputs(records: list[Features], encoder: Any = None) -> tuple[np.ndarray, list[dict]]:
    """The model's input rows for a batch of records, and what the request log keeps of each (its features)."""
    rows = [record.features() for record in records]  # {feature: raw value}, the contract's columns
    return encode_records(rows), rows


def request_records(frame: pd.DataFrame, shift: dict[str, float] | None = None) -> list[dict]:
    """The frame's rows as requests; `shift` multiplies the named number columns (a name may be an fnmatch pattern:
    `prefix_*`), kept inside the contract's range so the service takes them."""
    frame = frame[FEATURES].copy()
    numbers = [name for name in FEATURES if KIND[name] == NUMBER]
    for pattern, factor in (shift or {}).items():
        columns = [name for name in numbers if fnmatch(name, pattern)]
        if not columns:
            raise ValueError(f"configs/drift.yaml simulate.shift: {pattern!r} names no number column of the contract")
        for name in columns:
            low, high = bounds(name)
            shifted = (frame[name] * factor).clip(low, high)
            frame[name] = shifted.round() if pd.api.types.is_integer_dtype(frame[name]) else shifted
    return [to_request(row) for row in frame.to_dict("records")]


def bounds(name: str) -> tuple[float | None, float | None]:
    """The contract's lowest and highest allowed value of a number column (None where it sets none)."""
    low = high = None
    for check in SCHEMA.columns[name].checks:
        statistics = check.statistics or {}
        if check.name in {"greater_than_or_equal_to", "greater_than", "in_range"}:
            low = statistics["min_value"]
        if check.name in {"less_than_or_equal_to", "less_than", "in_range"}:
            high = statistics["max_value"]
    return low, high
