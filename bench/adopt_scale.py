"""Adopting a large table: `adopt`, `validate` and one training epoch on 1,000,000 rows x 40 columns.

A seeded mixed table (floats with gaps, integers, booleans, string categories with gaps, a yes/no label that the
other columns predict) is written as CSV, then each step runs as its own process in the project, as `make` runs it,
timed, with its peak resident memory (os.wait4: that process and the children it waited for). References measured
in the same run: pandas `read_csv` of the same file, for adopt and validate; for the epoch, the bytes of the training
tensors (features and labels as the project's InMemoryDataModule holds them) and the memory of the imports alone.
Targets: adopt + validate <= 30 s; epoch memory bounded (peak a small multiple of the training tensors).

The project adopts the table (its contract, data and configs change): give it a scratch one, baked and installed
as `make bench` does (cookiecutter --no-input --output-dir build/bench .; make -C build/bench/tumor-classifier setup).

    python bench/adopt_scale.py --project build/bench/tumor-classifier [--rows 1000000] [--keep]
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import baked

LABEL = "approved"
SHAPE = {"float": 16, "integer": 8, "boolean": 6, "category": 9}  # + the label: 40 columns
TARGET_S = 30.0  # adopt + validate
MiB = 2**20


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked tabular project, installed here")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="where the CSV is written (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the CSV afterwards")
    return parser.parse_args()


def table(rows: int, seed: int):
    """The mixed table, vectorised: each kind of column, some with gaps, and a label a linear score decides."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns, score = {}, np.zeros(rows)
    for index in range(SHAPE["float"]):
        values = rng.normal(10 * index, 1 + index, rows).round(3)
        score += (values - 10 * index) / (1 + index) * (0.3 if index % 4 == 0 else 0.0)
        values[rng.random(rows) < (0.05 if index % 2 else 0.0)] = np.nan  # every other float has 5% gaps
        columns[f"f{index:02d}"] = values
    for index in range(SHAPE["integer"]):
        values = rng.integers(0, 10 + 20 * index, rows)
        score += (values / (10 + 20 * index) - 0.5) * (0.8 if index < 2 else 0.0)
        columns[f"i{index:02d}"] = values
    for index in range(SHAPE["boolean"]):
        values = rng.random(rows) < 0.2 + 0.1 * index
        score += values * (0.6 if index < 2 else 0.0)
        columns[f"b{index:02d}"] = values
    for index in range(SHAPE["category"]):
        levels = np.array([f"c{index}_{level}" for level in range(3 + index)])
        codes = rng.integers(0, len(levels), rows)
        score += (codes == 0) * (0.7 if index < 3 else 0.0)
        columns[f"c{index:02d}"] = pd.Series(levels[codes]).mask(rng.random(rows) < 0.03)  # 3% gaps
    columns[LABEL] = np.where(score + rng.logistic(0, 0.5, rows) > np.median(score), "yes", "no")
    return pd.DataFrame(columns)


def training_tensors(config, project: Path) -> tuple[str, float]:
    """The training split as the project's data module holds it for training: shapes and MiB."""
    (data,) = baked.modules(project, "data")
    datamodule = data.InMemoryDataModule(config.load(config.DataConfig).splits_dir)
    datamodule.setup("fit")
    features, labels = datamodule.datasets["train"].features, datamodule.datasets["train"].labels
    size = sum(tensor.element_size() * tensor.nelement() for tensor in (features, labels)) / MiB
    return f"features {tuple(features.shape)} {features.dtype}, labels {tuple(labels.shape)} {labels.dtype}", size


def main() -> None:
    args = parse()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="adopt-scale-"))).resolve()
    (config,) = baked.modules(args.project, "config")  # the working directory is the project from here on
    package, python, project = config.__package__, sys.executable, Path.cwd()
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "large.csv"
    try:
        start = time.perf_counter()
        frame = table(args.rows, args.seed)
        frame.to_csv(path, index=False)
        made, shape, size = time.perf_counter() - start, frame.shape, path.stat().st_size / MiB
        del frame

        reader = "import sys, pandas; pandas.read_csv(sys.argv[1], low_memory=False)"
        read = baked.measure([python, "-c", reader, str(path)], project)[:2]
        adopt = baked.measure([python, "-m", package, "adopt", str(path), "--label", LABEL], project)[:2]
        validate = baked.measure([python, "-m", package, "validate"], project)[:2]
        imports = baked.measure([python, "-c", f"import {package}.train"], project)[:2]
        train = [python, "-m", package, "train", "train.trainer.max_epochs=1", "train.trainer.accelerator=cpu"]
        epoch = baked.measure(train, project)[:2]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    described, tensors = training_tensors(config, project)

    import torch

    kinds = ", ".join(f"{count} {kind}" for kind, count in SHAPE.items())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"data: {shape[0]:,} rows x {shape[1]} columns ({kinds}, label {LABEL}); CSV {size:,.0f} MiB in {made:.0f} s")
    print(f"training tensors: {described}: {tensors:,.0f} MiB\n")
    both = (adopt[0] + validate[0], max(adopt[1], validate[1]))
    verdict = "met" if both[0] <= TARGET_S else "missed"
    epoch_memory = f"{epoch[1] / tensors:.1f}x tensors ({(epoch[1] - imports[1]) / tensors:.1f}x above imports)"
    rows = [
        ("pandas read_csv (reference)", read, "", "", ""),
        ("adopt", adopt, f"{adopt[0] / read[0]:.1f}x read_csv", f"{adopt[1] / read[1]:.1f}x read_csv", ""),
        ("validate", validate, f"{validate[0] / read[0]:.1f}x read_csv", f"{validate[1] / read[1]:.1f}x read_csv", ""),
        ("adopt + validate", both, f"{both[0] / read[0]:.1f}x read_csv", "", f"<= {TARGET_S:.0f} s: {verdict}"),
        (f"import {package}.train (baseline)", imports, "", "", ""),
        ("train, 1 epoch, CPU", epoch, "", epoch_memory, "bounded"),
    ]
    print("| step | wall s | peak RSS MiB | time vs reference | memory vs reference | target |")
    print("|---|---:|---:|---|---|---|")
    for name, (seconds, peak), time_ratio, memory_ratio, target in rows:
        print(f"| {name} | {seconds:.1f} | {peak:,.0f} | {time_ratio} | {memory_ratio} | {target} |")


if __name__ == "__main__":
    main()
