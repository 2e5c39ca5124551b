"""Training throughput: the baked project's Lightning loop next to a hand-written PyTorch loop.

Same model class, same in-memory batches, same optimiser and per-epoch validation, same process, measured
in alternation, at several batch sizes. Prints samples/s for each loop and the ratio Lightning / hand-written
(target >= 0.90), and Lightning's fixed cost per optimiser step, which decides the ratio for a small model.

    make bench            # bakes build/bench/tumor-classifier, installs it, runs this script
    python bench/train_throughput.py --project build/bench/tumor-classifier [--rows N] [--batch-sizes 64 4096]
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import baked
import torch


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked project, installed in this environment")
    parser.add_argument("--rows", type=int, default=200_000, help="training rows (the split tiled up to this)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=None, help="default: the project's batch size, 256, 1024, 4096"
    )
    return parser.parse_args()


def main() -> None:
    args = parse()
    args.project = args.project.resolve()
    config, data, model_module, schema = baked.modules(args.project, "config", "data", "model", "schema")
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import MLFlowLogger

    L.seed_everything(0, workers=True)
    data_cfg, train_cfg = config.load(config.DataConfig), config.load(config.TrainConfig)
    model_cfg = config.load(config.ModelConfig).model_dump()
    configured_batch = train_cfg.datamodule.batch_size
    batch_sizes = args.batch_sizes or sorted({configured_batch, 256, 1024, 4096})
    deterministic = bool(train_cfg.trainer.get("deterministic", False))
    if not (Path(data_cfg.splits_dir) / "train.csv").exists():
        sys.exit(f"{args.project}: run `make validate` there first (the benchmark reads the saved split)")

    datamodule = data.InMemoryDataModule(data_cfg.splits_dir)
    datamodule.setup()
    train_features, train_labels = datamodule.datasets["train"].features, datamodule.datasets["train"].labels
    repeat = -(-args.rows // len(train_labels))
    features = train_features.repeat(repeat, 1)[: args.rows]
    labels = train_labels.repeat(repeat)[: args.rows]
    datamodule.datasets["train"] = data.InMemoryDataset(features, labels)
    mean, scale = datamodule.feature_statistics()

    def new_model():
        model = model_module.Classifier(num_features=len(schema.FEATURES), num_classes=len(schema.CLASSES), **model_cfg)
        model.set_normalisation(mean, scale)
        return model

    store = f"sqlite:///{tempfile.mkdtemp()}/mlflow.db"  # created once, as in a project that has trained before
    MLFlowLogger(experiment_name="bench", tracking_uri=store).experiment  # noqa: B018 (creates the store)

    def lightning_fit(logged: bool) -> float:
        scratch = tempfile.mkdtemp()
        trainer_cfg = {**train_cfg.trainer, "accelerator": "cpu", "devices": 1, "precision": "32-true"}
        trainer_cfg |= {"max_epochs": args.epochs, "default_root_dir": scratch}
        extra = {"logger": False, "enable_checkpointing": False}
        if logged:
            logger = MLFlowLogger(experiment_name="bench", tracking_uri=store)
            extra = {"logger": logger, "callbacks": [ModelCheckpoint(dirpath=scratch, monitor="val_loss")]}
        trainer = L.Trainer(**trainer_cfg, **extra)
        model = new_model()
        start = time.perf_counter()
        trainer.fit(model, datamodule=datamodule)
        return time.perf_counter() - start

    def hand_written() -> float:
        torch.use_deterministic_algorithms(deterministic)  # the same global setting Lightning applies
        model = new_model()
        optimiser = model.configure_optimizers()
        start = time.perf_counter()
        for _ in range(args.epochs):
            model.train()
            for batch_features, batch_labels in datamodule.train_dataloader():
                optimiser.zero_grad(set_to_none=True)
                loss = model.loss(model(batch_features), batch_labels)
                loss.backward()
                optimiser.step()
            model.eval()
            with torch.no_grad():
                for batch_features, batch_labels in datamodule.val_dataloader():
                    logits = model(batch_features)
                    model.loss(logits, batch_labels)
                    model.val_metrics.update(logits.softmax(dim=-1), batch_labels)
                model.val_metrics.compute()
                model.val_metrics.reset()
        return time.perf_counter() - start

    loops = {
        "hand": hand_written,
        "bare": lambda: lightning_fit(logged=False),
        "baked": lambda: lightning_fit(logged=True),
    }
    samples = args.rows * args.epochs
    rows = []
    for batch_size in batch_sizes:
        datamodule.batch_size = batch_size
        hand_written()  # warm-up: allocator, threads, first-call costs
        times = {name: [] for name in loops}
        for _ in range(args.repeats):
            for name, loop in loops.items():  # alternate, so drift in machine load hits every loop alike
                times[name].append(loop())
        median = {name: statistics.median(values) for name, values in times.items()}
        steps = -(-args.rows // batch_size) * args.epochs
        rows.append((batch_size, steps, median))

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, lightning {L.__version__}"
    )
    print(
        f"data: breast-cancer train split tiled to {args.rows:,} rows x {len(schema.FEATURES)} features; "
        f"model {model_cfg}; {args.epochs} epochs with validation; median of {args.repeats}"
    )
    print("reference: the hand-written PyTorch loop (same model, batches, optimiser, validation)\n")
    print(
        "| batch | steps | hand-written samples/s | Lightning bare | ratio | Lightning as baked | ratio |"
        " overhead per step |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for batch_size, steps, median in rows:
        rate = {name: samples / value for name, value in median.items()}
        overhead_us = (median["bare"] - median["hand"]) / steps * 1e6
        marker = " (configured)" if batch_size == configured_batch else ""
        print(
            f"| {batch_size}{marker} | {steps:,} | {rate['hand']:,.0f} | {rate['bare']:,.0f} | "
            f"{rate['bare'] / rate['hand']:.2f} | {rate['baked']:,.0f} | {rate['baked'] / rate['hand']:.2f} | "
            f"{overhead_us:,.0f} µs |"
        )


if __name__ == "__main__":
    main()
