"""The data contract accepts the real data and rejects each kind of bad table, naming the column."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.schema import FEATURES, LABEL
from {{ cookiecutter.package }}.validate import ContractError, validate_frame


def test_bundled_data_passes(bundled):
    validated = validate_frame(bundled, "bundled.csv")
    assert list(validated.columns) == [*FEATURES, LABEL]
    assert len(validated) == 569


def _missing_column(frame):
    return frame.drop(columns=["mean_area"])


def _wrong_dtype(frame):
    frame["worst_radius"] = frame["worst_radius"].astype(object)
    frame.loc[3, "worst_radius"] = "twelve"
    return frame


def _out_of_range(frame):
    frame.loc[7, "mean_radius"] = 999.0
    return frame


def _nan_label(frame):
    frame[LABEL] = frame[LABEL].astype(float)
    frame.loc[5, LABEL] = np.nan
    return frame


def _nan_feature(frame):
    frame.loc[2, "mean_texture"] = np.nan
    return frame


def _unknown_label(frame):
    frame.loc[4, LABEL] = 7
    return frame


def _extra_column(frame):
    frame["patient_name"] = "x"
    return frame


def _no_rows(frame):
    return frame.iloc[0:0]


@pytest.mark.parametrize(
    ("breaker", "named"),
    [
        pytest.param(_missing_column, "mean_area", id="missing-column"),
        pytest.param(_wrong_dtype, "worst_radius", id="wrong-dtype"),
        pytest.param(_out_of_range, "mean_radius", id="out-of-range"),
        pytest.param(_nan_label, LABEL, id="nan-label"),
        pytest.param(_nan_feature, "mean_texture", id="nan-feature"),
        pytest.param(_unknown_label, LABEL, id="unknown-label"),
        pytest.param(_extra_column, "patient_name", id="extra-column"),
        pytest.param(_no_rows, "no rows", id="no-rows"),
    ],
)
def test_bad_frame_fails_and_names_the_problem(bundled, breaker, named):
    with pytest.raises(ContractError) as caught:
        validate_frame(breaker(bundled.copy()), "incoming.csv")
    message = str(caught.value)
    assert "incoming.csv" in message
    assert named in message


def test_every_failure_is_reported_not_just_the_first(bundled):
    frame = _extra_column(_out_of_range(_nan_feature(_missing_column(bundled.copy()))))
    with pytest.raises(ContractError) as caught:
        validate_frame(frame, "incoming.csv")
    message = str(caught.value)
    for named in ("mean_area", "mean_radius", "mean_texture", "patient_name"):
        assert named in message
    # The failing CSV line (header is line 1) is named for row-level failures: row 7 is line 9.
    assert "9" in message.split("mean_radius", 1)[1].splitlines()[0]


def test_cli_validate_rejects_a_bad_file_with_a_table(workspace, bundled, capsys):
    bad = workspace / "bad.csv"
    _out_of_range(_missing_column(bundled.copy())).to_csv(bad, index=False)
    assert main(["validate", str(bad)]) != 0
    error = capsys.readouterr().err
    assert "bad.csv" in error
    assert "mean_area" in error and "mean_radius" in error
    assert not (workspace / "data" / "splits").exists(), "a rejected file must not produce a split"


@pytest.mark.parametrize("content", ["", "not,a\n1,2,3,4\n"], ids=["empty-file", "ragged-csv"])
def test_cli_validate_rejects_unreadable_files(workspace, content, capsys):
    path = workspace / "broken.csv"
    path.write_text(content)
    assert main(["validate", str(path)]) != 0
    assert "broken.csv" in capsys.readouterr().err


def test_train_refuses_data_changed_after_the_split(splits, bundled, capsys):
    raw = splits.parent / "raw" / "breast_cancer.csv"
    _out_of_range(bundled.copy()).to_csv(raw, index=False)
    assert main(["train", "train.trainer.max_epochs=1"]) != 0
    assert "make validate" in capsys.readouterr().err


def test_validated_frame_has_contract_dtypes(bundled):
    frame = bundled.copy()
    frame["mean_radius"] = frame["mean_radius"].round().astype(int)  # integers in a float column are fine
    validated = validate_frame(frame, "ints.csv")
    assert validated["mean_radius"].dtype == np.float64
    assert pd.api.types.is_integer_dtype(validated[LABEL])
