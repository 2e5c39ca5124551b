"""Check a table against the data contract and report every failure, not just the first."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pandera.errors
import pandera.pandas as pa
import pyarrow

from .plugin import TASK

T = TypeVar("T")

SCHEMA = TASK.schema
CONTRACT = TASK.contract  # where the contract is defined, named in every failure message

# Failure cases that only repeat what a failed coercion already said about the same value.
_ECHO_CHECKS = ("dtype(", "greater_than", "less_than", "in_range", "isin")


_CHECK_MEANINGS = {
    "greater_than_or_equal_to": "below the minimum",
    "less_than_or_equal_to": "above the maximum",
    "in_range": "outside the range",
    "isin": "not one of",
}


class ContractError(ValueError):
    """The data broke the contract; the message is a table of every failure and what to do about it."""


def _is_text(column) -> bool:
    dtype = column.dtype.type
    return not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


# Columns the contract holds as text: read as text whatever they look like (a category "2020-01-01" is no date).
TEXT = [name for name, column in SCHEMA.columns.items() if _is_text(column)]


# How a CSV file is written: the separator, the decimal mark and the encoding. The saved split is always in STANDARD;
# the project's own files (the adopted table, a new export for the drift check) are in the contract's (schema.CSV,
# which `make adopt` writes from the file it adopted: a spreadsheet's `;` and decimal commas, say).
STANDARD = {"delimiter": ",", "decimal": ".", "encoding": "utf-8"}
DIALECT = {**STANDARD, **TASK.csv_dialect}  # an image project's contract has no CSV: its index is ours


def read_table(path: str | Path, text: list[str] = TEXT, dialect: dict | None = None) -> pd.DataFrame:
    """A CSV file (or a Parquet file, by its suffix) as a frame; a clear error for a missing or unreadable one.

    CSV files are parsed by pyarrow (multi-threaded: a million rows in seconds) in `dialect` (the contract's by
    default), the `text` columns as text.
    """
    dialect = {**STANDARD, **(DIALECT if dialect is None else dialect)}
    path = Path(path)
    if path.is_dir():
        return read_folder(path)
    if not path.is_file():
        raise ContractError(
            f"{path}: no such {TASK.source_kind}. Run `make data` for the bundled data, or `{TASK.adopt_usage}`."
        )
    if path.suffix.lower() in {".parquet", ".pq"}:
        try:
            return pd.read_parquet(path)
        except Exception as error:  # pyarrow raises many kinds for a file that is not Parquet
            raise ContractError(f"{path}: not a readable Parquet file ({type(error).__name__}: {error}).") from None
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: the file is empty (no header, no rows).")
    import pyarrow
    import pyarrow.csv

    try:
        return pyarrow.csv.read_csv(path, **_csv_options(dialect, text)).to_pandas()
    except (pyarrow.ArrowInvalid, UnicodeDecodeError) as error:
        raise _unreadable(path, error, dialect) from None


def _csv_options(dialect: dict, text: list[str], block_size: int | None = None) -> dict:
    """pyarrow's reading options for a CSV file in `dialect`, the `text` columns as text."""
    import pyarrow
    import pyarrow.csv

    read = pyarrow.csv.ReadOptions(encoding=dialect["encoding"])
    if block_size:
        read.block_size = block_size
    return {
        "read_options": read,
        # A quoted value may span lines (a text with paragraphs): parsed as one value, not as a ragged row.
        "parse_options": pyarrow.csv.ParseOptions(delimiter=dialect["delimiter"], newlines_in_values=True),
        # pyarrow's own conversion: an integer column with gaps becomes float64 (pandas' pyarrow engine refuses it)
        "convert_options": pyarrow.csv.ConvertOptions(
            column_types=dict.fromkeys(text, pyarrow.string()),
            strings_can_be_null=True,
            decimal_point=dialect["decimal"],
        ),
    }


