"""Evaluate a logged model on the saved test split: metrics to a JSON file and to its MLflow run."""

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pytorch
import numpy as np
import pandas as pd
import torch

from . import config, tracking
from .config import DataConfig, EvaluateConfig, GateConfig
from .data import load_split
from .metrics import classification_metrics, confusion, label_codes
from .plugin import TASK
from .results import Evaluation

ENCODER_FILES = "extra_files"  # where MLflow keeps a model's extra files (train.py: the task's encoder)


@dataclass
class Model:
    """A logged model as every step uses it: the program (encoded rows in, probabilities out) and the encoder read
    from the files logged with it (TASK.load_encoder: a text model's tokenizer; None for a table or an image)."""

    program: torch.nn.Module
    encoder: Any = None


def load_model(uri: str) -> Model:
    """The program and the encoder of a logged model (runs:/..., models:/<name>/<version>), from one download."""
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=scratch))
        return Model(mlflow.pytorch.load_model(str(local)), TASK.load_encoder(local / ENCODER_FILES))


def predict_proba(model: Model, frame: pd.DataFrame) -> np.ndarray:
    """Class probabilities for the contract's rows, encoded as the model was trained (the task's encode)."""
    with torch.no_grad():
        return model.program(torch.from_numpy(TASK.encode(frame, model.encoder))).numpy()


def evaluate(run_id: str | None = None) -> Evaluation:
    data_cfg, eval_cfg, gate_cfg = config.load(DataConfig), config.load(EvaluateConfig), config.load(GateConfig)
    tracking_cfg = tracking.settings()
    tracking.start(tracking_cfg)
    record = tracking.last_run()
    run_id = run_id or record["run_id"]
    model_uri = record["model_uri"] if run_id == record["run_id"] else f"runs:/{run_id}/model"
    model = load_model(model_uri)
    test = load_split(data_cfg.splits_dir, "test")
    probabilities = predict_proba(model, test)
    labels = label_codes(test[TASK.label])
    metrics = classification_metrics(labels, probabilities)
    result = Evaluation(
        run_id=run_id,
        model_uri=model_uri,
        split="test",
        rows=len(test),
        primary_metric=gate_cfg.primary_metric,  # set once, for the gate
        metrics=metrics,
        confusion_matrix={"classes": TASK.class_names, "rows_true_columns_predicted": confusion(labels, probabilities)},
    )
    path = result.write(eval_cfg.metrics_file)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"test_{name}": value for name, value in metrics.items()})
        mlflow.log_artifact(str(path), artifact_path="evaluation")
    return result
