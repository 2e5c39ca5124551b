"""The MLflow model registry, by alias: @staging is what passed the gate, @production what serves users."""

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import config, tracking
from .config import TrackingConfig

PROMOTIONS = {"production": "staging"}  # target alias: the alias whose version it takes


def model_name() -> str:
    return config.load(TrackingConfig).registered_model


def version_with_alias(client: MlflowClient, name: str, alias: str):
    """The model version holding the alias, or None when there is none (or no registered model yet)."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}:
            return None
        raise


def aliases(client: MlflowClient, name: str) -> dict[str, str]:
    try:
        return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}
    except MlflowException:
        return {}


def register(client: MlflowClient, name: str, model_uri: str, run_id: str, alias: str, tags: dict) -> str:
    """Register a version and point the alias at it; on any error the new version is deleted again."""
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Registered by the metric gate; aliases mark environments.")
    # A logged model (models:/m-<id>) must be named by its id too: a tracking server refuses the bare URI.
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    version = client.create_model_version(name, model_uri, run_id=run_id, tags=tags, model_id=model_id)
    try:
        client.set_registered_model_alias(name, alias, version.version)
    except BaseException:
        client.delete_model_version(name, version.version)
        raise
    return str(version.version)


def promote(environment: str, version: str | None = None) -> str:
    """Move @<environment> to the version that holds the alias before it (production <- staging), or to `version`.

    CD passes the version it deployed: @staging may have moved on since (a scheduled retrain registers too).
    """
    if environment not in PROMOTIONS:
        raise ValueError(f"ENV={environment!r}: promotable environments are {', '.join(PROMOTIONS)}")
    if version is not None:
        return move_alias(environment, version)
    tracking.start(tracking.settings())
    client, name, source = MlflowClient(), model_name(), PROMOTIONS[environment]
    candidate = version_with_alias(client, name, source)
    if candidate is None:
        raise ValueError(f"model {name!r} has no @{source} version: run `make gate` (it sets @{source} on a pass)")
    client.set_registered_model_alias(name, environment, candidate.version)
    return str(candidate.version)


def move_alias(alias: str, version: str) -> str:
    """@alias := version, for a version that passed the gate (its `gate` tag); any other is refused."""
    tracking.start(tracking.settings())
    client, name = MlflowClient(), model_name()
    candidate = client.get_model_version(name, str(version))
    if candidate.tags.get("gate") != "passed":
        raise ValueError(f"{name} version {version} did not pass the gate: it cannot become @{alias}")
    client.set_registered_model_alias(name, alias, candidate.version)
    return str(candidate.version)