def _unreadable(path: Path, error: Exception, dialect: dict) -> ContractError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    read_as = ", ".join(f"{key} {value!r}" for key, value in dialect.items())
    return ContractError(f"{path}: not a readable CSV file ({reason}; read with {read_as}).")


class Reread(Exception):
    """A later batch of a CSV file holds a value its column's type (guessed from the first batch) cannot take: read
    the file again with that column as text, so that the contract names each such value and its line."""

    def __init__(self, column: str):
        super().__init__(column)
        self.column = column


def reading_as_text(read: Callable[[list[str]], T], text: list[str]) -> T:
    """`read(text columns)`, again with each column a late batch showed to be text (Reread) added, until it reads."""
    columns = list(text)
    while True:
        try:
            return read(columns)
        except Reread as reread:
            columns.append(reread.column)


def parquet_batches(
    parquet: "pyarrow.parquet.ParquetFile", batch_rows: int, columns: list[str] | None = None
) -> Iterator["pyarrow.RecordBatch"]:
    """A Parquet file's rows in record batches of at most `batch_rows`, read with one reader per row group: a single
    iter_batches over a whole file of many row groups keeps memory from each group it passed (pyarrow 26: 400 MiB
    at 4M rows), so memory would follow the file's size, not a batch's."""
    for group in range(parquet.num_row_groups):
        yield from parquet.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns)


