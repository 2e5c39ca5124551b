"""Read the YAML files under configs/: every knob lives there, none in code.

Each file has a pydantic model below (types, ranges, a description per field; unknown keys refused), so a bad
value stops the step with one line naming the file, the key, the value and what is allowed, before anything runs.
A file may start from another: `extends: train` reads configs/train.yaml first and this file's keys over it.
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PREFIX = str(__package__).upper()  # the package's name: environment variables are <PACKAGE>_...
CONFIG_DIR_ENV = f"{PREFIX}_CONFIG_DIR"
SERVE_SETTINGS_ENV = f"{PREFIX}_SERVE_SETTINGS"  # the service's settings file
REQUEST_LOG_ENV = f"{PREFIX}_REQUEST_LOG"  # where the service logs requests
# Sent by the project's own checks (smoke, load test): their requests are logged as such and left out of drift.
TRAFFIC_HEADER = "X-Traffic"


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or breaks its model: the file, the key and what is allowed."""


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_DIR_ENV, "configs"))


Fraction = Annotated[float, Field(gt=0, lt=1)]
Share = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(gt=0)]
Amount = Annotated[int | float, Field(gt=0)]  # a whole number stays one (printed as written: `250 ms`, not `250.0`)


class Section(BaseModel):
    """Settings with a description per field; an unknown key is refused, and nothing changes them once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    FILE: ClassVar[str] = ""  # configs/<FILE>.yaml, for a whole file's model


class DataConfig(Section):
    """configs/data.yaml: where the data lives and how it is split."""

    FILE = "data"

    raw: str = Field(description="the raw data: a table file, or a folder of class subfolders of images")
    splits_dir: str = Field(
        description="where `make validate` saves the split every later step reads: a folder, or s3://bucket/prefix"
    )
    val_fraction: Fraction = Field(description="share of the rows in the validation part")
    test_fraction: Fraction = Field(description="share of the rows in the test part")
    seed: int = Field(ge=0, description="the split's random seed")
    batch_rows: Count = Field(100_000, description="rows `make validate` reads and checks at a time")
    shard_rows: Count = Field(250_000, description="rows per Parquet shard of the saved split")

    @model_validator(mode="after")
    def _room_to_train(self):
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(f"val_fraction + test_fraction = {self.val_fraction + self.test_fraction}: leaves no "
                             "training rows; keep their sum under 1")  # fmt: skip
        return self


class DataModuleConfig(Section):
    """The task's LightningDataModule's keyword arguments (a task may add its own: task.py)."""

    batch_size: Count | Literal["auto"] = Field(
        description="training rows per step; auto: by the training split's size (data.auto_batch_size)"
    )
    eval_batch_size: Count = Field(description="rows per step when validating and predicting")


class TrainConfig(Section):
    """configs/train.yaml (train-cluster.yaml extends it): how the model is fitted, a section per Lightning object."""

    FILE = "train"

    seed: int = Field(ge=0, description="seeds Python, numpy and torch (lightning.seed_everything)")
    datamodule: DataModuleConfig = Field(description="the LightningDataModule's keyword arguments")
    trainer: dict[str, Any] = Field(description="lightning.Trainer's keyword arguments, passed as is")
    early_stopping: dict[str, Any] = Field(description="lightning's EarlyStopping keyword arguments")
    checkpoint: dict[str, Any] = Field(description="lightning's ModelCheckpoint keyword arguments")
    checkpoint_dir: str = Field(description="checkpoints go to <checkpoint_dir>/<MLflow run id>")


class ModelConfig(Section):
    """configs/model.yaml: the LightningModule's keyword arguments, one to one (a task may add its network's)."""

    FILE = "model"

    hidden_sizes: list[Count] = Field(description="widths of the dense layers")
    dropout: Annotated[float, Field(ge=0, lt=1)] = Field(description="dropout after each dense layer")
    learning_rate: Annotated[float, Field(gt=0)] = Field(description="AdamW's learning rate")
    weight_decay: Annotated[float, Field(ge=0)] = Field(description="AdamW's weight decay")


Metric = Literal["accuracy", "balanced_accuracy", "f1", "roc_auc"]


class EvaluateConfig(Section):
    """configs/evaluate.yaml: the test-split evaluation (its primary metric is the gate's, in gate.yaml)."""

    FILE = "evaluate"

    metrics_file: str = Field(description="where `make evaluate` writes the test metrics")


class BootstrapConfig(Section):
    samples: Count = Field(description="resamples of the test rows")
    confidence: Fraction = Field(description="the interval's confidence")
    seed: int = Field(ge=0, description="the resampling seed")


class GateConfig(Section):
    """configs/gate.yaml: the metric gate's rules, all judged on one primary metric."""

    FILE = "gate"

    primary_metric: Metric = Field(description="the metric every rule judges, and the report and evaluate mark")
    floor: Share | None = Field(description="the challenger must reach this (null: no floor)")
    baseline_margin: Annotated[float, Field(gt=0, le=1)] = Field(
        description="... and beat the trivial baseline by this much (above 0: a tie with it is no model)"
    )
    champion_tolerance: Share = Field(description="... and be no worse than @production by more than this")
    min_class_recall: Share | None = Field(
        None, description="every class's recall must reach this: a rare class may not be given up (null: no floor)"
    )
    bootstrap: BootstrapConfig = Field(description="the paired bootstrap of challenger - champion")
    result_file: str = Field(description="the gate's verdict, rules and contenders (JSON)")
    predictions_file: str = Field(description="every contender's probabilities on the test rows (CSV)")


class RetrainConfig(Section):
    min_new_rows: Annotated[int, Field(ge=0)] = Field(description="drift over fewer new rows is reported only")
    max_champion_age_days: Amount = Field(description="retrain anyway past this age")
    result_file: str = Field(description="the decision and its reason (JSON)")


class SimulateConfig(Section):
    batch: Count = Field(description="records per request")
    shift: dict[str, Annotated[float, Field(gt=0)]] = Field(description="SHIFT=yes multiplies these columns")


class DriftConfig(Section):
    """configs/drift.yaml: current data against the training reference of a model version."""

    FILE = "drift"

    alias: str = Field(description="the version a batch file is compared with")
    reference_rows: Count = Field(description="training rows logged with each model as its reference")
    sample_rows: Count = Field(description="larger current data is sampled to this many rows")
    seed: int = Field(ge=0, description="the sampling seed")
    num_method: str = Field(description="Evidently's test for number columns")
    cat_method: str = Field(description="Evidently's test for the other columns")
    alpha: Fraction = Field(description="family-wise: a column drifts below alpha / the number of columns tested")
    per_column_method: dict[str, str] = Field(description="a column's own test (a distance needs a threshold)")
    per_column_threshold: dict[str, float] = Field(description="a column's own threshold")
    drift_share: Annotated[float, Field(gt=0, le=1)] = Field(description="the data drifted at this share of columns")
    result_file: str = Field(description="the drift result (JSON)")
    retrain: RetrainConfig = Field(description="`make retrain-check`")
    simulate: SimulateConfig = Field(description="`make simulate-traffic`")


class RequestLogConfig(Section):
    path: str = Field(description="JSON lines: each request's record and prediction")
    max_bytes: Count = Field(description="rotated at this size")
    backups: Annotated[int, Field(ge=0)] = Field(description="old files kept")


class SloConfig(Section):
    p99_ms: Amount = Field(description="the 99th percentile latency must stay under this")
    max_error_rate: Share = Field(description="... and the share of failed requests under this")


class LoadtestConfig(Section):
    users: Count = Field(description="concurrent locust users")
    spawn_rate: Amount = Field(description="users started per second")
    duration_s: Count = Field(description="seconds of load")
    slo: SloConfig


Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*[smh]$")]  # Prometheus' and Argo Rollouts' 30s, 2m, 1h


class ProductionConfig(Section):
    prometheus_url: str = Field(description="the Prometheus the canary analysis queries")
    window: Duration = Field(description="traffic each analysis measurement looks at")
    interval: Duration = Field(description="how often the analysis measures")
    failure_limit: Annotated[int, Field(ge=0)] = Field(description="failed measurements before the rollout aborts")
    max_latency_ratio: Annotated[float, Field(gt=1)] = Field(description="the canary's p99 over the stable's")
    latency_floor_ms: Amount = Field(description="the stable version's p99 counts as at least this")
    max_class_shift: Share = Field(description="total variation distance between the two class mixes")
    min_confidence: Share = Field(description="alert: mean top-class probability under this")
    confidence_window: Duration = Field(description="the mean confidence's window")
    no_traffic_minutes: Count = Field(description="alert: no request for this long")


class ServeConfig(Section):
    """configs/serve.yaml: the bento, its service and the checks against it (a task may add its own: task.py)."""

    FILE = "serve"

    alias: str = Field(description="the registry alias `make package` packages")
    port: Annotated[int, Field(gt=0, lt=65536)] = Field(description="`make serve`'s port")
    workers: Count | Literal["cpu_count"] = Field(description="worker processes (cpu_count: one per core)")
    torch_threads: Count = Field(description="intra-op threads per worker")
    max_batch_size: Count = Field(description="adaptive batching: rows in one forward pass at most")
    max_latency_ms: Count = Field(description="adaptive batching: the longest wait to fill a batch")
    access_log: bool = Field(description="BentoML's line per request")
    trace_predictions: bool = Field(description="an OpenTelemetry span per /predict")
    max_records_per_request: Count = Field(description="a larger request is refused with HTTP 400")
    request_log: RequestLogConfig
    loadtest: LoadtestConfig
    production: ProductionConfig = Field(description="the canary analysis and the alerts (`make monitoring`)")


class ServedModel(Section):
    name: str
    version: str  # the registry version, or "unregistered" (a bento built from the last run)
    run_id: str | None = None  # an unregistered model's MLflow run: the drift check's reference is that run's


class ServiceSettings(Section):
    """The bento's own service.yaml, written by `make package` (bento.py) from configs/serve.yaml and the model it
    packaged; the service reads it and nothing else (a task may add its own: task.py)."""

    FILE = "service"

    workers: Count | Literal["cpu_count"]
    torch_threads: Count
    max_batch_size: Count
    max_latency_ms: Count
    max_records_per_request: Count
    access_log: bool
    trace_predictions: bool
    request_log: RequestLogConfig
    service_name: str = Field(description="the BentoML service's name")
    model_tag: str = Field(description="the bento model the service loads")
    served_model: ServedModel = Field(description="its registry name and version: drift's reference follows it")
    bento: str = Field(description="<name>:<git sha>-m<model version> (r<run id> for a pull request's build)")
    python_version: str
    image_packages: list[str]
    example: dict[str, Any] | None = Field(description="a training row shown in the OpenAPI schema")


class TrackingConfig(Section):
    """configs/tracking.yaml: MLflow (MLFLOW_TRACKING_URI overrides tracking_uri)."""

    FILE = "tracking"

    tracking_uri: str = Field(description="sqlite:///<file> or a server URL")
    experiment: str = Field(min_length=1, description="the MLflow experiment of every run")
    registered_model: str = Field(min_length=1, description="the registry's model name")
    artifact_location: str = Field(description="artifacts of a local sqlite store")


SHARED: dict[str, type[Section]] = {
    model.FILE: model
    for model in (DataConfig, DriftConfig, EvaluateConfig, GateConfig, ModelConfig, ServeConfig, ServiceSettings,
                  TrackingConfig, TrainConfig)
}  # fmt: skip
Settings = TypeVar("Settings", bound=Section)


def model_for(kind: type[Settings]) -> type[Settings]:
    """The model configs/<kind.FILE>.yaml is read with: the task's own (task.py) where it has one, else `kind`."""
    from .plugin import TASK  # here, not above: the task's models are built on this module's

    own = TASK.config_models().get(kind.FILE)
    return own if own is not None and issubclass(own, kind) else kind  # type: ignore[return-value]


def _read(name: str) -> dict[str, Any]:
    """A file's settings over those of the file it extends."""
    path = config_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file (run from the project root, or set {CONFIG_DIR_ENV})")
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(content).__name__}")
    if base := content.pop("extends", None):
        return _merged(_read(str(base)), content)
    return content


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both else value
    return merged


