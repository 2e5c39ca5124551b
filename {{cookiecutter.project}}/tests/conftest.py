"""Fixtures: every test works in a scratch copy of configs/ with its own sqlite MLflow store."""

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.data import save_splits, split, write_bundled_data

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """A project-shaped scratch folder (configs + bundled data), made the working directory."""
    shutil.copytree(PROJECT_ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    # Never touch the store configured for real runs (it may be a team server).
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.set_tracking_uri(store)  # an earlier test's mlflow.set_tracking_uri would win over the variable
    write_bundled_data(config.load("data")["raw"])
    return tmp_path


@pytest.fixture
def bundled(workspace) -> pd.DataFrame:
    return pd.read_csv(config.load("data")["raw"])


@pytest.fixture
def splits(workspace, bundled) -> Path:
    """The bundled data, split and saved as `make validate` does."""
    data_cfg = config.load("data")
    parts = split(bundled, data_cfg["val_fraction"], data_cfg["test_fraction"], data_cfg["seed"])
    save_splits(parts, data_cfg["splits_dir"], data_cfg["raw"])
    return workspace / data_cfg["splits_dir"]


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