def read_batches(
    path: str | Path, batch_rows: int, text: list[str] = TEXT, dialect: dict | None = None
) -> Iterator[tuple[int, pd.DataFrame]]:
    """The table in batches of about `batch_rows` rows, each with the position of its first row: (start, frame).

    Parquet: by row groups of `batch_rows`. CSV: pyarrow's streaming reader, its blocks joined into batches of
    `batch_rows`. A folder (an image index) or a file read_table refuses comes whole, as read_table gives it. There is
    always at least one batch, empty for a table without rows.
    """
    dialect = {**STANDARD, **(DIALECT if dialect is None else dialect)}
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir() or not path.is_file() or path.stat().st_size == 0:
        yield 0, read_table(path, text, dialect)
        return
    import pyarrow
    import pyarrow.csv
    import pyarrow.parquet

    if suffix in {".parquet", ".pq"}:
        try:
            reader = pyarrow.parquet.ParquetFile(path)
        except Exception as error:  # pyarrow raises many kinds for a file that is not Parquet
            raise ContractError(f"{path}: not a readable Parquet file ({type(error).__name__}: {error}).") from None
        start = 0
        for batch in parquet_batches(reader, batch_rows):
            yield start, batch.to_pandas()
            start += batch.num_rows
        if start == 0:
            yield 0, reader.schema_arrow.empty_table().to_pandas()
        return
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    line_bytes = max(1, len(head) // max(1, head.count(b"\n")))
    # pyarrow's streaming reader reads up to 32 blocks ahead: blocks of a few MiB keep that bounded (they are joined
    # here into batches of `batch_rows`). It would guess each column's type from its first block alone: the types
    # come from the first batch_rows lines instead, read at once (_head_types).
    block = min(max(line_bytes * 64, 1 << 22), 1 << 26)
    options = _csv_options(dialect, text, block)
    types = _head_types(path, dialect, text, line_bytes * batch_rows)
    options["convert_options"].column_types = types or options["convert_options"].column_types
    start, read, pending, names = 0, 0, [], list(types)
    try:
        reader = pyarrow.csv.open_csv(path, **options)
        names = reader.schema.names
        for batch in reader:
            pending.append(batch)
            read += batch.num_rows
            if read - start >= batch_rows:
                yield start, pyarrow.Table.from_batches(pending).to_pandas()
                start, pending = read, []
        if pending or start == 0:
            yield start, pyarrow.Table.from_batches(pending, schema=reader.schema).to_pandas()
    except (pyarrow.ArrowInvalid, UnicodeDecodeError) as error:
        match = re.match(r"In CSV column #(\d+): CSV conversion error", str(error))
        if match and int(match.group(1)) < len(names) and names[int(match.group(1))] not in text:
            raise Reread(names[int(match.group(1))]) from None  # (read as text, a value it cannot take is named)
        raise _unreadable(path, error, dialect) from None


def _head_types(path: Path, dialect: dict, text: list[str], size: int) -> dict:
    """Each column's type as pyarrow infers it from the file's first `size` bytes (whole lines), read at once: what
    reading a batch at once guessed. Empty where that head cannot be read alone (it is cut inside a quoted value):
    the streaming reader then guesses from its first block."""
    import pyarrow
    import pyarrow.csv

    with open(path, "rb") as handle:
        head = handle.read(size + 1)
    if len(head) > size:
        head = head[: head.rfind(b"\n") + 1]
    try:
        options = _csv_options(dialect, text, max(len(head), 1 << 16) + 1)
        schema = pyarrow.csv.read_csv(pyarrow.py_buffer(head), **options).schema
    except (pyarrow.ArrowInvalid, UnicodeDecodeError):
        return {}
    return {field.name: field.type for field in schema}


def detect_dialect(path: Path, given: dict | None = None) -> dict:
    """A CSV file's separator, decimal mark and encoding, from its first 64 KB; what `given` sets is kept as is.

    Encoding: UTF-8 (a byte-order mark is skipped), else cp1252 (a Windows spreadsheet's export). Separator: the one
    of `, ; tab |` that splits the lines evenly (csv.Sniffer). Decimal mark: a comma where numbers are written
    `3,14` and the separator is not a comma.
    """
    import csv
    import re

    given = {key: value for key, value in (given or {}).items() if value}
    with open(path, "rb") as handle:  # the head only: the file may be gigabytes
        head = handle.read(65536)
    encoding = given.get("encoding")
    if encoding is None:
        try:
            head.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as error:  # a cut multi-byte character at the very end is still UTF-8
            encoding = "utf-8" if error.start >= len(head) - 3 and len(head) == 65536 else "cp1252"
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()[:200] if len(head) < 65536 else text.splitlines()[:-1][:200]
    delimiter = given.get("delimiter")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    decimal = given.get("decimal")
    if decimal is None:
        decimal = "."
        if delimiter != ",":
            fields = [field.strip('"') for line in lines[1:] for field in line.split(delimiter)]
            commas = sum(bool(re.fullmatch(r"-?\d+,\d+", field)) for field in fields)
            points = sum(bool(re.fullmatch(r"-?\d+\.\d+", field)) for field in fields)
            decimal = "," if commas > points else "."
    return {"delimiter": delimiter, "decimal": decimal, "encoding": encoding}


def read_folder(path: Path) -> pd.DataFrame:
    """An image folder's index (images.scan), one row per file; a file that is no readable image is an error."""
    try:
        frame, left_out = TASK.read_folder(path)
    except ValueError as error:  # a table project reads no folders
        raise ContractError(str(error)) from None
    unreadable = [line for line in left_out if "not a readable" in line]
    if unreadable:
        listed = "".join(f"\n  {line}" for line in unreadable[:10])
        more = f"\n  (+{len(unreadable) - 10} more)" if len(unreadable) > 10 else ""
        raise ContractError(
            f"{path}: {len(unreadable)} file(s) are not readable images:{listed}{more}\n"
            "Replace or remove them (`make adopt DATA=<folder>` copies only the readable ones)."
        )
    return frame


def write_table(frame: pd.DataFrame, path: str | Path, dialect: dict | None = None) -> None:
    """Write a frame as CSV in `dialect` (the contract's by default) or, by its suffix, as Parquet."""
    path = Path(path)
    if path.suffix.lower() in {".parquet", ".pq"}:
        frame.to_parquet(path, index=False)
        return
    path.unlink(missing_ok=True)
    append_table(frame, path, dialect)


def append_table(frame: pd.DataFrame, path: str | Path, dialect: dict | None = None) -> None:
    """Append a frame's rows to a CSV file in `dialect`, with the header when the file is new: a table written a
    batch at a time. By pyarrow (~7x faster than pandas) in the standard dialect."""
    import pyarrow
    import pyarrow.csv

    path = Path(path)
    dialect = {**STANDARD, **(DIALECT if dialect is None else dialect)}
    new = not path.exists()
    if dialect == STANDARD:
        try:
            table = pyarrow.Table.from_pandas(frame, preserve_index=False)
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):  # a column of mixed types (text in a number column)
            table = None
        if table is not None:
            with open(path, "ab") as handle:
                pyarrow.csv.write_csv(table, handle, write_options=pyarrow.csv.WriteOptions(include_header=new))
            return
    frame.to_csv(
        path,
        mode="a",
        header=new,
        index=False,
        sep=dialect["delimiter"],
        decimal=dialect["decimal"],
        encoding=dialect["encoding"],
    )


