"""`make adopt` reads a table in batches (a CSV file converted to Parquet a batch at a time, then a column at a time):
what it sees is what reading the whole file at once gives, so the contract it writes is the same."""

import pandas as pd
import pytest

from {{ cookiecutter.package }} import adopt
from {{ cookiecutter.package }}.validate import read_table, write_table


def _whole_and_batched(path, tmp_path, monkeypatch, rows: int) -> tuple[pd.DataFrame, adopt.Table]:
    monkeypatch.setattr(adopt, "BATCH_ROWS", max(1, rows // 5))
    table, _ = adopt._read(str(path), tmp_path)
    return read_table(path, text=[], dialect=adopt.detect_dialect(path)), table


def test_a_table_read_in_batches_reads_as_the_whole_file(bundled, tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    write_table(bundled, path, adopt.STANDARD)
    whole, table = _whole_and_batched(path, tmp_path, monkeypatch, len(bundled))
    assert table.rows == len(whole) and table.columns == list(whole.columns)
    for name in whole.columns:
        pd.testing.assert_series_equal(table.column(name), whole[name], check_dtype=False, obj=name)


def test_a_value_in_a_late_batch_that_is_not_a_number_makes_the_column_text_as_in_the_whole_file(
    bundled, tmp_path, monkeypatch
):
    """The first batches of a column hold numbers, the last row a word: pyarrow's streaming reader fixed the column's
    type on the first batch; the column is read again as text, as reading the whole file at once makes it."""
    numbers = [name for name in bundled.columns if pd.api.types.is_numeric_dtype(bundled[name])]
    if not numbers or len(bundled) < 10:
        pytest.skip("no number column (or too few rows) to put a word in")
    frame = bundled.astype({numbers[0]: object})
    frame.loc[frame.index[-1], numbers[0]] = "unknown"
    path = tmp_path / "late.csv"
    write_table(frame, path, adopt.STANDARD)
    whole, table = _whole_and_batched(path, tmp_path, monkeypatch, len(frame))
    column = table.column(numbers[0])
    assert not pd.api.types.is_numeric_dtype(column) and column.iloc[-1] == "unknown"
    pd.testing.assert_series_equal(column, whole[numbers[0]], check_dtype=False)
