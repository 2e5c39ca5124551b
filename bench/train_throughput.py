"""Training throughput: the baked project's Lightning loop next to a hand-written PyTorch loop, over the same shards.

A seeded 1,000,000-row x 40-column mixed table (bench/adopt_scale.py's) is adopted and validated in a scratch baked
project, as its user would. Then, in one process and in alternation: a hand-written loop (the model's own forward,
loss and AdamW, then a validation pass with the same metrics), Lightning bare (no logger, no checkpoint) and
Lightning as `make train` sets it up (MLflow logger, checkpoint, early stopping, the epoch lines). All three read the
project's ShardDataModule: the same shards, the same stream, the same batches. Printed: samples/s of each and the
ratio to the hand-written loop at the batch size configs/train.yaml's `auto` picks (target >= 0.90) and at smaller
fixed ones (1,024, the earlier rule's size here, and 64, the image and text default); then the rest of `make train`
(imports, the MLflow run, the export), timed as the command runs it.

    make bench            # bakes build/bench/tumor-classifier, installs it, runs this script
    python bench/train_throughput.py --project build/bench/tumor-classifier [--rows 1000000] [--repeats 3]
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
from adopt_scale import LABEL, table

TARGET = 0.90


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked tabular project, installed here")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--small-batch", type=int, nargs="*", default=[1024, 64], help="fixed batch sizes measured for comparison"
    )
    return parser.parse_args()


def prepare(project: Path, rows: int) -> tuple[float, float]:
    """Write the table, then `adopt` and `validate` it in the project (each its own process, as make runs them)."""
    package = next(path.name for path in (project / "src").iterdir() if (path / "__init__.py").exists())
    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        path = Path(scratch) / "large.parquet"
        table(rows, seed=0).to_parquet(path, index=False)
        adopt = baked.measure([sys.executable, "-m", package, "adopt", str(path), "--label", LABEL], project)[:2]
    validate = baked.measure([sys.executable, "-m", package, "validate"], project)[:2]
    return adopt[0], validate[0]


def main() -> None:
    args = parse()
    project = args.project.resolve()
    adopt_s, validate_s = prepare(project, args.rows)
    config, data, model_module, plugin, progress = baked.modules(
        project, "config", "data", "model", "plugin", "progress"
    )
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import MLFlowLogger

    task = plugin.TASK
    data_cfg, train_cfg = config.load(config.DataConfig), config.load(config.TrainConfig)
    model_cfg = config.load(config.ModelConfig).model_dump()
    train_rows = data.read_manifest(data_cfg.splits_dir)["parts"]["train"]["rows"]
    auto = data.auto_batch_size(train_rows)
    settings = train_cfg.datamodule.model_dump() | {"batch_size": auto}
    L.seed_everything(0, workers=True)
    datamodule = data.datamodule(data_cfg.splits_dir, **settings)
    fitted = model_module.Classifier(num_features=task.num_inputs, num_classes=len(task.classes), **model_cfg)
    start = time.perf_counter()
    fitted.fit_inputs(datamodule.train_features())
    fit_inputs_s = time.perf_counter() - start

    def new_model():
        model = model_module.Classifier(num_features=task.num_inputs, num_classes=len(task.classes), **model_cfg)
        model.load_state_dict(fitted.state_dict())
        return model

    store = f"sqlite:///{tempfile.mkdtemp()}/mlflow.db"  # created once, as in a project that has trained before
    MLFlowLogger(experiment_name="bench", tracking_uri=store).experiment  # noqa: B018 (creates the store)
    trainer_base = {**train_cfg.trainer, "accelerator": "cpu", "devices": 1, "precision": "32-true", "max_epochs": 1}
    trainer_base["enable_progress_bar"] = False

    def lightning_fit(baked_setup: bool) -> float:
        scratch = tempfile.mkdtemp()
        extra = {"logger": False, "enable_checkpointing": False, "default_root_dir": scratch}
        if baked_setup:
            extra = {
                "logger": MLFlowLogger(experiment_name="bench", tracking_uri=store),
                "callbacks": [
                    ModelCheckpoint(dirpath=scratch, **train_cfg.checkpoint),
                    EarlyStopping(**train_cfg.early_stopping),
                    progress.EpochLines(stream=open(os.devnull, "w")),  # noqa: SIM115 (the trainer holds it to the end)
                ],
                "default_root_dir": scratch,
            }
        trainer = L.Trainer(**trainer_base, **extra)
        model = new_model()
        start = time.perf_counter()
        trainer.fit(model, datamodule=datamodule)
        return time.perf_counter() - start

    def hand_written() -> float:
        torch.use_deterministic_algorithms(bool(train_cfg.trainer.get("deterministic", False)))
        model = new_model()
        optimiser = model.configure_optimizers()
        start = time.perf_counter()
        model.train()
        for features, labels in datamodule.train_dataloader():
            optimiser.zero_grad(set_to_none=True)
            loss = model.loss(model(features), labels)
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            for features, labels in datamodule.val_dataloader():
                logits = model(features)
                model.loss(logits, labels)
                model.val_metrics.update(logits.softmax(dim=-1), labels)
            model.val_metrics.compute()
            model.val_metrics.reset()
        return time.perf_counter() - start

    loops = {
        "hand": hand_written,
        "bare": lambda: lightning_fit(baked_setup=False),
        "baked": lambda: lightning_fit(baked_setup=True),
    }
    results = []
    for batch_size in (auto, *args.small_batch):
        datamodule.batch_size = batch_size
        datamodule.streams.clear()  # the next loaders stream in this batch size
        hand_written()  # warm-up: allocator, threads, first reads of the shards
        lightning_fit(baked_setup=True)  # and Lightning's once-a-process costs (its lazy imports, MLflow's first run)
        times = {name: [] for name in loops}
        for _ in range(args.repeats):
            for name, loop in loops.items():  # alternate, so drift in machine load hits every loop alike
                times[name].append(loop())
        results.append((batch_size, {name: statistics.median(values) for name, values in times.items()}))

    package = data.__package__
    overrides = ["train.trainer.max_epochs=1", "train.trainer.accelerator=cpu"]
    whole, _, _ = baked.measure([sys.executable, "-m", package, "train", *overrides], project)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, lightning {L.__version__}"
    print(f"\nmachine: {machine}")
    print(
        f"data: {args.rows:,} rows x 40 columns (bench/adopt_scale.py's table), {train_rows:,} training rows in "
        f"{len(datamodule.parts['train']['shards'])} shards; one epoch with validation; median of {args.repeats}"
    )
    print(f"adopt {adopt_s:.1f} s, validate {validate_s:.1f} s, inputs fitted in one pass {fit_inputs_s:.1f} s")
    print("reference: the hand-written PyTorch loop (same model, same ShardDataModule batches, AdamW, validation)\n")
    print("| batch | hand-written samples/s | Lightning bare | ratio | Lightning as baked | ratio | target |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for batch_size, median in results:
        rate = {name: train_rows / value for name, value in median.items()}
        ratio = rate["baked"] / rate["hand"]
        label = f"{batch_size} (auto)" if batch_size == auto else f"{batch_size} (fixed)"
        target = (f">= {TARGET}: {'met' if ratio >= TARGET else 'missed'}") if batch_size == auto else ""
        print(
            f"| {label} | {rate['hand']:,.0f} | {rate['bare']:,.0f} | {rate['bare'] / rate['hand']:.2f} | "
            f"{rate['baked']:,.0f} | {ratio:.2f} | {target} |"
        )
    epoch = results[0][1]["baked"]
    print(
        f"\n`{package} train` with max_epochs=1: {whole:.1f} s in all; the epoch (as baked, above) {epoch:.1f} s; "
        f"the rest (imports, checks, fitting the inputs, the MLflow run, export and lineage) {whole - epoch:.1f} s"
    )


if __name__ == "__main__":
    main()
