"""Training end to end: Lightning smoke run, the MLflow record, evaluation, DDP and GPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import mlflow
import pytest
import torch
from mlflow import MlflowClient

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.data import datamodule
from {{ cookiecutter.package }}.evaluate import evaluate
from {{ cookiecutter.package }}.features import NUM_INPUTS
from {{ cookiecutter.package }}.metrics import METRICS
from {{ cookiecutter.package }}.model import Classifier
from {{ cookiecutter.package }}.schema import CLASSES
from {{ cookiecutter.package }}.train import resolve_precision, train

SHORT = ["train.trainer.max_epochs=3"]


def _runs() -> list:
    client = MlflowClient()
    found = client.get_experiment_by_name(config.load(config.TrackingConfig).experiment)
    return client.search_runs([found.experiment_id]) if found else []


def test_fast_dev_run_on_cpu(splits):
    data = datamodule(str(splits))
    model = Classifier(num_features=NUM_INPUTS, num_classes=len(CLASSES))
    model.fit_inputs(data.train_features())
    trainer = L.Trainer(accelerator="cpu", fast_dev_run=True, logger=False, enable_progress_bar=False)
    trainer.fit(model, datamodule=data)
    assert trainer.state.finished


@pytest.mark.slow
def test_train_logs_a_reproducible_run_and_evaluate_scores_it(splits):
    result = train(SHORT)
    run = MlflowClient().get_run(result["run_id"])
    learning_rate = config.load(config.ModelConfig).learning_rate
    assert run.data.params["learning_rate"] == str(learning_rate)  # the model's, logged by Lightning
    assert run.data.params["train.seed"] == "42"
    assert run.data.params["trainer.precision"] == "32-true"
    assert "val_loss" in run.data.metrics and "val_roc_auc" in run.data.metrics
    tags = run.data.tags
    assert len(tags["data.train.sha256"]) == 64
    assert tags["mlflow.source.git.commit"]
    assert {inp.dataset.name for inp in run.inputs.dataset_inputs} == {"train", "val", "test"}
    artifacts = {item.path for item in MlflowClient().list_artifacts(result["run_id"], "contract")}
    assert artifacts == {"contract/contract.yaml"}

    info = mlflow.models.get_model_info(result["model_uri"])
    assert list(info.signature.inputs.to_dict()[0]["tensor-spec"]["shape"]) == [-1, NUM_INPUTS]
    assert info.saved_input_example_info is not None

    scored = evaluate()
    assert scored.rows > 0 and set(scored.metrics) == set(METRICS)
    written = json.loads(Path("reports/metrics.json").read_text())
    assert written["metrics"] == scored.metrics
    assert MlflowClient().get_run(result["run_id"]).data.metrics["test_accuracy"] == scored.metrics["accuracy"]


def test_precision_is_full_on_cpu_and_explicit_values_pass_through():
    if not torch.cuda.is_available():
        assert resolve_precision("auto") == "32-true"
    assert resolve_precision("16-mixed") == "16-mixed"


@pytest.mark.slow
@pytest.mark.thorough
def test_ddp_on_two_cpu_processes_syncs_metrics_and_writes_once(splits, workspace):
    """torchrun starts 2 processes (gloo); only rank 0 may log to MLflow or write files."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "{{ cookiecutter.package }}", "train",
        "train.trainer.max_epochs=2", "train.trainer.accelerator=cpu", "train.trainer.devices=2",
        "train.trainer.strategy=ddp", "train.trainer.deterministic=false",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    runs = _runs()
    assert len(runs) == 1, "exactly one MLflow run: rank 1 must not create its own"
    expected = json.loads((splits / "manifest.json").read_text())["parts"]["val"]["rows"]
    # The sampler pads the last batch so both ranks see as many rows: at most one extra row.
    assert expected <= runs[0].data.metrics["val_rows"] <= expected + 1, "validation metrics were not synced"
    checkpoint_dirs = list((workspace / "artifacts" / "checkpoints").iterdir())
    assert [path.name for path in checkpoint_dirs] == [runs[0].info.run_id]
    assert json.loads((workspace / "artifacts" / "last_run.json").read_text())["run_id"] == runs[0].info.run_id


@pytest.mark.gpu
@pytest.mark.slow
def test_trains_on_the_gpu_in_bf16(splits):
    result = train([*SHORT, "train.trainer.accelerator=gpu", "train.trainer.devices=1"])
    run = MlflowClient().get_run(result["run_id"])
    assert run.data.tags["device"].startswith("cuda")
    expected = "bf16-mixed" if torch.cuda.is_bf16_supported() else "32-true"
    assert run.data.params["trainer.precision"] == expected
