"""Drift-check time: the baked project's check next to a per-column two-sample KS test with scipy (the floor).

At 10k, 100k and 1M rows x the contract's 30 feature columns, in one process, measured side by side. The baked
check is what `make drift` runs after reading the file: validate every row against the contract, sample to
`sample_rows`, predict the sampled rows, Evidently's DataDriftPreset with tests (and its HTML-ready widgets).
The floor is `scipy.stats.ks_2samp` on every column, all rows, against the same reference. Target: <= 10x the
floor at 1M rows. Reading the CSV is timed apart (pandas), since both sides need it.

    make bench-drift      # bakes build/bench-drift/tumor-classifier, installs it, runs this script
    python bench/drift_check.py --project build/bench-drift/tumor-classifier [--rows 10000 1000000]
"""

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import baked
import numpy as np
import pandas as pd
import torch
from scipy.stats import ks_2samp


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked project, installed in this environment")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reference-rows", type=int, default=5_000, help="the reference sample (reference_rows)")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per size")
    parser.add_argument("--partitions", type=int, default=40, help="random splits for the false-alarm rate (0: skip)")
    return parser.parse_args()


def synthetic(table: pd.DataFrame, features: list[str], rows: int, seed: int) -> pd.DataFrame:
    """Rows of the bundled table drawn with replacement, features jittered by 1%: realistic, no exact repeats."""
    rng = np.random.default_rng(seed)
    drawn = table.iloc[rng.integers(0, len(table), rows)].reset_index(drop=True)
    jitter = rng.normal(1.0, 0.01, (rows, len(features)))
    drawn[features] = np.clip(drawn[features].to_numpy() * jitter, 0, None)
    return drawn


def quick_model(config, model_module, data, schema, encoding) -> torch.nn.Module:
    """The project's model class, fitted for 20 epochs without MLflow: its predicted classes vary as a real one's."""
    import lightning as L

    datamodule = data.datamodule(config.load(config.DataConfig).splits_dir, batch_size=64)
    net = model_module.Classifier(
        num_features=encoding.NUM_INPUTS,
        num_classes=len(schema.CLASSES),
        **config.load(config.ModelConfig).model_dump(),
    )
    net.fit_inputs(datamodule.train_features())
    trainer = L.Trainer(max_epochs=20, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(net, datamodule=datamodule)
    return model_module.Probabilities(net).eval()


def best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    args = parse()
    config, data, drift, encoding, model_module, schema, validate = baked.modules(
        args.project, "config", "data", "drift", "features", "model", "schema", "validate"
    )

    torch.manual_seed(0)
    features = encoding.FEATURES
    table = pd.read_csv(config.load(config.DataConfig).raw)
    model = quick_model(config, model_module, data, schema, encoding)
    reference = drift.with_predictions(synthetic(table, features, args.reference_rows, seed=1), model)
    drift_cfg = config.load(config.DriftConfig)
    unlabelled = schema.SCHEMA.remove_columns([schema.LABEL])

    def ours(current: pd.DataFrame) -> None:
        valid = validate.validate_frame(current, "bench", unlabelled)
        snapshot, _ = drift.assess(valid, reference, model, drift_cfg)
        drift.summarise(snapshot)

    def floor(current: pd.DataFrame) -> None:
        for column in features:
            ks_2samp(current[column].to_numpy(), reference[column].to_numpy())

    ours(synthetic(table, features, 2_000, seed=2)[features])  # warm-up: imports and first calls are not the check
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    sizes = f"sample_rows {drift_cfg.sample_rows}, reference {len(reference)} rows, best of {args.repeats}"
    print(f"machine: {machine}; {sizes}")
    print("check: validate all rows + sample + predict + Evidently; floor: scipy ks_2samp per column, all rows")
    columns = ["rows", "columns", "read CSV s", "check s", "scipy KS s", "ratio", "target"]
    header = " ".join(f"{name:>10}" for name in columns)
    print(header)
    print("-" * len(header))
    for rows in args.rows:
        current = synthetic(table, features, rows, seed=3)[features]  # unlabelled, as served traffic is
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "current.csv"
            current.to_csv(path, index=False)
            read = best(lambda path=path: pd.read_csv(path), 1)
        check = best(lambda current=current: ours(current), args.repeats)
        ks = best(lambda current=current: floor(current), args.repeats)
        target = "<= 10" if rows >= 1_000_000 else ""
        cells = [f"{rows}", f"{len(features)}", f"{read:.2f}", f"{check:.2f}", f"{ks:.2f}", f"{check / ks:.1f}", target]
        print(" ".join(f"{cell:>10}" for cell in cells), flush=True)

    if args.partitions:
        false_alarms(table, model, drift, drift_cfg, args.partitions)


def false_alarms(table: pd.DataFrame, model, drift, drift_cfg, partitions: int) -> None:
    """Random splits of the bundled table into a 369-row reference and a 200-row current: every alarm is false."""
    labelled = drift.with_predictions(table, model)
    print(f"\nfalse alarms over {partitions} random partitions of the bundled table (369 reference, 200 current rows)")
    for threshold in (drift_cfg.alpha, 0.05):
        settings = drift_cfg.model_copy(update={"alpha": threshold})
        alarms = 0
        for seed in range(partitions):
            shuffled = labelled.sample(frac=1, random_state=seed)
            snapshot = drift.compare(shuffled.iloc[369:], shuffled.iloc[:369], settings)
            alarms += drift.summarise(snapshot)["drift"]
        print(f"  per-column threshold {threshold}: {alarms} of {partitions} ({alarms / partitions:.2f})", flush=True)


if __name__ == "__main__":
    main()
