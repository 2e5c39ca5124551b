"""`make adopt DATA=<csv or parquet> LABEL=<column>`: your own table becomes the project's data and contract.

pandera infers each column's type, missing values and range (`pandera.infer_schema`); this module turns that into a
readable contract (src/<package>/schema.py) for a person to review, leaves out columns that cannot be features
(identifiers, constants, free text), and resets the settings that only fitted the bundled demo. Every check runs
before anything is written: bad input changes nothing.
"""

import datetime
import keyword
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.parquet as pq
from sklearn.model_selection import train_test_split

from .project_edits import AdoptionError, commit_with_project, replace_line, write_readme
from .validate import (
    STANDARD,
    ContractError,
    append_table,
    detect_dialect,
    parquet_batches,
    read_batches,
    reading_as_text,
    settled,
    write_table,
)

IMBALANCED = 0.2  # the rarest class under this share of the commonest: imbalanced (a warning, and the gate's metric)
MAX_CATEGORIES = 50  # a text column with more distinct values is free text, not a category: left out
MARGIN = 0.1  # a number's range is the observed one widened by this share of its span on each side
SAMPLE_ROWS = 1000  # rows of the table the project's own tests use (tests/fixtures/sample.csv)
CANDIDATE_ROWS = 200_000  # a larger table's sample is drawn from this many of its rows (seeded)
CHECK_ROWS = 10_000  # rows the written contract is tried on before anything is saved
BATCH_ROWS = 100_000  # rows read at a time (a CSV file's conversion, the copy in data/raw/)
pa_errors = (pyarrow.ArrowInvalid, OSError)  # what pyarrow raises for a file that is not Parquet
PACKAGE = __package__


@dataclass
class Column:
    name: str
    kind: str  # number, boolean, category, or "left out"
    dtype: str = ""  # the contract's Series[...] type
    nullable: bool = False
    missing: float = 0.0  # share of rows without a value
    low: float | None = None
    high: float | None = None
    seen: tuple = ()  # observed minimum and maximum
    values: list = field(default_factory=list)
    reason: str = ""  # why a column is left out


def _identifier(name: str, taken: set[str]) -> str:
    """A Python attribute name for a column (the contract keeps the column's own name as its alias)."""
    base = re.sub(r"\W+", "_", name).strip("_").lower() or "column"
    if base[0].isdigit() or keyword.iskeyword(base):
        base = f"c_{base}" if base[0].isdigit() else f"{base}_"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    taken.add(candidate)
    return candidate


def _round(value: float, up: bool) -> float | int:
    """A readable bound: three significant figures, rounded outwards."""
    if value == 0 or not math.isfinite(value):
        return 0
    step = 10 ** (math.floor(math.log10(abs(value))) - 2)
    rounded = (math.ceil if up else math.floor)(value / step) * step
    return int(rounded) if step >= 1 else float(f"{rounded:.10g}")


def _is_boolean(series: pd.Series) -> bool:
    """True/False values, also with gaps (then pandas holds them as objects)."""
    if pd.api.types.is_bool_dtype(series):
        return True
    if series.dtype != object:
        return False
    values = series.dropna().unique()  # a few distinct values: checking their types is cheap
    return 0 < len(values) <= 2 and all(isinstance(value, bool) for value in values)


