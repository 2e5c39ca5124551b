"""Training throughput: the baked project's Lightning loop next to a hand-written PyTorch loop.

Same model class, same in-memory batches, same optimiser and per-epoch validation, same process, measured
in alternation. Prints samples/s for each and the ratio (Lightning / hand-written); the target is >= 0.90.

    make bench            # bakes build/bench/tumor-classifier, installs it, runs this script
    python bench/train_throughput.py --project build/bench/tumor-classifier [--rows 100000] [--epochs 3]
"""

import argparse
import importlib
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked project, installed in this environment")
    parser.add_argument("--rows", type=int, default=100_000, help="training rows (the split tiled up to this)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the project's configs/train.yaml")
    return parser.parse_args()


def main() -> None:
    args = parse()
    os.chdir(args.project)
    package = next(path.name for path in (args.project / "src").iterdir() if (path / "__init__.py").exists())
    config = importlib.import_module(f"{package}.config")
    data = importlib.import_module(f"{package}.data")
    model_module = importlib.import_module(f"{package}.model")
    schema = importlib.import_module(f"{package}.schema")
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import MLFlowLogger

    L.seed_everything(0, workers=True)
    data_cfg, model_cfg, train_cfg = config.load("data"), config.load("model"), config.load("train")
    batch_size = args.batch_size or train_cfg["datamodule"]["batch_size"]
    if not (Path(data_cfg["splits_dir"]) / "train.csv").exists():
        sys.exit(f"{args.project}: run `make validate` there first (the benchmark reads the saved split)")

    base = data.TabularDataModule(data_cfg["splits_dir"], batch_size=batch_size)
    base.setup()
    train_features, train_labels = base.datasets["train"].features, base.datasets["train"].labels
    repeat = -(-args.rows // len(train_labels))
    features = train_features.repeat(repeat, 1)[: args.rows]
    labels = train_labels.repeat(repeat)[: args.rows]
    base.datasets["train"] = data.InMemoryDataset(features, labels)
    mean, scale = base.feature_statistics()

    def new_model():
        model = model_module.Classifier(
            num_features=len(schema.FEATURES), num_classes=len(schema.CLASSES), **model_cfg
        )
        model.set_normalisation(mean, scale)
        return model

    def lightning_fit(logged: bool) -> float:
        scratch = tempfile.mkdtemp()
        trainer_cfg = {**train_cfg["trainer"], "accelerator": "cpu", "devices": 1, "precision": "32-true"}
        trainer_cfg |= {"max_epochs": args.epochs, "default_root_dir": scratch}
        extra = {"logger": False, "enable_checkpointing": False}
        if logged:
            logger = MLFlowLogger(experiment_name="bench", tracking_uri=f"sqlite:///{scratch}/mlflow.db")
            extra = {"logger": logger, "callbacks": [ModelCheckpoint(dirpath=scratch, monitor="val_loss")]}
        trainer = L.Trainer(**trainer_cfg, **extra)
        model = new_model()
        start = time.perf_counter()
        trainer.fit(model, datamodule=base)
        return time.perf_counter() - start

    def hand_written() -> float:
        model = new_model()
        optimiser = model.configure_optimizers()
        start = time.perf_counter()
        for _ in range(args.epochs):
            model.train()
            for batch_features, batch_labels in base.train_dataloader():
                optimiser.zero_grad(set_to_none=True)
                loss = model.loss(model(batch_features), batch_labels)
                loss.backward()
                optimiser.step()
            model.eval()
            with torch.no_grad():
                for batch_features, batch_labels in base.val_dataloader():
                    logits = model(batch_features)
                    model.loss(logits, batch_labels)
                    model.val_metrics.update(logits.softmax(dim=-1), batch_labels)
                model.val_metrics.compute()
                model.val_metrics.reset()
        return time.perf_counter() - start

    loops = {
        "hand-written PyTorch loop (reference)": hand_written,
        "Lightning, bare (no logger, no checkpoints)": lambda: lightning_fit(logged=False),
        "Lightning, as baked (MLflow logger + checkpoints)": lambda: lightning_fit(logged=True),
    }
    hand_written()  # warm-up: allocator, threads, first-call costs
    times = {name: [] for name in loops}
    for _ in range(args.repeats):
        for name, loop in loops.items():  # alternate so drift in machine load hits every loop alike
            times[name].append(loop())

    samples = args.rows * args.epochs
    reference = samples / statistics.median(times["hand-written PyTorch loop (reference)"])
    steps = -(-args.rows // batch_size)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"data: {args.rows} rows x {len(schema.FEATURES)} features, batch {batch_size} ({steps} steps/epoch), "
          f"{args.epochs} epochs, median of {args.repeats}\n")
    print(f"| {'loop':<50} | {'samples/s':>10} | {'ratio':>6} |")
    print(f"|{'-' * 52}|{'-' * 12}:|{'-' * 7}:|")
    for name in loops:
        rate = samples / statistics.median(times[name])
        print(f"| {name:<50} | {rate:>10,.0f} | {rate / reference:>6.2f} |")


if __name__ == "__main__":
    main()