def settled(schema: pyarrow.Schema) -> pyarrow.Schema:
    """A first batch's Arrow schema where a column it held no value of (null type) is text: every later batch is cast
    to it, so that one Parquet file (or all shards of a split) holds one schema."""
    return pyarrow.schema(
        [pyarrow.field(f.name, pyarrow.string()) if pyarrow.types.is_null(f.type) else f for f in schema]
    )


def _summarise(failures: pd.DataFrame, line_offset: int, names: pd.Series | None = None) -> pd.DataFrame:
    failures = failures.copy()
    failures["column"] = failures["column"].where(failures["schema_context"] != "DataFrameSchema", None)
    failures["what"] = failures.apply(_describe, axis=1)
    coerced = set(failures.loc[failures["check"].map(str).str.startswith("coerce_dtype"), "column"])
    echo = failures["column"].isin(coerced) & failures["check"].map(str).str.startswith(_ECHO_CHECKS)
    # An empty value also fails coercion to int; "empty value" (not_nullable) says it better.
    echo |= failures["check"].map(str).str.startswith("coerce_dtype") & failures["failure_case"].isna()
    failures = failures[~echo]
    # Line numbers in the file: in a CSV line 1 is the header, so data row i is on line i + 2.
    row_numbers = pd.to_numeric(failures["index"], errors="coerce")
    failures["line"] = row_numbers.map(lambda i: "" if pd.isna(i) else str(int(i) + line_offset))
    if names is not None:  # a folder's index: name the files, not lines of a file that does not exist
        failures["line"] = row_numbers.map(lambda i: "" if pd.isna(i) else str(names.get(int(i), "")))
    rows = []
    for (column, what), group in failures.groupby(["column", "what"], dropna=False, sort=False):
        values = group["failure_case"].map(str).drop_duplicates().head(3).tolist()
        lines = [line for line in group["line"] if line]
        where = ", ".join(lines[:5]) + (f" (+{len(lines) - 5} more)" if len(lines) > 5 else "")
        rows.append(
            {
                "column": column if isinstance(column, str) else "(table)",
                "problem": what,
                "count": len(group),
                "values": ", ".join(values) if lines else "",
                "files" if names is not None else "lines": where,
            }
        )
    return pd.DataFrame(rows)


def _describe(failure: pd.Series) -> str:
    check = str(failure["check"])
    if check == "column_in_dataframe":
        return f"column '{failure['failure_case']}' is missing"
    if check == "column_in_schema":
        return f"column '{failure['failure_case']}' is not in the contract"
    if check == "not_nullable":
        return "empty value (NaN) where one is required"
    if check.startswith("coerce_dtype"):
        return f"value is not of type {check.split('(', 1)[1].rstrip(')')}"
    for prefix, meaning in _CHECK_MEANINGS.items():
        if check.startswith(prefix):
            return f"{meaning} {check[len(prefix) :].strip('()')}"
    return check


