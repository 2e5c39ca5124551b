"""The data contract accepts the real images and rejects each kind of bad table, naming the column."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.schema import FEATURES, LABEL, SIDE, monitored
from {{ cookiecutter.package }}.validate import ContractError, validate_frame


def test_bundled_data_passes(bundled):
    validated = validate_frame(bundled, "bundled.csv")
    assert list(validated.columns) == [*FEATURES, LABEL]
    assert len(FEATURES) == SIDE * SIDE and len(validated) == 1797
    assert validated[LABEL].nunique() == 10


def _missing_column(frame):
    return frame.drop(columns=["pixel_2_5"])


def _wrong_dtype(frame):
    frame["pixel_4_4"] = frame["pixel_4_4"].astype(object)
    frame.loc[3, "pixel_4_4"] = "dark"
    return frame


def _out_of_range(frame):
    frame.loc[7, "pixel_3_3"] = 255.0  # an 8-bit grey level where the contract says 0-16
    return frame


def _negative(frame):
    frame.loc[9, "pixel_0_0"] = -1.0
    return frame


def _nan_label(frame):
    frame[LABEL] = frame[LABEL].astype(float)
    frame.loc[5, LABEL] = np.nan
    return frame


def _nan_pixel(frame):
    frame.loc[2, "pixel_6_1"] = np.nan
    return frame


def _unknown_label(frame):
    frame.loc[4, LABEL] = 10
    return frame


def _extra_column(frame):
    frame["pixel_8_0"] = 0.0  # a ninth row: a 9 x 8 image
    return frame


def _no_rows(frame):
    return frame.iloc[0:0]


@pytest.mark.parametrize(
    ("breaker", "named"),
    [
        pytest.param(_missing_column, "pixel_2_5", id="missing-column"),
        pytest.param(_wrong_dtype, "pixel_4_4", id="wrong-dtype"),
        pytest.param(_out_of_range, "pixel_3_3", id="out-of-range"),
        pytest.param(_negative, "pixel_0_0", id="negative"),
        pytest.param(_nan_label, LABEL, id="nan-label"),
        pytest.param(_nan_pixel, "pixel_6_1", id="nan-pixel"),
        pytest.param(_unknown_label, LABEL, id="unknown-label"),
        pytest.param(_extra_column, "pixel_8_0", id="extra-column"),
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
    frame = _extra_column(_out_of_range(_nan_pixel(_missing_column(bundled.copy()))))
    with pytest.raises(ContractError) as caught:
        validate_frame(frame, "incoming.csv")
    message = str(caught.value)
    for named in ("pixel_2_5", "pixel_3_3", "pixel_6_1", "pixel_8_0"):
        assert named in message
    # The failing CSV line (header is line 1) is named for row-level failures: row 7 is line 9.
    assert "9" in message.split("pixel_3_3", 1)[1].splitlines()[0]
    assert "255" in message and "above the maximum 16" in message


def test_cli_validate_rejects_a_bad_file_with_a_table(workspace, bundled, capsys):
    bad = workspace / "bad.csv"
    _out_of_range(_missing_column(bundled.copy())).to_csv(bad, index=False)
    assert main(["validate", str(bad)]) != 0
    error = capsys.readouterr().err
    assert "bad.csv" in error
    assert "pixel_2_5" in error and "pixel_3_3" in error
    assert not (workspace / "data" / "splits").exists(), "a rejected file must not produce a split"


@pytest.mark.parametrize("content", ["", "not,a\n1,2,3,4\n"], ids=["empty-file", "ragged-csv"])
def test_cli_validate_rejects_unreadable_files(workspace, content, capsys):
    path = workspace / "broken.csv"
    path.write_text(content)
    assert main(["validate", str(path)]) != 0
    assert "broken.csv" in capsys.readouterr().err


def test_train_refuses_data_changed_after_the_split(splits, bundled, capsys):
    raw = splits.parent / "raw" / "digits.csv"
    _out_of_range(bundled.copy()).to_csv(raw, index=False)
    assert main(["train", "train.trainer.max_epochs=1"]) != 0
    assert "make validate" in capsys.readouterr().err


def test_integer_grey_levels_are_read_as_floats(bundled):
    validated = validate_frame(bundled.astype(int), "ints.csv")
    assert all(validated[name].dtype == np.float64 for name in FEATURES)
    assert pd.api.types.is_integer_dtype(validated[LABEL])


def test_monitored_statistics_follow_the_ink(bundled):
    """What the drift check compares: a blank image, a fainter pen and a moved digit change what they should."""
    images = bundled[FEATURES].head(50)
    base = monitored(images)
    fainter = monitored(images * 0.5)
    np.testing.assert_allclose(fainter["intensity"], base["intensity"] * 0.5)
    unchanged = ["ink", "centre_row", "centre_column"]
    np.testing.assert_allclose(fainter[unchanged], base[unchanged])
    moved = images.to_numpy().reshape(-1, SIDE, SIDE)[:, :, :-1]
    right = np.zeros((len(images), SIDE, SIDE))
    right[:, :, 1:] = moved
    shifted = monitored(pd.DataFrame(right.reshape(len(images), -1), columns=FEATURES))
    assert (shifted["centre_column"] > base["centre_column"].to_numpy()).all()
    blank = monitored(pd.DataFrame([[0.0] * len(FEATURES)], columns=FEATURES))
    assert blank.iloc[0].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0]