def classify(table: "Table", label: str) -> list[Column]:
    """Each column's kind, range or categories, from pandera's schema inferred from it and the data: a column at a
    time (table.column), so a table of millions of rows is never held whole."""
    rows = table.rows
    columns = []
    for name in table.columns:
        if name == label:
            continue
        series = table.column(name)
        inferred = pa.infer_schema(series.to_frame())
        present = series.dropna()
        distinct = present.nunique()
        missing = 1 - len(present) / rows
        column = Column(name, "left out", nullable=bool(inferred.columns[name].nullable), missing=missing)
        if len(present) == 0:
            column.reason = "no value in any row"
        elif distinct == 1:
            column.reason = "one value in every row (a constant)"
        elif isinstance(present.iloc[0], datetime.time):
            column.reason = "a time of day without a date: derive numbers from it (the hour) to use it"
        elif pd.api.types.is_datetime64_any_dtype(series) or isinstance(present.iloc[0], datetime.date):
            dates = pd.to_datetime(present, format="ISO8601")
            column.kind, column.dtype = "date", "pandas_engine.DateTime"
            column.values = [dates.min().isoformat(), dates.max().isoformat()]  # shown, not checked: later is fine
        elif _is_boolean(series):
            # pandas' nullable boolean even where no value is missing: coercing NaN to numpy's bool gives True,
            # so a missing value would pass unseen
            column.kind, column.dtype = "boolean", "pd.BooleanDtype"
        elif pd.api.types.is_numeric_dtype(series):
            integer = pd.api.types.is_integer_dtype(series)
            if integer and distinct == rows:
                column.reason = "unique per row (an identifier)"
            else:
                statistics = {check.name: check.statistics for check in inferred.columns[name].checks}
                low = float(statistics.get("greater_than_or_equal_to", {}).get("min_value", present.min()))
                high = float(statistics.get("less_than_or_equal_to", {}).get("max_value", present.max()))
                pad = MARGIN * (high - low)
                floor = max(low - pad, 0.0) if low >= 0 else low - pad  # no negative bound for a non-negative column
                column.kind, column.dtype, column.seen = "number", "int" if integer else "float", (low, high)
                column.low, column.high = _round(floor, up=False), _round(high + pad, up=True)
                if integer:
                    column.low, column.high = math.floor(column.low), math.ceil(column.high)
        elif distinct == rows:
            column.reason = "unique per row (an identifier)"
        elif distinct > MAX_CATEGORIES:
            column.reason = f"{distinct} distinct values: free text, not a category (at most {MAX_CATEGORIES})"
        else:
            column.kind, column.dtype = "category", "str"
            column.values = sorted(present.astype(str).unique())
        columns.append(column)
        del series, present
        pyarrow.default_memory_pool().release_unused()  # the column's buffers: freed, but pyarrow keeps them
    return columns


def _bounds(column: Column) -> str:
    return f"ge={column.low!r}, le={column.high!r}"


def render(
    columns: list[Column], label: str, label_dtype: str, classes: list, positive, source: str, rows: int, csv=None
) -> str:
    """The contract as Python a person reads and edits: one field per column, the label's classes, notes."""
    taken: set[str] = set()
    kept = [column for column in columns if column.kind != "left out"]
    left_out = [column for column in columns if column.kind == "left out"]
    lines = [
        f'"""The data contract of {source}: the one definition of its columns, types, ranges and label.',
        "",
        f"Written by `make adopt` from {rows} rows; review it and edit it as the data's owner. Training, the service's",
        "request validation and the drift check all follow it. Ranges are the observed ones widened by "
        f"{100 * MARGIN:.0f}% of their span",
        "(never below 0 for a column with no negative value); categories are the values seen. A category the",
        "training split never showed is the model's 'unknown'. Add new categories at the end of a list.",
    ]
    if left_out:
        lines += [
            "",
            "Left out of the features (and of the copy in data/raw/), and declared at the end of the contract,",
            "so that a new export of the table or a request that still holds them is taken and they are ignored:",
        ]
        lines += [f"- {column.name}: {column.reason}" for column in left_out]
    lines += ['"""', "", "import pandas as pd  # noqa: F401 (pd.BooleanDtype: the type of a true/false column)"]
    lines += ["import pandera.pandas as pa", "from pandera.engines import pandas_engine  # noqa: F401 (dates)"]
    lines += ["from pandera.typing import Series", ""]
    lines += [
        "BUNDLED = None  # adopted data: `make data` writes nothing (the file is data/raw/, see configs/data.yaml)"
    ]
    lines += [
        "",
        "",
        "class Contract(pa.DataFrameModel):",
        f'    """{source}, one row per example; the label is {label}."""',
        "",
    ]
    for column in kept:
        arguments = []
        if column.kind == "number":
            arguments.append(_bounds(column))
        if column.kind == "category":
            arguments.append(f"isin={column.values!r}")
        if column.kind == "date":  # text in any ISO 8601 form: 2024-01-30, 2024-01-30 14:05, 2024-01-30T14:05:00Z
            arguments.append('dtype_kwargs={"to_datetime_kwargs": {"format": "ISO8601"}}')
        if column.nullable:
            arguments.append("nullable=True")
        attribute = _identifier(column.name, taken)
        if attribute != column.name:
            arguments.append(f"alias={column.name!r}")
        note = f"seen {column.seen[0]:g} .. {column.seen[1]:g}" if column.kind == "number" else column.kind
        if column.kind == "date":
            note = (f"a date, seen {column.values[0][:10]} .. {column.values[1][:10]}: the model takes its age and "
                    "calendar parts; to drop it, declare it left out")  # fmt: skip
        if column.nullable:
            note += f"; missing in {100 * column.missing:.1f}% of rows"
        lines.append(f"    # {note}")
        lines.append(f"    {attribute}: Series[{column.dtype}] = pa.Field({', '.join(arguments)})")
    attribute = _identifier(label, taken)
    alias = f", alias={label!r}" if attribute != label else ""
    lines.append("    # the label")
    lines.append(f"    {attribute}: Series[{label_dtype}] = pa.Field(isin={classes!r}{alias})")
    if left_out:
        lines.append(
            "    # left out: no features; a file or a request may hold them (to use one, give it a type and checks)"
        )
    for column in left_out:
        attribute = _identifier(column.name, taken)
        alias = f", alias={column.name!r}" if attribute != column.name else ""
        metadata = {"left_out": column.reason}
        lines.append(f"    {attribute}: Series[str] | None = pa.Field(nullable=True, metadata={metadata!r}{alias})")
    lines += [
        "",
        "    class Config:",
        "        strict = True  # an unexpected column is an error, not silently ignored",
        "        coerce = True  # CSV integers in a float column are fine; text in a number column is not",
        "        ordered = False",
        "",
        '    @pa.dataframe_check(error="the table has no rows")',
        "    def has_rows(cls, df):",
        "        return len(df) > 0",
        "",
        "",
        f"LABEL = {label!r}",
        f"CLASSES = {classes!r}  # the label's values; the model's outputs follow this order",
        f"POSITIVE = {positive!r}  # "
        + ("the class the report's ROC and precision-recall curves are drawn for" if positive is not None else
           "more than two classes: no single class to draw curves for; the confusion matrix says more"),
        "SCHEMA = Contract.to_schema()",
    ]  # fmt: skip
    if csv:
        lines.append(f"CSV = {csv!r}  # how the table's CSV files are written: every one of them is read so")
    lines.append("")
    return "\n".join(lines)


