"""The data contract accepts the real data and rejects each kind of bad table, naming the column."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.features import (
    FEATURES,
    KIND,
    NULLABLE,
    bounds,
    encode,
    inputs,
    request_model,
    to_request,
)
from {{ cookiecutter.package }}.schema import CLASSES, LABEL, SCHEMA
from {{ cookiecutter.package }}.validate import ContractError, validate_frame, write_table

# The columns each bad table breaks, chosen from whatever the contract holds (the bundled table or an adopted one).
NUMBERS = [name for name in FEATURES if KIND[name] == "number"]
CAPPED = [name for name in NUMBERS if bounds(name)[1] is not None]
REQUIRED = [name for name in FEATURES if name not in NULLABLE]
MISSING = FEATURES[-1]
WRONG_TYPE = (NUMBERS or FEATURES)[0]  # text in a number column (or a value that is not one of the categories)
OUT_OF_RANGE = (CAPPED or [None])[0]
EMPTY = next((name for name in REQUIRED if name != OUT_OF_RANGE), None)
EXTRA = "not_in_the_contract"
FLOOR = [name for name in NUMBERS if (bounds(name)[0] is not None and bounds(name)[0] >= 0)]  # no negative values


def test_project_data_passes(bundled):
    validated = validate_frame(bundled, "project.csv")
    assert sorted(validated.columns) == sorted([*FEATURES, LABEL])
    assert len(validated) == len(bundled) and validated[LABEL].nunique() == len(CLASSES)


def _missing_column(frame):
    return frame.drop(columns=[MISSING])


def _wrong_dtype(frame):
    frame[WRONG_TYPE] = frame[WRONG_TYPE].astype(object)
    frame.loc[3, WRONG_TYPE] = "twelve"
    return frame


def _too_large() -> float:
    return float(bounds(OUT_OF_RANGE)[1] * 10 + 999) if OUT_OF_RANGE else 0.0  # far above the contract's maximum


def _out_of_range(frame):
    frame[OUT_OF_RANGE] = frame[OUT_OF_RANGE].astype(float)
    frame.loc[7, OUT_OF_RANGE] = _too_large()
    return frame


def _negative(frame):
    frame[FLOOR[0]] = frame[FLOOR[0]].astype(float)
    frame.loc[9, FLOOR[0]] = -1.0
    return frame


def _nan_label(frame):
    frame[LABEL] = frame[LABEL].astype(object)
    frame.loc[5, LABEL] = np.nan
    return frame


def _nan_feature(frame):
    frame[EMPTY] = frame[EMPTY].astype(object)  # a boolean or integer column holds no NaN until it is objects
    frame.loc[2, EMPTY] = np.nan
    return frame


def _unknown_label(frame):
    frame[LABEL] = frame[LABEL].astype(object)
    frame.loc[4, LABEL] = len(CLASSES)  # one past the last class
    return frame


def _extra_column(frame):
    frame[EXTRA] = 0.0
    return frame


def _no_rows(frame):
    return frame.iloc[0:0]


def _needs(column, what: str):
    return pytest.mark.skipif(not column, reason=f"the contract has no {what} column")


@pytest.mark.parametrize(
    ("breaker", "named"),
    [
        pytest.param(_missing_column, MISSING, id="missing-column"),
        pytest.param(_wrong_dtype, WRONG_TYPE, id="wrong-dtype"),
        pytest.param(_out_of_range, OUT_OF_RANGE, id="out-of-range", marks=_needs(OUT_OF_RANGE, "capped number")),
        pytest.param(_negative, FLOOR[0] if FLOOR else None, id="negative", marks=_needs(FLOOR, "non-negative number")),
        pytest.param(_nan_label, LABEL, id="nan-label"),
        pytest.param(_nan_feature, EMPTY, id="nan-feature", marks=_needs(EMPTY, "required")),
        pytest.param(_unknown_label, LABEL, id="unknown-label"),
        pytest.param(_extra_column, EXTRA, id="extra-column"),
        pytest.param(_no_rows, "no rows", id="no-rows"),
    ],
)
def test_bad_frame_fails_and_names_the_problem(bundled, breaker, named):
    with pytest.raises(ContractError) as caught:
        validate_frame(breaker(bundled.copy()), "incoming.csv")
    message = str(caught.value)
    assert "incoming.csv" in message
    assert named in message


@pytest.mark.skipif(not (OUT_OF_RANGE and EMPTY), reason="the contract has no capped or no required column")
def test_every_failure_is_reported_not_just_the_first(bundled):
    frame = _extra_column(_out_of_range(_nan_feature(bundled.copy())))
    if MISSING not in (OUT_OF_RANGE, EMPTY):
        frame = _missing_column(frame)
    with pytest.raises(ContractError) as caught:
        validate_frame(frame, "incoming.csv")
    message = str(caught.value)
    for named in {MISSING, OUT_OF_RANGE, EMPTY, EXTRA}:
        assert named in message
    # The failing CSV line (header is line 1) is named for row-level failures: row 7 is line 9, the last field.
    line = next(line for line in message.splitlines() if OUT_OF_RANGE in line and "above the maximum" in line)
    assert re.search(rf"above the maximum \S+ +1 +{_too_large():g}(\.0)? +9$", line), line  # 1799.0, or 1799 if int


def test_cli_validate_rejects_a_bad_file_with_a_table(workspace, bundled, capsys):
    bad = workspace / "bad.csv"
    write_table(_wrong_dtype(_missing_column(bundled.copy()) if MISSING != WRONG_TYPE else bundled.copy()), bad)
    assert main(["validate", str(bad)]) != 0
    error = capsys.readouterr().err
    assert "bad.csv" in error
    assert WRONG_TYPE in error and (MISSING == WRONG_TYPE or MISSING in error)
    assert not (workspace / "data" / "splits").exists(), "a rejected file must not produce a split"


@pytest.mark.parametrize("content", ["", "not,a\n1,2,3,4\n"], ids=["empty-file", "ragged-csv"])
def test_cli_validate_rejects_unreadable_files(workspace, content, capsys):
    path = workspace / "broken.csv"
    path.write_text(content)
    assert main(["validate", str(path)]) != 0
    assert "broken.csv" in capsys.readouterr().err


def test_train_refuses_data_changed_after_the_split(splits, bundled, capsys):
    raw = Path(config.load(config.DataConfig).raw)
    write_table(_wrong_dtype(bundled.copy()), raw)  # as the project's files are written (schema.CSV)
    assert main(["train", "train.trainer.max_epochs=1"]) != 0
    assert "make validate" in capsys.readouterr().err


def test_validated_frame_has_contract_dtypes(bundled):
    """Integers in a float column are coerced to floats: each float column's values as the nearest whole numbers
    inside its range (a column whose range holds no whole number keeps its values)."""
    frame = bundled.copy()
    floats = []
    for name in NUMBERS:
        low, high = bounds(name)
        low, high = math.ceil(low if low is not None else -1e9), math.floor(high if high is not None else 1e9)
        if str(SCHEMA.columns[name].dtype).startswith("float") and low <= high:
            floats.append(name)
            frame[name] = frame[name].round().clip(low, high).astype("Int64")  # whole numbers (missing kept)
    validated = validate_frame(frame, "ints.csv")
    assert all(validated[name].dtype == np.float64 for name in floats)
    assert [str(value) for value in sorted(validated[LABEL].unique(), key=CLASSES.index)] == [
        str(value) for value in CLASSES if value in set(validated[LABEL])
    ]


def test_served_records_encode_as_training_rows_do(bundled):
    """The service encodes checked records without pandas (features.encode_records): the same matrix as `encode`
    gives for the same rows, missing values and every category included."""
    frame = validate_frame(bundled, "project.csv").head(200).reset_index(drop=True)
    for index, name in enumerate(NULLABLE):  # a missing value in each nullable column, whatever the table holds
        frame.loc[index % len(frame), name] = None
    Record = request_model()
    records = [Record.model_validate(to_request(row)) for row in frame.to_dict("records")]
    served, logged = inputs(records)
    np.testing.assert_array_equal(served, encode(frame))  # NaN where missing, in the same places
    assert logged == [record.features() for record in records]
