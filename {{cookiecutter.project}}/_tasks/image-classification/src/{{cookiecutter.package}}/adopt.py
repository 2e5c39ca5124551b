"""`make adopt DATA=<folder>`: your own images become the project's data and contract.

The folder holds one subfolder per class (the usual "image folder" layout), PNG or JPEG files of any size, grey or
colour. This module scans them (images.scan), decides the size and mode the model takes (the most common size, or
SIZE=<width>x<height>; grey unless a file is in colour, or MODE=L|RGB), writes the contract (src/<package>/schema.py)
for a person to review, copies the readable files under data/raw/ and resets the settings that only fitted the
bundled demo. Every check runs before anything is written: bad input changes nothing.
"""

import datetime
import re
import shutil
import string
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from .images import scan
from .project_edits import AdoptionError, commit_with_project, replace_line, write_readme
from .schema import LABEL, MODES

GREY = {"1", "L", "LA"}
SAMPLE_PER_CLASS = 50  # images of each class the project's own tests use (tests/fixtures/images/) ...
SAMPLE_IMAGES = 1000  # ... and at most this many in all
PACKAGE = __package__

SCHEMA_TEMPLATE = string.Template(
    '''"""The data contract: the one definition of the images, their classes and the size the model takes.

Written by `make adopt` on $date from $count images; review it. The data is a folder with one subfolder per
class, PNG or JPEG: $raw/<class>/<file>
`make validate` scans it into an index, one row per file, and checks the index here: the file is there, its class
is one of CLASSES, it is an image PIL can convert to MODE. Every image is then converted to MODE and resized to
HEIGHT x WIDTH, for training and serving alike (images.py).
"""

from pathlib import Path

import pandera.pandas as pa

BUNDLED = None  # adopted data: `make data` writes nothing (the images are where configs/data.yaml says)

# The model's input size in pixels; $size_note.
HEIGHT, WIDTH = $height, $width
MODE = "$mode"  # "L" (grey) or "RGB" (colour): every image is converted to it
LABEL = "$label"  # the index's class column: the name of the subfolder an image is in
CLASSES = $classes  # the subfolders; the model's outputs follow this order
POSITIVE = $positive  # $positive_note
GROUP = "sha256"  # files with the same content are one image: they never straddle the train/val/test split
# PIL modes that convert to MODE without losing meaning (16-bit and float images do not: convert them first).
MODES = $modes

SCHEMA = pa.DataFrameSchema(
    {
        "path": pa.Column(
            str, pa.Check(lambda path: Path(path).is_file(), element_wise=True, error="no such image file")
        ),
        LABEL: pa.Column(str, pa.Check.isin(CLASSES)),
        "width": pa.Column(int, pa.Check.ge(1)),  # before resizing
        "height": pa.Column(int, pa.Check.ge(1)),
        "mode": pa.Column(str, pa.Check.isin(MODES)),
        "sha256": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{64}$$")),  # of the file's bytes
    },
    checks=[pa.Check(lambda frame: len(frame) > 0, name="has_rows", error="the folder has no images")],
    name="Contract",
    strict=True,  # an unexpected column is an error, not silently ignored
    coerce=True,
    ordered=False,
)
'''
)


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise AdoptionError(f"SIZE={text}: give the model's input size as <width>x<height>, e.g. SIZE=28x28")
    return int(match[1]), int(match[2])


def _scan(data: str) -> tuple[pd.DataFrame, list[str]]:
    folder = Path(data)
    if not folder.is_dir():
        what = "a file" if folder.exists() else "not there"
        raise AdoptionError(f"DATA={data} is {what}: pass a folder with one subfolder of images per class")
    frame, left_out = scan(folder)
    if LABEL not in frame:
        raise AdoptionError(
            f"{data} has no class subfolders: put each class's images in a subfolder named after it "
            f"({data}/<class>/<file>.png)"
        )
    if frame.empty:
        raise AdoptionError(f"{data} has no readable PNG or JPEG image in its class subfolders ({len(left_out)} files)")
    unconvertible = frame[~frame["mode"].isin(MODES)]
    left_out += [f"{path}: mode {mode!r} does not convert to 8-bit grey or colour" for path, mode in
                 zip(unconvertible["path"], unconvertible["mode"], strict=True)]  # fmt: skip
    frame = frame[frame["mode"].isin(MODES)]
    classes = sorted(frame[LABEL].unique())
    if len(classes) < 2:
        raise AdoptionError(f"{data} has readable images of one class only ({classes}): a classifier needs two or more")
    return frame.reset_index(drop=True), left_out


