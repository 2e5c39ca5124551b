"""`make adopt DATA=<folder>` or `make adopt DATA=<csv|parquet> TEXT=<column> LABEL=<column>`: your own texts become
the project's data and contract.

A folder holds one subfolder of .txt files per class (the IMDB reviews' layout: train/pos, train/neg); a subfolder of
unlabelled texts (unsup) is left out and said so. A table has a text column and a label column. This module reads
them, leaves out what cannot be trained on (files that are not UTF-8, texts empty once stripped) and lists it,
decides the tokenizer's vocabulary size and the tokens the model reads from the texts themselves, writes the
contract (src/<package>/schema.py) for a person to review, the texts as one table under data/raw/, a sample for the
project's own tests, and resets the settings that only fitted the bundled demo. Every check runs before anything
is written: bad input changes nothing.
"""

import datetime
import math
import shutil
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .project_edits import AdoptionError, commit_with_project, replace_line, write_readme
from .schema import LABEL, TEXT
from .texts import scan
from .validate import ContractError, read_table, write_table

UNLABELLED = {"unsup", "unlabeled", "unlabelled", "unlabelled_data", "unknown"}  # subfolders of texts with no class
SAMPLE_ROWS = 1000  # texts the project's own tests run on (tests/fixtures/texts.csv), the classes in proportion
TOKEN_QUANTILE = 0.95  # MAX_TOKENS covers this share of the texts whole; longer ones are cut
PACKAGE = __package__

SCHEMA_TEMPLATE = string.Template(
    '''"""The data contract: the one definition of the texts, their classes and how the model reads them.

Written by `make adopt` on $date from $count texts ($source); review it. The data is a table with a TEXT column and
a LABEL column: $raw
`make validate` checks it here: every text is valid UTF-8, not empty once stripped and at most MAX_CHARS characters
long; its class is one of CLASSES. The tokenizer's settings are decided here too: training learns the tokenizer with
them and saves it with the model, and the service reads that saved tokenizer (tokenizer.py).
"""

import pandera.pandas as pa

BUNDLED = None  # adopted data: `make data` writes nothing (the texts are where configs/data.yaml says)

TEXT = "text"  # the column holding each text
LABEL = "label"  # the class column
CLASSES = $classes  # the model's outputs follow this order
POSITIVE = $positive  # $positive_note
# Characters: the texts seen ran from $shortest to $longest; the service refuses a longer text (HTTP 400).
MIN_CHARS, MAX_CHARS = 1, $max_chars
VOCAB_SIZE = $vocab_size  # the learned tokenizer's vocabulary (words): $vocab_note
MAX_TOKENS = $max_tokens  # tokens the model reads of each text: $tokens_note
LOWERCASE = True  # the tokenizer lower-cases before splitting
TRUNCATION = "right"  # "right": keep a long text's beginning; "left": keep its end

SCHEMA = pa.DataFrameSchema(
    {
        TEXT: pa.Column(
            str,
            [
                pa.Check(lambda text: text.str.strip().str.len() >= MIN_CHARS, error="empty once stripped"),
                pa.Check(lambda text: text.str.len() <= MAX_CHARS, error=f"longer than {MAX_CHARS} characters"),
            ],
        ),
        LABEL: pa.Column(str, pa.Check.isin(CLASSES)),
    },
    checks=[pa.Check(lambda frame: len(frame) > 0, name="has_rows", error="the table has no texts")],
    name="Contract",
    strict=True,  # an unexpected column is an error, not silently ignored
    coerce=True,
    ordered=False,
)
'''
)


def _read_folder(data: Path) -> tuple[pd.DataFrame, list[str]]:
    subfolders = sorted(path for path in data.iterdir() if path.is_dir())
    skipped = [path for path in subfolders if path.name.lower() in UNLABELLED]
    notes = [f"{path}: unlabelled texts ({path.name}/), left out: a classifier trains on labelled ones"
             for path in skipped]  # fmt: skip
    frames, left_out = [], []
    for folder in (path for path in subfolders if path not in skipped):
        frame, problems = scan(folder)
        left_out += problems
        if not frame.empty:
            frames.append(frame.assign(**{LABEL: folder.name})[[TEXT, LABEL]])
    if not frames:
        raise AdoptionError(
            f"DATA={data} has no readable .txt file in a class subfolder: put each class's texts in a subfolder "
            f"named after it ({data}/<class>/<file>.txt)" + (f"; {len(left_out)} file(s) left out" if left_out else "")
        )
    return pd.concat(frames, ignore_index=True), notes + left_out


