"""Fixtures: every test works in a scratch copy of configs/ with its own sqlite MLflow store."""

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from project_data import write_project_data  # the task's own (tests/project_data.py): the data a test runs on

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.data import save_splits, split
from {{ cookiecutter.package }}.results import GateResult
from {{ cookiecutter.package }}.validate import read_table

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def prepare_workspace(root: Path, monkeypatch, project_root: Path = PROJECT_ROOT) -> Path:
    """Make root a project-shaped scratch folder (configs, the project's data) and the working directory."""
    shutil.copytree(project_root / "configs", root / "configs")
    for name in ("pyproject.toml", "uv.lock"):  # `make package` installs the lock's serving subset in the bento
        if (project_root / name).is_file():
            shutil.copy(project_root / name, root / name)
    monkeypatch.chdir(root)
    # Never touch the store configured for real runs (it may be a team server).
    store = f"sqlite:///{root / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.set_tracking_uri(store)  # an earlier test's mlflow.set_tracking_uri would win over the variable
    data_cfg = config.load(config.DataConfig)
    write_project_data(data_cfg.raw)
    return root


@pytest.fixture(scope="session")
def make_workspace():
    """prepare_workspace, for module-scoped fixtures that make a scratch project of their own."""
    return prepare_workspace


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """A project-shaped scratch folder (configs + bundled data), made the working directory."""
    return prepare_workspace(tmp_path, monkeypatch)


@pytest.fixture
def bundled(workspace) -> pd.DataFrame:
    """The project's rows (its own sample, or the bundled table), as read from the file."""
    return read_table(config.load(config.DataConfig).raw)


@pytest.fixture
def splits(workspace, bundled) -> Path:
    """The bundled data, split and saved as `make validate` does."""
    data_cfg = config.load(config.DataConfig)
    parts = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    save_splits(parts, data_cfg.splits_dir, data_cfg.raw)
    return workspace / data_cfg.splits_dir


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def train_and_gate(root: Path, monkeypatch) -> None:
    """A scratch project at root with a trained model that passed the gate (version 1, @staging)."""
    from {{ cookiecutter.package }}.gate import gate
    from {{ cookiecutter.package }}.train import train

    prepare_workspace(root, monkeypatch)
    data_cfg = config.load(config.DataConfig)
    frame = read_table(data_cfg.raw)
    parts = split(frame, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    save_splits(parts, data_cfg.splits_dir, data_cfg.raw)
    train(["train.trainer.max_epochs=40"])
    skip_unless_passed(gate())


def skip_unless_passed(result: GateResult) -> None:
    """A test that needs a model the gate passed does not apply where this project's data gives none: it skips,
    naming the rules that failed (`make pipeline` fails on the same data, with the same reasons)."""
    if result.verdict != "passed":
        failed = "; ".join(f"{rule.name}: {rule.observed}" for rule in result.failed())
        pytest.skip(f"the model trained on this project's data does not pass the gate ({failed})")


@pytest.fixture(scope="session")
def passed_or_skip():
    """skip_unless_passed, for tests that run the gate themselves."""
    return skip_unless_passed


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train and gate once per module, in a scratch project."""
    root = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as monkeypatch:
        train_and_gate(root, monkeypatch)
        yield root


@pytest.fixture(scope="session")
def make_trained():
    """train_and_gate, for fixtures in a folder's own conftest.py (tests/service: one bento for the folder)."""
    return train_and_gate
