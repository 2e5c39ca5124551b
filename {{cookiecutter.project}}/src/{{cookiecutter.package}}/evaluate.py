"""Evaluate a logged model on the saved test split: metrics to a JSON file and to its MLflow run."""

import json
from pathlib import Path

import mlflow
import mlflow.pytorch
import numpy as np
import pandas as pd
import torch

from . import config, tracking
from .data import load_split
from .features import CLASS_NAMES, encode
from .metrics import classification_metrics, confusion, label_codes
from .schema import LABEL


def predict_proba(model: torch.nn.Module, frame: pd.DataFrame) -> np.ndarray:
    """Class probabilities for the contract's rows, encoded as the model was trained (features.encode)."""
    with torch.no_grad():
        return model(torch.from_numpy(encode(frame))).numpy()


def evaluate(run_id: str | None = None) -> dict:
    data_cfg, eval_cfg, gate_cfg = config.load("data"), config.load("evaluate"), config.load("gate")
    tracking_cfg = tracking.settings()
    tracking.start(tracking_cfg)
    record = tracking.last_run()
    run_id = run_id or record["run_id"]
    model_uri = record["model_uri"] if run_id == record["run_id"] else f"runs:/{run_id}/model"
    model = mlflow.pytorch.load_model(model_uri)
    test = load_split(config.require(data_cfg, "splits_dir", "data"), "test")
    probabilities = predict_proba(model, test)
    labels = label_codes(test[LABEL])
    metrics = classification_metrics(labels, probabilities)
    result = {
        "run_id": run_id,
        "model_uri": model_uri,
        "split": "test",
        "rows": len(test),
        "primary_metric": config.require(gate_cfg, "primary_metric", "gate"),  # set once, for the gate
        "metrics": metrics,
        "confusion_matrix": {"classes": CLASS_NAMES, "rows_true_columns_predicted": confusion(labels, probabilities)},
    }
    path = Path(config.require(eval_cfg, "metrics_file", "evaluate"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"test_{name}": value for name, value in metrics.items()})
        mlflow.log_artifact(str(path), artifact_path="evaluation")
    return result