def _read_table(data: Path, text: str | None, label: str | None) -> tuple[pd.DataFrame, list[str]]:
    if not text or not label:
        raise AdoptionError(f"DATA={data} is a table: name its columns, TEXT=<text column> LABEL=<label column>")
    if data.suffix.lower() not in {".csv", ".parquet", ".pq"}:
        raise AdoptionError(f"DATA={data}: not a .csv or .parquet file, nor a folder of class subfolders")
    try:
        frame = read_table(data, text=[text, label])
    except (ContractError, UnicodeDecodeError, ValueError) as error:
        raise AdoptionError(f"DATA={data}: cannot be read as a table ({str(error).splitlines()[0]})") from None
    for role, column in (("TEXT", text), ("LABEL", label)):
        if column not in frame.columns:
            names = " | ".join(map(str, frame.columns[:12]))
            raise AdoptionError(f"{role}={column} is not a column of {data}; its columns: {names}")
    if text == label:
        raise AdoptionError(f"TEXT and LABEL both name {text!r}: the label must be another column")
    frame = frame[[text, label]].rename(columns={text: TEXT, label: LABEL})
    left_out = []
    unlabelled = frame[LABEL].isna() | (frame[LABEL].astype(str).str.strip() == "")
    blank = frame[TEXT].isna() | (frame[TEXT].astype(str).str.strip() == "")
    for mask, why in ((unlabelled, "no label"), (blank & ~unlabelled, "empty once stripped")):
        lines = (np.flatnonzero(mask.to_numpy()) + 2).tolist()  # the header is line 1
        if lines:
            shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
            left_out.append(f"{data}: {len(lines)} row(s) with {why}, left out (lines {shown})")
    frame = frame[~unlabelled & ~blank]
    return frame.assign(**{TEXT: frame[TEXT].astype(str), LABEL: frame[LABEL].astype(str).str.strip()}), left_out


def percent(share: float, decimals: int = 0) -> str:
    return f"{100 * share:.{decimals}f}" + "%"


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


def decide(texts: pd.Series) -> dict:
    """The tokenizer's vocabulary size and the tokens read per text, from the texts: a tokenizer is learned on them
    (as training will on its split) and each text's length counted in its tokens."""
    from .tokenizer import learn

    words = texts.str.lower().str.findall(r"\w+").explode().nunique()
    vocab_size = int(min(30_000, max(1_000, _round_up(words, 1_000))))  # room for every word seen, whole
    tokenizer = learn(texts.tolist(), vocab_size)
    lengths = np.asarray([len(encoding.ids) for encoding in tokenizer.encode_batch(texts.tolist())])
    covered = float(np.quantile(lengths, TOKEN_QUANTILE))
    max_tokens = int(min(512, max(16, _round_up(covered, 16))))
    return {
        "vocab_size": vocab_size, "words": int(words), "max_tokens": max_tokens, "tokens": lengths,
        "cut": float((lengths > max_tokens).mean()),
    }  # fmt: skip


