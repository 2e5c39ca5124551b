"""A user's table at scale: `adopt`, `validate` and one training epoch at 1,000,000 and 4,000,000 rows x 40 columns.

A seeded mixed table (floats with gaps, integers, booleans, string categories with gaps, a yes/no label that the
other columns predict) is written as CSV, then each step runs as its own process in the project, as `make` runs it,
timed, with its peak resident memory (os.wait4: that process and the children it waited for). The reference for
memory is the same step at the smaller size: what grows with the rows. Targets on 2 cores: each step's peak RSS at
4M rows at most 1.2x its peak at 1M; adopt + validate at 4M rows <= 90 s.

The project adopts the table (its contract, data and configs change): give it a scratch one, as `make bench-scale`
does (cookiecutter --no-input --output-dir build/bench-scale . project_name="Large Table"; make setup there).

    python bench/adopt_scale.py --project build/bench-scale/large-table [--rows 1000000 4000000] [--keep]
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import baked

LABEL = "approved"
SHAPE = {"float": 16, "integer": 8, "boolean": 6, "category": 9}  # + the label: 40 columns
TARGET_S = 90.0  # adopt + validate at the largest size
TARGET_GROWTH = 1.2  # peak RSS at the largest size / at the smallest
MiB = 2**20


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked tabular project, installed here")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
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


def write_csv(rows: int, seed: int, path: Path) -> None:
    """The table as CSV (pyarrow's writer)."""
    import pyarrow
    import pyarrow.csv

    pyarrow.csv.write_csv(pyarrow.Table.from_pandas(table(rows, seed), preserve_index=False), str(path))


def written(rows: int, seed: int, path: Path, project: Path) -> tuple[float, float]:
    """write_csv in a process of its own: a parent that held the table would lend its pages to every process it
    starts, and their peak RSS would be the parent's. (seconds, MiB)"""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import adopt_scale; "
    code += f"adopt_scale.write_csv({rows}, {seed}, adopt_scale.Path({str(path)!r}))"
    seconds = baked.measure([sys.executable, "-c", code], project)[0]
    return seconds, path.stat().st_size / MiB


def steps(project: Path, package: str, path: Path) -> dict[str, tuple[float, float]]:
    """adopt, validate and one epoch (the whole `train` command), each timed with its peak RSS."""
    python = sys.executable
    train = [python, "-m", package, "train", "train.trainer.max_epochs=1", "train.trainer.accelerator=cpu"]
    return {
        "adopt": baked.measure([python, "-m", package, "adopt", str(path), "--label", LABEL], project)[:2],
        "validate": baked.measure([python, "-m", package, "validate"], project)[:2],
        "train, 1 epoch": baked.measure(train, project)[:2],
    }


def main() -> None:
    args = parse()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="adopt-scale-"))).resolve()
    (config,) = baked.modules(args.project, "config")  # the working directory is the project from here on
    package, project = config.__package__, Path.cwd()
    workdir.mkdir(parents=True, exist_ok=True)
    measured, files = {}, {}
    try:
        imports = baked.measure([sys.executable, "-c", f"import {package}.train"], project)[:2]
        for rows in args.rows:
            path = workdir / f"large-{rows}.csv"
            files[rows] = written(rows, args.seed, path, project)
            measured[rows] = steps(project, package, path)
            path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    import torch

    kinds = ", ".join(f"{count} {kind}" for kind, count in SHAPE.items())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"data: {' and '.join(f'{rows:,}' for rows in args.rows)} rows x 40 columns ({kinds}, label {LABEL})")
    for rows, (seconds, size) in files.items():
        print(f"  {rows:,} rows: CSV {size:,.0f} MiB, written in {seconds:.0f} s")
    print(f"baseline: `import {package}.train` alone: {imports[1]:,.0f} MiB peak RSS\n")
    small, large = min(args.rows), max(args.rows)
    print("| step | rows | wall s | peak RSS MiB | RSS vs smallest | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name in measured[small]:
        for rows in args.rows:
            seconds, peak = measured[rows][name]
            growth = peak / measured[small][name][1]
            target = ""
            if rows == large and large != small:
                target = f"<= {TARGET_GROWTH}x: {'met' if growth <= TARGET_GROWTH else 'missed'}"
            print(f"| {name} | {rows:,} | {seconds:.1f} | {peak:,.0f} | {growth:.2f}x | {target} |")
    both = measured[large]["adopt"][0] + measured[large]["validate"][0]
    verdict = "met" if both <= TARGET_S else "missed"
    print(f"\nadopt + validate at {large:,} rows: {both:.1f} s (target <= {TARGET_S:.0f} s: {verdict})")


if __name__ == "__main__":
    main()
