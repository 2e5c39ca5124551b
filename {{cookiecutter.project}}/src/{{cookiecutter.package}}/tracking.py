"""MLflow set-up shared by every step: one tracking URI, one experiment, where the last run is recorded."""

import json
import os
import re
import subprocess
from pathlib import Path

import mlflow

from . import config
from .config import TrackingConfig

LAST_RUN = Path("artifacts/last_run.json")
# A URL with a user name or password before its host: never in a file that git keeps.
CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/@]*@")


def settings() -> TrackingConfig:
    """configs/tracking.yaml, its tracking_uri replaced by MLFLOW_TRACKING_URI where that is set."""
    tracking = config.load(TrackingConfig)
    configured = tracking.tracking_uri
    if CREDENTIALS.match(str(configured)):  # the value is not echoed: it holds a secret
        raise config.ConfigError(
            f"{config.config_dir() / 'tracking.yaml'}: tracking_uri holds a user name or password, in a file git "
            "keeps: remove them from the URL and set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (a "
            "database: its own variables, e.g. PGUSER and PGPASSWORD) where the project runs"
        )
    # MLFLOW_TRACKING_URI wins so that CI and a team server need no file edits.
    uri = os.environ.get("MLFLOW_TRACKING_URI") or configured
    if not re.match(r"(sqlite|postgresql|mysql|https?|databricks)(\+\w+)?:", uri):
        raise config.ConfigError(
            f"tracking_uri {uri!r}: use sqlite:///<file> or a server URL (MLflow refuses a ./mlruns file store)"
        )
    return tracking.model_copy(update={"tracking_uri": uri})


def start(tracking: TrackingConfig) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns the experiment id."""
    mlflow.set_tracking_uri(tracking.tracking_uri)
    name = tracking.experiment
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location(tracking))


def artifact_location(tracking: TrackingConfig) -> str | None:
    """Where a new experiment keeps its artifacts: beside a local store; a server decides for itself."""
    if tracking.tracking_uri.startswith("sqlite:"):
        return Path(tracking.artifact_location).resolve().as_uri()
    return None


def git_commit() -> tuple[str, bool]:
    """The commit the code was trained from and whether the work tree had uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
        return commit, bool(dirty.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)", True


def record_last_run(run_id: str, model_uri: str) -> None:
    LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
    LAST_RUN.write_text(json.dumps({"run_id": run_id, "model_uri": model_uri}, indent=2) + "\n")


def last_run() -> dict:
    if not LAST_RUN.is_file():
        raise FileNotFoundError(f"{LAST_RUN}: no trained model recorded yet. Run `make train` first.")
    return json.loads(LAST_RUN.read_text())