class Table:
    """The table being adopted, as Parquet: the user's own Parquet file, or their CSV file converted batch by batch
    (validate.read_batches). Read a column, or a few rows, at a time: memory follows a column, not the table."""

    def __init__(self, path: Path, spool: Path | None = None):
        self.path = spool or path
        self.metadata = pq.ParquetFile(self.path).metadata
        self.rows = self.metadata.num_rows
        self.columns = pq.ParquetFile(self.path).schema_arrow.names

    def column(self, name: str) -> pd.Series:
        return pq.read_table(self.path, columns=[name]).to_pandas()[name]

    def batches(self, columns: list[str]) -> Iterator[pd.DataFrame]:
        for batch in parquet_batches(pq.ParquetFile(self.path), BATCH_ROWS, columns):
            yield batch.to_pandas()

    def head(self, rows: int, columns: list[str]) -> pd.DataFrame:
        parquet, batches, held = pq.ParquetFile(self.path), [], 0
        for batch in parquet_batches(parquet, rows, columns):
            batches.append(batch)
            held += batch.num_rows
            if held >= rows:
                break
        if not batches:
            return parquet.schema_arrow.empty_table().to_pandas()[columns]
        return pyarrow.Table.from_batches(batches).slice(0, rows).to_pandas()

    def take(self, positions: np.ndarray, columns: list[str]) -> pd.DataFrame:
        """The rows at `positions`, in that order (indexed by position)."""
        wanted, parts, start = np.sort(positions), [], 0
        for batch in self.batches(columns):
            inside = wanted[(wanted >= start) & (wanted < start + len(batch))]
            parts.append(batch.iloc[inside - start].set_axis(inside))
            start += len(batch)
        return pd.concat(parts).loc[positions]


def _read(data: str, scratch: Path, given: dict | None = None) -> tuple[Table, dict | None]:
    """The table, and the CSV dialect it was read in (None for Parquet). A CSV file is converted to Parquet in
    `scratch`, a batch at a time; pyarrow infers each column's type (a column a later batch shows to be text is
    read again as text, as when the whole file is read at once)."""
    path = Path(data)
    if path.is_dir():
        raise AdoptionError(f"DATA={data} is a folder; give one CSV or Parquet file")
    if not path.is_file():
        raise AdoptionError(f"DATA={data}: no such file")
    if path.suffix.lower() not in {".csv", ".parquet", ".pq", ".txt"}:
        raise AdoptionError(f"DATA={data}: not a .csv or .parquet file")
    csv = path.suffix.lower() in {".csv", ".txt"}
    dialect = detect_dialect(path, given) if csv and path.stat().st_size else None
    try:  # no contract yet: every column's type inferred
        table = reading_as_text(
            lambda text: Table(path, _spool(path, scratch / "table.parquet", text, dialect) if csv else None), []
        )
    except ContractError as error:
        raise AdoptionError(str(error).splitlines()[0]) from None
    except pa_errors as error:  # a file named .parquet that is not one
        raise AdoptionError(f"DATA={data}: not a readable Parquet file ({type(error).__name__}: {error})") from None
    if table.rows == 0:
        raise AdoptionError(f"DATA={data} has no rows: nothing to learn from")
    return table, dialect