def load(kind: type[Settings], name: str | None = None, overrides: Sequence[str] = ()) -> Settings:
    """configs/<name>.yaml (kind.FILE unless given: `make train ARGS="--config train-cluster"` is a train file, over
    the file it extends) with command-line `overrides` (`trainer.max_epochs=3`), as the model of its kind."""
    name = name or kind.FILE
    return parse(name, override(_read(name), list(overrides)), kind)


def parse(name: str, content: dict[str, Any], kind: type[Settings], path: Path | None = None) -> Settings:
    """Settings as their model; a ConfigError with one line per problem: the file (configs/<name>.yaml unless
    given), the key, the value and what is allowed."""
    schema = model_for(kind)
    try:
        return schema.model_validate(content)
    except ValidationError as error:
        path = path or config_dir() / f"{name}.yaml"
        raise ConfigError("\n".join(_problem(path, schema, problem) for problem in error.errors())) from None


def _problem(path: Path, schema: type[BaseModel], problem: dict) -> str:
    key = ".".join(str(part) for part in problem["loc"])
    if not key:  # a rule across settings (val_fraction + test_fraction)
        return f"{path}: {problem['msg'].removeprefix('Value error, ')}"
    if problem["type"] == "missing":
        return f"{path}: missing setting '{key}'"
    if problem["type"] == "extra_forbidden":
        section = schema
        for part in problem["loc"][:-1]:  # the model the unknown key sits in
            field = section.model_fields.get(str(part))
            annotation = getattr(field, "annotation", None)
            section = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
            if section is None:
                break
        allowed = f" (allowed here: {', '.join(section.model_fields)})" if section else ""
        return f"{path}: unknown setting '{key}'{allowed}"
    return f"{path}: {key} = {problem['input']!r}: {problem['msg']}"


def override(config: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply command-line overrides such as `trainer.max_epochs=3`; values are parsed as YAML."""
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {assignment!r}: expected key.path=value")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {assignment!r}: '{part}' is not a section")
        node[leaf] = yaml.safe_load(raw)
    return config
