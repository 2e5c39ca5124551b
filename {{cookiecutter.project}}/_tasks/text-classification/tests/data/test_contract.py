"""The data contract accepts the project's texts and rejects each kind of bad table, naming the row and the check."""

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.features import request_model
from {{ cookiecutter.package }}.schema import CLASSES, LABEL, MAX_CHARS, TEXT
from {{ cookiecutter.package }}.texts import scan
from {{ cookiecutter.package }}.validate import ContractError, validate_frame, write_table


def test_project_data_passes(bundled):
    validated = validate_frame(bundled, "project.csv")
    assert sorted(validated.columns) == sorted([TEXT, LABEL])
    assert len(validated) == len(bundled) and validated[LABEL].nunique() == len(CLASSES)


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[3, TEXT] = " \t "
    return frame


def _too_long(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[5, TEXT] = "x" * (MAX_CHARS + 1)
    return frame


def _unknown_class(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[7, LABEL] = "not-a-class"
    return frame


def _extra_column(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(not_in_the_contract=1)


def _no_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[TEXT])


@pytest.mark.parametrize(
    ("breaker", "named"),
    [
        pytest.param(_blank, "empty once stripped", id="blank-text"),
        pytest.param(_too_long, f"longer than {MAX_CHARS}", id="over-long-text"),
        pytest.param(_unknown_class, "not-a-class", id="unknown-class"),
        pytest.param(_extra_column, "not_in_the_contract", id="extra-column"),
        pytest.param(_no_text, TEXT, id="missing-text-column"),
    ],
)
def test_bad_frame_fails_and_names_the_problem(bundled, breaker, named):
    with pytest.raises(ContractError, match=r"bad\.csv") as failure:
        validate_frame(breaker(bundled.head(50).copy()), "bad.csv")
    assert named in str(failure.value)


def test_cli_validate_rejects_a_bad_file_and_saves_no_split(workspace, bundled, capsys):
    bad = workspace / "bad.csv"
    write_table(_blank(bundled.copy()), bad)
    assert main(["validate", str(bad)]) != 0
    error = capsys.readouterr().err
    assert "bad.csv" in error and "empty once stripped" in error
    assert not (workspace / "data" / "splits").exists(), "a rejected file must not produce a split"


def test_train_refuses_data_changed_after_the_split(splits, bundled, capsys):
    raw = Path(config.load(config.DataConfig).raw)
    write_table(_unknown_class(bundled.copy()), raw)
    assert main(["train", "train.trainer.max_epochs=1"]) != 0
    assert "make validate" in capsys.readouterr().err


def test_a_folder_of_texts_is_read_with_what_was_left_out_named(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "good" / "1.txt").write_text("\ufeffA fine text, with a byte-order mark.", encoding="utf-8")
    (tmp_path / "bad" / "2.txt").write_bytes("Très mauvais".encode("cp1252"))
    (tmp_path / "bad" / "3.txt").write_text("   ")
    frame, left_out = scan(tmp_path)
    assert frame.to_dict("records") == [{TEXT: "A fine text, with a byte-order mark.", LABEL: "good"}]
    assert any("2.txt: not a readable UTF-8 text" in line for line in left_out)
    assert any("3.txt: empty once stripped" in line for line in left_out)


@pytest.mark.parametrize("text", ["", "  \n ", "x" * (MAX_CHARS + 1)], ids=["empty", "blank", "over-long"])
def test_a_request_record_refuses_what_the_contract_refuses(text):
    with pytest.raises(ValidationError, match=TEXT):
        request_model()(**{TEXT: text})
    assert request_model()(**{TEXT: "fine"}).text == "fine"
