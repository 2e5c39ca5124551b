"""Train the classifier with Lightning and record everything needed to reproduce it in MLflow."""

import json
import tempfile
from pathlib import Path

import lightning as L
import mlflow
import mlflow.data
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.utilities import rank_zero_only
from mlflow.models import infer_signature

from . import config, tracking
from .config import ConfigError, DataConfig, ModelConfig, TrainConfig
from .data import auto_batch_size, check_split_current, datamodule, load_split, read_manifest
from .drift import log_reference
from .evaluate import ENCODER_FILES, Model
from .model import Classifier, Probabilities
from .plugin import TASK
from .progress import EpochLines, resolve_progress_bar

# Rows of a part the run's lineage reads (the logged datasets' schema and profile, the drift reference's sample, the
# input example): a seeded sample of a part larger than this, so logging does not hold a table of millions of rows.
LINEAGE_ROWS = 100_000


def resolve_precision(precision: str) -> str:
    """'auto' means bf16-mixed on a GPU that supports it and full precision everywhere else."""
    if precision != "auto":
        return precision
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def flatten(settings: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def load_settings(
    overrides: list[str] | None = None, train_config: str = "train"
) -> tuple[DataConfig, ModelConfig, TrainConfig]:
    """configs/data.yaml, model.yaml and the trainer settings file, each with its command-line overrides
    (`train.trainer.max_epochs=3`, `model.dropout=0.5`: the file's name, then the key), checked after them."""
    grouped: dict[str, list[str]] = {"data": [], "model": [], "train": []}
    for assignment in overrides or []:
        head, _, rest = assignment.partition(".")
        if head not in grouped or not rest:
            raise ConfigError(
                f"override {assignment!r}: start with data., model. or train. (train.trainer.max_epochs=3)"
            )
        grouped[head].append(rest)
    return (
        config.load(DataConfig, overrides=grouped["data"]),
        config.load(ModelConfig, overrides=grouped["model"]),
        config.load(TrainConfig, train_config, grouped["train"]),
    )


def train(overrides: list[str] | None = None, train_config: str = "train") -> dict | None:
    """Fit, then (on rank 0 only) log the best model and its lineage. Returns the run's record on rank 0.

    `train_config` names the trainer settings file: configs/train.yaml, or e.g. train-cluster for multi-node.
    """
    data_cfg, model_cfg, train_cfg = load_settings(overrides, train_config)
    tracking_cfg = tracking.settings()
    L.seed_everything(train_cfg.seed, workers=True)

    check_split_current(data_cfg.splits_dir, data_cfg.raw)
    settings = train_cfg.datamodule.model_dump()
    if settings["batch_size"] == "auto":
        settings["batch_size"] = auto_batch_size(read_manifest(data_cfg.splits_dir)["parts"]["train"]["rows"])
    data = datamodule(data_cfg.splits_dir, **settings)
    model = Classifier(num_features=TASK.num_inputs, num_classes=len(TASK.classes), **model_cfg.model_dump())
    model.fit_inputs(data.train_features())

    trainer_cfg = dict(train_cfg.trainer)
    trainer_cfg["precision"] = resolve_precision(str(trainer_cfg.get("precision", "auto")))
    trainer_cfg["enable_progress_bar"] = resolve_progress_bar(trainer_cfg.get("enable_progress_bar", "auto"))
    # Only rank 0 talks to MLflow (two processes creating one sqlite store race each other); the other
    # ranks still compute and sync every metric. ModelCheckpoint broadcasts rank 0's directory to them.
    logger, run_id = False, "rank-nonzero"
    if rank_zero_only.rank == 0:
        logger = MLFlowLogger(
            experiment_name=tracking_cfg.experiment,
            tracking_uri=tracking_cfg.tracking_uri,
            artifact_location=tracking.artifact_location(tracking_cfg),
            log_model=False,
        )
        run_id = logger.run_id
    checkpoint = ModelCheckpoint(
        dirpath=str(Path(train_cfg.checkpoint_dir) / run_id),
        **train_cfg.checkpoint,
    )
    stopping = EarlyStopping(**train_cfg.early_stopping)
    progress = [] if trainer_cfg["enable_progress_bar"] else [EpochLines()]
    trainer = L.Trainer(logger=logger, callbacks=[checkpoint, stopping, *progress], **trainer_cfg)
    if logger:
        params = flatten({"train": train_cfg.model_dump(), "data": data_cfg.model_dump()})
        params |= {"trainer.precision": trainer_cfg["precision"], "datamodule.batch_size": settings["batch_size"]}
        logger.log_hyperparams(params)
    trainer.fit(model, datamodule=data)
    if not trainer.is_global_zero:
        return None
    best = Classifier.load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
    return log_lineage(best, run_id, data_cfg, trainer)


def log_lineage(best: Classifier, run_id: str, data_cfg: DataConfig, trainer: L.Trainer) -> dict:
    """Log the model (signature + input example), the contract, data hashes and the commit to the run."""
    splits_dir = data_cfg.splits_dir  # a local folder or an s3:// prefix
    train_frame = load_split(splits_dir, "train", rows=LINEAGE_ROWS)
    served = Probabilities(best).eval()
    with tempfile.TemporaryDirectory() as scratch:
        # The encoder's files (a tokenizer) are written, then read back as evaluation, the gate and the service read
        # them: the example, the reference's predictions and the signature already come from the logged files.
        encoder_dir = Path(scratch) / ENCODER_FILES
        encoder_dir.mkdir()
        encoder_files = TASK.save_encoder(best.inputs, encoder_dir)
        model = Model(served, TASK.load_encoder(encoder_dir))  # as evaluation and the gate will load it
        example = TASK.encode(train_frame.head(5), model.encoder)
        with torch.no_grad():
            signature = infer_signature(example, served(torch.from_numpy(example)).numpy())
        info = log_run(run_id, model, train_frame, data_cfg, trainer, (example, signature, encoder_files))
    tracking.record_last_run(run_id, info.model_uri)
    return {"run_id": run_id, "model_uri": info.model_uri}


def log_run(run_id: str, model: Model, train_frame, data_cfg: DataConfig, trainer: L.Trainer, logged: tuple):
    """Into the run: tags, inputs, contract, manifest, drift reference and the model (program, example, signature and
    encoder files: `logged`). Returns MLflow's ModelInfo."""
    example, signature, encoder_files = logged
    splits_dir = data_cfg.splits_dir
    manifest = read_manifest(splits_dir)
    commit, dirty = tracking.git_commit()
    with mlflow.start_run(run_id=run_id):
        mlflow.set_tags(
            {
                "mlflow.source.git.commit": commit,
                "git.dirty": str(dirty).lower(),
                "data.source": data_cfg.raw,
                # Checked against the raw data and the shards before training: not hashed a third time.
                "data.source.sha256": manifest["source_sha256"],
                "data.train.sha256": manifest["parts"]["train"]["sha256"],
                "device": str(trainer.strategy.root_device),
                "epochs_trained": str(trainer.current_epoch),
            }
        )
        for name in ("train", "val", "test"):
            frame = train_frame if name == "train" else load_split(splits_dir, name, rows=LINEAGE_ROWS)
            digest = manifest["parts"][name]["sha256"][:8]  # the whole part's, whether or not the frame is a sample
            source = f"{splits_dir.rstrip('/')}/{name}"
            dataset = mlflow.data.from_pandas(frame, source=source, targets=TASK.label, name=name, digest=digest)
            mlflow.log_input(dataset, context={"train": "training", "val": "validation", "test": "testing"}[name])
        with tempfile.TemporaryDirectory() as scratch:
            contract = Path(scratch) / "contract.yaml"
            contract.write_text(TASK.schema.to_yaml())
            mlflow.log_artifact(str(contract), artifact_path="contract")
            copy = Path(scratch) / "manifest.json"  # the split may live on S3: logged from what was read
            copy.write_text(json.dumps(manifest, indent=2) + "\n")
            mlflow.log_artifact(str(copy), artifact_path="data")
        # What a drift check compares this version's inputs with: a sample of the task's reference split.
        if TASK.reference_split == "train":
            reference = train_frame
        else:
            reference = load_split(splits_dir, TASK.reference_split, rows=LINEAGE_ROWS)
        log_reference(reference, model)
        info = mlflow.pytorch.log_model(
            model.program,
            name="model",
            signature=signature,
            input_example=example,
            extra_files=[str(path) for path in encoder_files] or None,  # the encoder travels with the program
            # Explicit requirements: the saved program needs only torch and mlflow to load.
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}"],
        )
    return info