def adopt(data: str, text: str | None = None, label: str | None = None, root: Path = Path(".")) -> list[str]:
    """Adopt the folder or table; returns the lines to print. Raises AdoptionError (and writes nothing) on bad input."""
    source = Path(data)
    if not source.exists():
        raise AdoptionError(f"DATA={data}: no such file or folder")
    frame, left_out = _read_folder(source) if source.is_dir() else _read_table(source, text, label)
    if frame.empty:
        raise AdoptionError(f"DATA={data} has no text to learn from ({len(left_out)} left out)")
    classes = sorted(frame[LABEL].unique())
    if len(classes) < 2:
        raise AdoptionError(f"DATA={data} has texts of one class only ({classes}): a classifier needs two or more")
    counts = frame[LABEL].value_counts()
    chars = frame[TEXT].str.len()
    duplicated = frame[frame[TEXT].duplicated(keep=False)]
    conflicting = duplicated.groupby(TEXT)[LABEL].nunique().gt(1).sum()
    decided = decide(frame[TEXT])
    max_chars = _round_up(chars.max(), 100)
    positive = None
    if len(classes) == 2:  # the rarer class, the one a model is usually asked to find
        positive = min(classes, key=lambda value: (counts[value], classes.index(value)))
    name = source.resolve().stem
    raw = Path("data/raw") / f"{name}.csv"
    code = SCHEMA_TEMPLATE.substitute(
        date=datetime.date.today().isoformat(), count=len(frame), source=source.name, raw=raw.as_posix(),
        classes=repr(classes), positive=repr(positive),
        positive_note="the class the report's ROC and precision-recall curves are drawn for" if positive else
        "more than two classes: no single class to draw curves for; the confusion matrix says more",
        shortest=int(chars.min()), longest=int(chars.max()), max_chars=max_chars, vocab_size=decided["vocab_size"],
        vocab_note=f"{decided['words']} distinct words seen", max_tokens=decided["max_tokens"],
        tokens_note=f"{percent(TOKEN_QUANTILE)} of the texts fit whole ({percent(decided['cut'], 1)} are cut)",
    )  # fmt: skip
    namespace: dict = {}
    exec(compile(code, "schema.py", "exec"), namespace)  # the contract must hold on its own texts before it is saved
    try:
        namespace["SCHEMA"].validate(frame, lazy=True)
    except Exception as error:  # pandera's SchemaErrors; anything else is as much a reason to write nothing
        raise AdoptionError(f"the written contract rejects the texts themselves (please report it): {error}") from None

    # Nothing was written so far; from here on the project changes.
    target = root / raw
    target.parent.mkdir(parents=True, exist_ok=True)
    write_table(frame, target)
    schema_path = root / "src" / PACKAGE / "schema.py"
    schema_path.write_text(code)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(schema_path)], check=False,
                   capture_output=True)  # fmt: skip
    sample = root / "tests/fixtures/texts.csv"
    sample.parent.mkdir(parents=True, exist_ok=True)
    share = SAMPLE_ROWS / len(frame)  # each class in proportion, at least two texts of each
    rows = pd.concat(
        group.sample(n=max(2, min(len(group), round(share * len(group)))), random_state=0)
        for _, group in frame.groupby(LABEL)
    )
    write_table(rows, sample)
    configs = root / "configs"
    replace_line(configs / "data.yaml", "raw", raw.as_posix())
    replace_line(configs / "gate.yaml", "floor", "null")
    metric = "balanced_accuracy" if len(classes) > 2 or counts.min() / counts.max() < 0.5 else "accuracy"
    replace_line(configs / "gate.yaml", "primary_metric", metric)
    shutil.rmtree(root / "data/splits", ignore_errors=True)  # the split of the earlier data
    committed = commit_with_project(root / ".gitignore", raw, target.stat().st_size)
    shares = ", ".join(f"{value} {counts[value]}" for value in classes)
    quartiles = chars.quantile([0.05, 0.5, 0.95]).astype(int).tolist()
    tokens = np.quantile(decided["tokens"], [0.5, 0.95]).astype(int).tolist()
    write_readme(
        root / "README.md",
        f"`{raw}`: {len(frame)} texts in {len(classes)} classes ({shares}), {quartiles[1]} characters at the median; "
        f"the model reads {decided['max_tokens']} tokens of each. The contract: `src/{PACKAGE}/schema.py`.",
    )
    lines = [
        f"adopted {data} as {raw}: {len(frame)} texts in {len(classes)} classes ({shares})",
        f"  length: {int(chars.min())} .. {int(chars.max())} characters (5% {quartiles[0]}, median {quartiles[1]}, "
        f"95% {quartiles[2]}); MAX_CHARS {max_chars}: the service refuses a longer text",
        f"  tokens: median {tokens[0]}, 95% {tokens[1]}; MAX_TOKENS {decided['max_tokens']} "
        f"({percent(decided['cut'], 1)} of the texts are cut, keeping their beginning: TRUNCATION)",
        f"  vocabulary: {decided['words']} distinct words; VOCAB_SIZE {decided['vocab_size']} (the most frequent "
        "words), learned on the training split when the model trains",
    ]
    if len(duplicated):
        lines.append(
            f"  duplicates: {len(duplicated)} rows repeat {duplicated[TEXT].nunique()} text(s); each text's copies "
            "stay in one part of the split"
            + (f"; {conflicting} of them are filed under two labels" if conflicting else "")
        )
    if counts.max() > 3 * counts.min():
        lines.append(f"  balance: the largest class has {counts.max() / counts.min():.1f}x the texts of the smallest")
    if left_out:
        lines.append(f"  left out ({len(left_out)}):")
        lines += [f"    {line}" for line in left_out[:10]]
        lines += [f"    (+{len(left_out) - 10} more)"] if len(left_out) > 10 else []
    lines += [
        f"wrote {schema_path.relative_to(root)} (the contract), {raw}, configs/data.yaml (raw), "
        f"tests/fixtures/texts.csv ({len(rows)} texts for the project's own tests), README.md (the data section)",
        f"gate: primary metric {metric}; no absolute floor (configs/gate.yaml floor: null): a model must beat TF-IDF "
        "with logistic regression and the champion",
        committed,
        f"positive class: {positive!r}" if positive is not None else "more than two classes: no positive class",
        "review: the classes, MAX_CHARS, VOCAB_SIZE and MAX_TOKENS in the contract; then `make pipeline`",
    ]
    return lines