def _spool(path: Path, spool: Path, text: list[str], dialect: dict | None) -> Path:
    writer = None
    started = shown = time.monotonic()
    try:
        for start, batch in read_batches(path, BATCH_ROWS, text=text, dialect=dialect):
            arrow = pyarrow.Table.from_pandas(batch, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(spool, settled(arrow.schema), compression="none")  # a scratch copy
            writer.write_table(arrow.cast(writer.schema))
            if time.monotonic() - shown > 10:  # a large file: say where the reading is
                shown = time.monotonic()
                print(f"  adopt: {start + len(batch):,} rows read in {shown - started:.0f} s", flush=True)
    finally:
        if writer is not None:
            writer.close()
    return spool


def _label(table: Table, label: str, data: str, dialect: dict | None) -> tuple[list, str, pd.Series]:
    """The label's classes, its type in the contract, and its values."""
    if label not in table.columns:
        names = " | ".join(map(str, table.columns[:12])) + (" | ..." if len(table.columns) > 12 else "")
        read_as = f" (read with separator {dialect['delimiter']!r}; another: SEP=...)" if dialect else ""
        raise AdoptionError(f"LABEL={label} is not a column of {data}; its columns as read: {names}{read_as}")
    values = table.column(label)
    if values.isna().any():
        line = int(values.isna().to_numpy().argmax()) + 2
        raise AdoptionError(
            f"LABEL={label} has {int(values.isna().sum())} missing value(s) in {data} (first on line {line}); "
            "drop or fill those rows first: a row without a label cannot be trained or scored on"
        )
    classes = sorted(values.unique().tolist(), key=lambda value: (str(type(value)), value))
    if len(classes) < 2:
        raise AdoptionError(f"LABEL={label} has one class in {data} ({classes[0]!r}): a classifier needs two or more")
    if _is_boolean(values):  # pandas' nullable boolean: coerced to numpy's bool, a missing label or a 2 is True
        return classes, "pd.BooleanDtype", values
    if pd.api.types.is_integer_dtype(values):
        return [int(value) for value in classes], "int", values
    if pd.api.types.is_numeric_dtype(values):
        raise AdoptionError(f"LABEL={label} holds fractional numbers: a classifier needs classes (text or integers)")
    return [str(value) for value in classes], "str", values


def _simulate_shift(path: Path, number: str | None) -> None:
    """configs/drift.yaml simulate.shift: the demo's shifted traffic multiplies one of this table's number columns."""
    text = path.read_text()
    block = re.compile(r"^(  shift:[^\n]*\n)((?:    [^\n]*\n)*)", re.MULTILINE)
    replacement = f"    {number}: 1.3\n" if number else ""
    head = "  shift:  # SHIFT=yes multiplies these number columns (kept inside the contract's range)\n"
    if not number:
        head = "  shift: {}  # SHIFT=yes multiplies these number columns; this table has none\n"
    path.write_text(block.sub(lambda match: head + replacement, text, count=1))


def _sorted_codes(labels: pd.Series) -> np.ndarray:
    """Each label's class number, the classes numbered in sorted order (as np.unique numbers them, so stratifying on
    these gives the same sample as on the labels), made by pyarrow's dictionary encoding: sklearn (or pandas)
    would hold the millions of labels as Python objects to sort them."""
    values = pyarrow.array(labels)  # a pandas column held by pyarrow comes as its chunks
    encoded = (values.combine_chunks() if isinstance(values, pyarrow.ChunkedArray) else values).dictionary_encode()
    classes = encoded.dictionary.to_pylist()
    rank = np.empty(len(classes), dtype=np.int32)
    rank[sorted(range(len(classes)), key=classes.__getitem__)] = np.arange(len(classes), dtype=np.int32)
    return rank[encoded.indices.to_numpy(zero_copy_only=False)]


def _sample(table: Table, labels: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Up to SAMPLE_ROWS rows, the classes in proportion (seeded). From a table of over CANDIDATE_ROWS rows, drawn
    from a seeded CANDIDATE_ROWS of them: sklearn's stratified draw holds about 80 bytes for every row it draws
    from (300 MiB at 4M rows), for 1,000 rows kept."""
    positions = np.arange(table.rows)
    codes = _sorted_codes(labels)
    if table.rows > CANDIDATE_ROWS:
        positions = np.sort(np.random.default_rng(0).choice(table.rows, CANDIDATE_ROWS, replace=False))
        codes = codes[positions]
    if table.rows > SAMPLE_ROWS:
        counts = np.bincount(codes)
        stratify = codes if counts[counts > 0].min() >= 2 else None  # sklearn needs two rows of each class
        positions = train_test_split(positions, train_size=SAMPLE_ROWS, stratify=stratify, random_state=0)[0]
    return table.take(positions, columns)


def _write_copy(table: Table, columns: list[str], target: Path, dialect: dict) -> None:
    """The kept columns, a batch at a time: as Parquet where the table came as Parquet, else as CSV in `dialect`."""
    target.unlink(missing_ok=True)
    if target.suffix.lower() in {".parquet", ".pq"}:
        source = pq.ParquetFile(table.path)
        schema = pyarrow.schema([source.schema_arrow.field(name) for name in columns])
        with pq.ParquetWriter(target, schema) as writer:
            for batch in parquet_batches(source, BATCH_ROWS, columns):
                writer.write_batch(batch)
        return
    for batch in table.batches(columns):
        append_table(batch, target, dialect)


def adopt(data: str, label: str, root: Path = Path("."), dialect: dict | None = None) -> list[str]:
    """Adopt the table; returns the lines to print. Raises AdoptionError (and writes nothing) on bad input.

    `dialect` sets a CSV file's delimiter, decimal mark or encoding where detection would guess wrong.
    """
    if dialect and dialect.get("delimiter"):
        separator = {"tab": "\t", "\\t": "\t"}.get(dialect["delimiter"], dialect["delimiter"])
        if len(separator) != 1:
            raise AdoptionError(f"SEP={dialect['delimiter']!r}: give one character (`;`, `|`) or `tab`")
        dialect = {**dialect, "delimiter": separator}
    with tempfile.TemporaryDirectory(prefix="adopt-") as scratch:
        table, dialect = _read(data, Path(scratch), dialect)
        return _adopt(table, data, label, root, dialect)


def _adopt(table: Table, data: str, label: str, root: Path, dialect: dict | None) -> list[str]:
    classes, label_dtype, labels = _label(table, label, data, dialect)
    columns = classify(table, label)
    kept = [column for column in columns if column.kind != "left out"]
    if not kept:
        reasons = "; ".join(f"{column.name}: {column.reason}" for column in columns) or "no column besides the label"
        raise AdoptionError(f"{data} has no usable feature besides LABEL={label} ({reasons})")
    counts = labels.value_counts()
    positive = None
    if len(classes) == 2:  # the rarer class, the one a model is usually asked to find
        positive = min(classes, key=lambda value: (counts[value], -classes.index(value)))
    source = Path(data).name
    raw = Path("data/raw") / source
    written = dialect if dialect and dialect != STANDARD else None  # saved with the contract (schema.CSV)
    code = render(columns, label, label_dtype, classes, positive, str(raw), table.rows, written)
    names = [*(column.name for column in kept), label]
    namespace: dict = {}
    exec(compile(code, "schema.py", "exec"), namespace)  # the contract must hold on its own data before it is saved
    try:
        namespace["SCHEMA"].validate(table.head(CHECK_ROWS, names), lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.head(3).to_dict("records")
        raise AdoptionError(f"the inferred contract rejects the data itself (please report it): {cases}") from None

    # Nothing was written so far; from here on the project changes.
    (root / "data/raw").mkdir(parents=True, exist_ok=True)
    target = root / raw
    if len(kept) == len(columns) and Path(data).resolve() != target.resolve():
        shutil.copyfile(data, target)
    elif len(kept) < len(columns):
        _write_copy(table, names, target, written or STANDARD)
    schema_path = root / "src" / PACKAGE / "schema.py"
    schema_path.parent.mkdir(parents=True, exist_ok=True)
    schema_path.write_text(code)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(schema_path)], check=False,
                   capture_output=True)  # fmt: skip
    sample = root / "tests/fixtures/sample.csv"
    sample.parent.mkdir(parents=True, exist_ok=True)
    write_table(_sample(table, labels, names), sample, written or STANDARD)
    configs = root / "configs"
    replace_line(configs / "data.yaml", "raw", raw.as_posix())
    replace_line(configs / "gate.yaml", "floor", "null")
    rarest, commonest = min(classes, key=lambda value: counts[value]), max(classes, key=lambda value: counts[value])
    imbalanced = counts[rarest] / counts[commonest] < IMBALANCED
    # A metric that weighs every class alike where accuracy or ROC AUC can look good while a class is never named.
    metric = "balanced_accuracy" if imbalanced or len(classes) > 2 else "roc_auc"
    replace_line(configs / "gate.yaml", "primary_metric", metric)
    numbers = [column.name for column in kept if column.kind == "number"]
    _simulate_shift(configs / "drift.yaml", numbers[0] if numbers else None)
    shutil.rmtree(root / "data/splits", ignore_errors=True)  # the split of the earlier data
    committed = commit_with_project(root / ".gitignore", raw, target.stat().st_size)
    shares = ", ".join(f"{value} {counts[value]}" for value in classes)
    summary = [
        f"`{raw}`: {table.rows} rows, {len(kept)} features, label `{label}` with {len(classes)} classes ({shares}).",
        "",
        "| column | kind | contract |",
        "|---|---|---|",
    ]
    for column in columns:
        detail = {"number": f"{column.low} .. {column.high}", "category": f"{len(column.values)} values",
                  "date": "age and calendar parts"}  # fmt: skip
        note = detail.get(column.kind, column.reason)
        summary.append(f"| {column.name} | {column.kind} | {note}{'; may be missing' if column.nullable else ''} |")
    write_readme(root / "README.md", "\n".join(summary))

    lines = [f"adopted {data} as {raw}: {table.rows} rows, label {label!r}: {len(classes)} classes ({shares})"]
    if imbalanced:
        lines.append(
            f"warning: imbalanced classes: {rarest!r} has {counts[rarest]} rows, "
            f"1:{counts[commonest] / counts[rarest]:.0f} of {commonest!r} ({counts[commonest]}); the split keeps the "
            "shares, and the gate judges every class alike"
        )
    if dialect:
        lines.append(
            f"read as CSV with separator {dialect['delimiter']!r}, decimal mark {dialect['decimal']!r}, encoding "
            f"{dialect['encoding']} (SEP=, DECIMAL=, ENCODING= override)"
            + ("; saved with the contract (schema.CSV): later files are read the same way" if written else "")
        )
    for column in columns:
        if column.kind == "left out":
            lines.append(f"  {column.name:<24} left out: {column.reason}")
            continue
        if column.kind == "number":
            what = f"{column.dtype} {column.low} .. {column.high} (seen {column.seen[0]:g} .. {column.seen[1]:g})"
        elif column.kind == "category":
            shown = ", ".join(column.values[:6]) + (", ..." if len(column.values) > 6 else "")
            what = f"{len(column.values)} values: {shown}"
        elif column.kind == "date":
            what = f"{column.values[0][:10]} .. {column.values[1][:10]}: age and calendar parts (month, weekday, ...)"
        else:
            what = "true/false"
        missing = f"; missing in {100 * column.missing:.1f}% of rows" if column.nullable else ""
        lines.append(f"  {column.name:<24} {column.kind:<9} {what}{missing}")
    lines += [
        f"wrote {schema_path.relative_to(root)} (the contract), configs/data.yaml (raw), tests/fixtures/sample.csv "
        f"({min(table.rows, SAMPLE_ROWS)} rows for the project's own tests), README.md (the data section)",
        "gate: no absolute floor (configs/gate.yaml floor: null): a model must beat the majority-class baseline "
        "and the champion; set a floor once you know what is good enough",
        f"gate: primary metric {metric} ("
        + (
            "the mean of the classes' recalls: every class counts alike, however rare"
            if metric != "roc_auc"
            else "two classes, balanced"
        )
        + "; configs/gate.yaml primary_metric, min_class_recall)",
        f"drift: {len(kept)} features monitored, each tested at alpha / the number of columns (configs/drift.yaml)",
        committed,
        f"positive class: {positive!r}" if positive is not None else "more than two classes: no positive class",
        "review: the ranges, the category lists, the left-out columns and the positive class in the contract; "
        "then `make pipeline`",
    ]
    return lines
