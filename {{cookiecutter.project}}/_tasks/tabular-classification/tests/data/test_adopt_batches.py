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


def test_a_large_tables_sample_comes_from_a_seeded_subset_with_each_class_in_its_share(tmp_path, monkeypatch):
    """Over CANDIDATE_ROWS rows the test sample is drawn from a seeded subset of the rows (sklearn's stratified draw
    holds memory for every row it draws from). A table built so that a draw by position would be lopsided (the rows
    sorted by class): the sample is still the table's own distinct rows, each class in its share, the same twice."""
    shares = {"common": 0.7, "middle": 0.25, "rare": 0.05}
    labels = [name for name, share in shares.items() for _ in range(round(share * 10_000))]
    frame = pd.DataFrame({"row": range(len(labels)), "class": labels})
    frame.to_parquet(tmp_path / "table.parquet", index=False)
    table = adopt.Table(tmp_path / "table.parquet")
    monkeypatch.setattr(adopt, "CANDIDATE_ROWS", 2_000)
    monkeypatch.setattr(adopt, "SAMPLE_ROWS", 200)
    sample = adopt._sample(table, table.column("class"), ["row", "class"])
    pd.testing.assert_frame_equal(sample, adopt._sample(table, table.column("class"), ["row", "class"]))
    assert len(sample) == 200 and sample["row"].is_unique
    assert (sample["class"] == frame["class"].iloc[sample["row"]].to_numpy()).all(), "rows as the table has them"
    counts = sample["class"].value_counts()
    assert all(abs(counts.get(name, 0) - share * 200) <= 4 for name, share in shares.items()), counts.to_dict()