def validate_frame(
    frame: pd.DataFrame, source: str | Path, schema: pa.DataFrameSchema = SCHEMA, line_offset: int = 2
) -> pd.DataFrame:
    """Return the frame coerced to the contract's dtypes, or raise ContractError naming every failure.

    `schema` is the contract, or the contract without its label for unlabelled data (served requests);
    row i of the frame is on line i + `line_offset` of the file (2 for a CSV with a header).
    """
    try:
        return schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        names = frame["path"] if Path(source).is_dir() and "path" in frame else None
        raise ContractError(_message(errors.failure_cases, source, line_offset, names)) from None


def _message(failures: pd.DataFrame, source: str | Path, line_offset: int, names: pd.Series | None = None) -> str:
    table = _summarise(failures, line_offset, names)
    return (
        f"{source} breaks the data contract ({len(table)} problem(s); {CONTRACT}.SCHEMA):\n\n"
        f"{table.to_string(index=False)}\n\n"
        "Fix these rows or columns in the file, or, if the data is right and the contract is out of date, "
        f"change the contract in src/{CONTRACT.replace('.', '/')}.py and retrain."
    )


class FailureLog:
    """Every contract failure of a table read in batches (read_batches), reported once at the end, with its line in
    the file; reading stops after MAX failures (the report says where)."""

    MAX = 10_000

    def __init__(self, source: str | Path, schema: pa.DataFrameSchema = SCHEMA):
        self.source, self.schema = source, schema
        self.cases: list[pd.DataFrame] = []
        self.count = 0
        self.names: pd.Series | None = None

    def check(self, batch: pd.DataFrame, start: int) -> pd.DataFrame | None:
        """The batch coerced to the contract, or None (its failures logged). Its rows are numbered from `start`."""
        batch.index = pd.RangeIndex(start, start + len(batch))
        try:
            return self.schema.validate(batch, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            cases = errors.failure_cases
            if self.cases:  # a problem with the table itself (a missing column) is said once, not per batch
                cases = cases[pd.to_numeric(cases["index"], errors="coerce").notna()]
            self.cases.append(cases)
            self.count += len(cases)
            if Path(self.source).is_dir() and "path" in batch:
                self.names = batch["path"]
            if self.count >= self.MAX:
                self.raise_if_any(
                    f"\n(checking stopped at line {start + len(batch) + 1} after {self.count:,} failures)"
                )
            return None

    def raise_if_any(self, note: str = "") -> None:
        if self.cases:
            message = _message(pd.concat(self.cases, ignore_index=True), self.source, 2, self.names)
            head, _, tail = message.partition("\n\nFix these")
            raise ContractError(f"{head}{note}\n\nFix these{tail}")


def valid_rows(
    frame: pd.DataFrame, source: str | Path, schema: pa.DataFrameSchema = SCHEMA, line_offset: int = 2
) -> tuple[pd.DataFrame, str | None]:
    """The rows that keep the contract (coerced), and a report of the rows left out (None when every row kept it).

    For data where one bad row must not condemn the rest (a service's request log). A problem with the table itself
    (a missing column), or no row left, raises ContractError as validate_frame does.
    """
    try:
        return schema.validate(frame, lazy=True), None
    except pandera.errors.SchemaErrors as errors:
        failures = errors.failure_cases
        rows = pd.to_numeric(failures["index"], errors="coerce")
        if rows.isna().any() or rows.nunique() >= len(frame):
            raise ContractError(_message(failures, source, line_offset)) from None
        kept = frame.drop(index=rows.astype(int).unique())
        report = _message(failures, source, line_offset).split("\n\nFix these", 1)[0]
        report = report.replace("breaks the data contract", f"has {rows.nunique()} row(s) that break the contract")
        return validate_frame(kept, source, schema, line_offset), report + "\n(those rows were skipped)"


def load_valid(path: str | Path) -> pd.DataFrame:
    """Read a CSV file and validate it: the only way the pipeline reads data."""
    return validate_frame(read_table(path), path)
