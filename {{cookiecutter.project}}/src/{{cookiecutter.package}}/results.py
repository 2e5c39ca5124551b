"""What one step hands the next through a file: each a model written and read as JSON here, nowhere else.

gate.json (the gate) is read by the report, the retrain pin and the workflows' summary; drift.json (the drift check)
by retrain-check; retrain.json by the retrain pull request; bento.json (`make package`) by serve, publish and the
deploy steps. The Makefile and the workflows read them through the command line (`bento-tag`, `deploy-info`), never by
parsing the JSON themselves.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    """A step's result: `to_json` writes it, `read` and `from_json` read it back, checked."""

    model_config = ConfigDict(extra="ignore")  # a file from an older version of the project still reads

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.model_validate_json(text)

    @classmethod
    def read(cls, path: str | Path, missing: str) -> Self:
        """The result in `path`; FileNotFoundError naming the file and `missing` (what to run) when there is none."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: {missing}")
        return cls.from_json(path.read_text())

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path


class BentoRecord(Result):
    """artifacts/bento.json, written by `make package`: the bento built and the model it serves."""

    bento: str  # <name>:<git sha>-m<model version>
    model: str  # the bento model store's tag
    mlflow_version: str  # the registry version, or "unregistered" (a pull request's build)
    source: str  # "version 3 (@staging)", "run 1a2b3c4d"
    alias: str | None  # the alias it was packaged from (None: the last run)


class DeployInfo(Result):
    """What a deploy step takes from the last build (`deploy-info`, as $GITHUB_OUTPUT lines in a workflow)."""

    image: str  # <registry>/<bento name>:<bento version>
    model_version: str
    bento: str


class Evaluation(Result):
    """reports/metrics.json, written by `make evaluate`: the test split's metrics of one model."""

    run_id: str
    model_uri: str
    split: str
    rows: int
    primary_metric: str  # the gate's (gate.yaml), marked in the printout
    metrics: dict[str, float]
    confusion_matrix: dict[str, Any]  # classes, rows_true_columns_predicted


@dataclass
class Rule:
    """One of the gate's rules, judged."""

    name: str  # floor, baseline, min_class_recall, champion
    requirement: str
    observed: str
    status: str  # passed, failed, skipped
    detail: str = ""


class Score(BaseModel):
    description: str
    metrics: dict[str, float]
    recall: dict[str, float]  # per class


class GateResult(Result):
    """reports/gate.json, written by `make gate`: the verdict, each rule, and every contender's scores."""

    verdict: str  # passed or failed
    primary_metric: str
    model_name: str
    challenger_run_id: str
    challenger_model_uri: str
    test_rows: int
    contenders: dict[str, Score]  # challenger, champion (when there is one), baseline
    champion_difference: dict[str, float] | None  # the paired bootstrap of challenger - champion: low, high, ...
    rules: list[Rule]
    registered_version: str | None  # set when it passed and was registered as @staging
    dry_run: bool  # a pull request's gate: judged only, nothing registered

    def failed(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.status == "failed"]


class CurrentData(BaseModel):
    source: str
    rows: int
    checked_rows: int
    labelled: bool
    other_model_rows_dropped: int = 0  # request-log rows another model version served
    skipped: list[str] = []  # lines that were no request-log record
    checks_left_out: dict[str, int] = {}  # the project's own checks' requests (smoke, loadtest), by kind


class Reference(BaseModel):
    model: str
    version: str
    run_id: str
    rows: int


class ColumnDrift(BaseModel):
    column: str
    method: str
    score: float | None
    threshold: float | None
    drifted: bool


class DriftShare(BaseModel):
    drifted_columns: float | None
    share: float | None
    threshold: float | None
    drifted: bool


class DriftResult(Result):
    """reports/drift.json, written by `make drift`: current data against a model version's training reference."""

    checked_at: str
    current: CurrentData
    reference: Reference
    drift: bool
    drift_share: DriftShare
    prediction: ColumnDrift  # the predicted class
    columns: list[ColumnDrift]

    def drifted_names(self, prediction: str = "prediction") -> list[str]:
        """The drifted columns, and the prediction when it drifted too."""
        names = [column.column for column in self.columns if column.drifted]
        return names + ([prediction] if self.prediction.drifted else [])


class RetrainDecision(Result):
    """reports/retrain.json, written by `make retrain-check`: retrain or not, and why."""

    retrain: bool
    reason: str
    drift_result: str  # the drift.json it read
    model: Reference  # the version the data was compared with