def adopt(data: str, root: Path = Path("."), size: str | None = None, mode: str | None = None) -> list[str]:
    """Adopt the folder; returns the lines to print. Raises AdoptionError (and writes nothing) on bad input."""
    target_size = _size(size)
    if mode is not None and mode not in {"L", "RGB"}:
        raise AdoptionError(f"MODE={mode}: the model takes L (grey) or RGB (colour)")
    frame, left_out = _scan(data)
    classes = sorted(frame[LABEL].unique())
    counts = frame[LABEL].value_counts()
    sizes = Counter(zip(frame["width"], frame["height"], strict=True))
    (common, common_count) = sizes.most_common(1)[0]
    width, height = target_size or common
    grey = set(frame["mode"]) <= GREY
    chosen_mode = mode or ("L" if grey else "RGB")
    duplicated = frame[frame["sha256"].duplicated(keep=False)]
    mixed = duplicated.groupby("sha256")[LABEL].nunique().gt(1).sum()
    positive = None
    if len(classes) == 2:  # the rarer class, the one a model is usually asked to find
        positive = min(classes, key=lambda value: (counts[value], classes.index(value)))
    name = Path(data).resolve().name
    raw = Path("data/raw") / name
    if target_size:
        size_note = f"set by SIZE={size}: the images are resized to it"
    elif len(sizes) == 1:
        size_note = "every image has this size"
    else:
        size_note = f"the most common size ({common_count} of {len(frame)} images): the others are resized to it"
    code = SCHEMA_TEMPLATE.substitute(
        date=datetime.date.today().isoformat(), count=len(frame), raw=raw.as_posix(), height=height,
        width=width, size_note=size_note, mode=chosen_mode, label=LABEL, classes=repr(classes), positive=repr(positive),
        positive_note="the class the report's ROC and precision-recall curves are drawn for" if positive else
        "more than two classes: no single class to draw curves for; the confusion matrix says more", modes=repr(MODES),
    )  # fmt: skip
    namespace: dict = {}
    exec(compile(code, "schema.py", "exec"), namespace)  # the contract must hold on its own images before it is saved
    try:
        namespace["SCHEMA"].validate(frame, lazy=True)
    except Exception as error:  # pandera's SchemaErrors; anything else is as much a reason to write nothing
        raise AdoptionError(f"the written contract rejects the images themselves (please report it): {error}") from None

    # Nothing was written so far; from here on the project changes.
    target = root / raw
    source = Path(data).resolve()
    if source != target.resolve():
        shutil.rmtree(target, ignore_errors=True)
        for path, label in zip(frame["path"], frame[LABEL], strict=True):
            destination = target / label / Path(path).relative_to(source / label)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    schema_path = root / "src" / PACKAGE / "schema.py"
    schema_path.write_text(code)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(schema_path)], check=False,
                   capture_output=True)  # fmt: skip
    fixtures = root / "tests/fixtures/images"
    shutil.rmtree(fixtures, ignore_errors=True)
    per_class = max(2, min(SAMPLE_PER_CLASS, SAMPLE_IMAGES // len(classes)))
    for label, group in frame.groupby(LABEL):
        for path in group.sample(n=min(per_class, len(group)), random_state=0)["path"]:
            destination = fixtures / label / Path(path).name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    configs = root / "configs"
    replace_line(configs / "data.yaml", "raw", raw.as_posix())
    replace_line(configs / "gate.yaml", "floor", "null")
    shutil.rmtree(root / "data/splits", ignore_errors=True)  # the split of the earlier data
    total = sum(file.stat().st_size for file in target.rglob("*") if file.is_file())
    committed = commit_with_project(root / ".gitignore", raw, total)
    shares = ", ".join(f"{label} {counts[label]}" for label in classes)
    kind = "grey" if chosen_mode == "L" else "colour"
    modes_seen = ", ".join(sorted(set(frame["mode"])))
    resized = len(frame) - sizes.get((width, height), 0)
    write_readme(
        root / "README.md",
        f"`{raw}/`: {len(frame)} images in {len(classes)} classes ({shares}), {kind}, resized to {width}x{height} "
        f"for the model ({resized} of them change size). The contract: `src/{PACKAGE}/schema.py`.",
    )
    lines = [
        f"adopted {data} as {raw}/: {len(frame)} images in {len(classes)} classes ({shares})",
        f"  size: {width}x{height}: {size_note}; {resized} image(s) will be resized",
        f"  mode: {chosen_mode} ({kind}{'; set by MODE' if mode else ''}; seen: {modes_seen})",
        f"  sizes seen: {', '.join(f'{w}x{h} ({n})' for (w, h), n in sizes.most_common(5))}"
        + (f" and {len(sizes) - 5} more" if len(sizes) > 5 else ""),
    ]
    if len(duplicated):
        groups = duplicated["sha256"].nunique()
        lines.append(
            f"  duplicates: {len(duplicated)} files are copies of {groups} image(s) (same content); each image's "
            "copies stay in one part of the split" + (f"; {mixed} of them are filed under two classes" if mixed else "")
        )
    smallest, largest = counts.min(), counts.max()
    if largest > 3 * smallest:
        lines.append(f"  balance: the largest class has {largest / smallest:.1f}x the images of the smallest")
    if left_out:
        lines.append(f"  left out ({len(left_out)} file(s), not copied):")
        lines += [f"    {line}" for line in left_out[:10]]
        lines += [f"    (+{len(left_out) - 10} more)"] if len(left_out) > 10 else []
    lines += [
        f"wrote {schema_path.relative_to(root)} (the contract), configs/data.yaml (raw), tests/fixtures/images/ "
        f"(up to {per_class} images per class for the project's own tests), README.md (the data section)",
        "gate: no absolute floor (configs/gate.yaml floor: null): a model must beat the majority-class baseline "
        "and the champion; set a floor once you know what is good enough",
        committed,
        f"positive class: {positive!r}" if positive is not None else "more than two classes: no positive class",
        "review: the size, the mode and the classes in the contract; then `make pipeline`",
    ]
    return lines
