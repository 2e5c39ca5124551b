"""`make doctor`: what this project is connected to, in one screen.

The tracking store (and whether it answers), the registry's aliases, the bento store, what each deploy overlay
runs, and which workflows have the settings they need. Exit 1 when the tracking store does not answer.
"""

import os
import sqlite3
import sys
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from . import gitops, preflight, registry, tracking

TIMEOUT = 5.0  # seconds a server gets to answer


def sqlite_file(uri: str) -> Path | None:
    """The file of a sqlite tracking store (which may not exist yet); None for a server or another database."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:") else None


def tracking_line(uri: str) -> tuple[bool, str]:
    """Whether the tracking store answers, and how it was asked."""
    path = sqlite_file(uri)
    if path is not None:
        if not path.is_file():
            return True, f"no file yet at {path}: the first `make train` makes it"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as store:
            runs = store.execute("SELECT count(*) FROM runs").fetchone()[0]
        return True, f"answers (a file, {runs} runs)"
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=TIMEOUT) as response:
                return True, f"answers (GET /health: {response.status})"
        except (urllib.error.URLError, OSError) as error:
            return False, f"does not answer: {getattr(error, 'reason', error)}"
    return True, "a database: asked through the registry below"


def registry_line(uri: str) -> str:
    """The registered model's aliases, read only: a doctor creates no store, experiment or model."""
    import mlflow

    name = registry.model_name()
    path = sqlite_file(uri)
    if path is not None and not path.is_file():
        return f"{name}: no store yet"
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # one try: a doctor does not wait minutes
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(TIMEOUT)))
    mlflow.set_tracking_uri(uri)
    aliases = registry.aliases(mlflow.MlflowClient(), name)
    if not aliases:
        return f"{name}: no alias yet (`make gate` sets @staging on a pass, `make promote` @production)"
    return f"{name}: " + ", ".join(f"@{alias} version {version}" for alias, version in sorted(aliases.items()))


def bento_line() -> str:
    import bentoml

    from .bento import safe_tag

    home = os.environ.get("BENTOML_HOME") or str(Path.home() / "bentoml")
    try:
        bentos = bentoml.list(safe_tag(registry.model_name()))  # `make package` names the bento after the model
    except bentoml.exceptions.NotFound:  # raised, not an empty list, when the store has none of that name
        bentos = []
    if not bentos:
        return f"{home}: no bento of this project (`make package` builds one)"
    newest = max(bentos, key=lambda bento: bento.info.creation_time)
    return f"{home}: {len(bentos)} bento(s), the newest {newest.tag} ({newest.info.creation_time:%Y-%m-%d %H:%M})"


def overlay_lines() -> list[str]:
    lines = []
    for environment in ("staging", "production"):
        path = gitops.overlay(environment)
        document = yaml.safe_load(path.read_text())
        image = document["images"][0]
        version = document["labels"][0]["pairs"]["model-version"]
        lines.append(f"{environment}: {image['newName']}:{image['newTag']}, model version {version} ({path})")
    return lines


def doctor() -> int:
    settings = tracking.settings()
    uri = settings.tracking_uri
    source = "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "configs/tracking.yaml"
    answers, how = tracking_line(uri)
    rows = [("tracking", f"{uri} (from {source}): {how}")]
    rows.append(("registry", registry_line(uri) if answers else "not asked: the tracking store does not answer"))
    rows.append(("bentos", bento_line()))
    rows += [("deploy", line) for line in overlay_lines()]
    for workflow in preflight.NEEDS:
        gaps = preflight.missing(workflow)
        names = ", ".join(setting.name for setting, _ in gaps)
        state = f"would skip for {names} (`make preflight WORKFLOW={workflow}` says why)" if gaps else "ready"
        rows.append(("workflow", f"{workflow}: {state}"))
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        print(f"{label:<{width}}  {text}")
    if not answers:
        print(f"error: the tracking store {uri} does not answer", file=sys.stderr)
    return 0 if answers else 1
