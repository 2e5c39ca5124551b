"""What one step hands the next through a file: each a dataclass written and read as JSON here, nowhere else.

The Makefile and the workflows read them through the command line (`python -m <package> bento-tag`, `deploy-info`),
never by parsing the JSON themselves.
"""

import dataclasses
import json
from typing import Any, Self


@dataclasses.dataclass(frozen=True)
class Result:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, content: dict[str, Any]) -> Self:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in content.items() if key in names})

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))


@dataclasses.dataclass(frozen=True)
class BentoRecord(Result):
    """artifacts/bento.json, written by `make package`: the bento built and the model it serves."""

    bento: str  # <name>:<git sha>-m<model version>
    model: str  # the bento model store's tag
    mlflow_version: str  # the registry version, or "unregistered" (a pull request's build)
    source: str  # "version 3 (@staging)", "run 1a2b3c4d"
    alias: str | None  # the alias it was packaged from (None: the last run)


@dataclasses.dataclass(frozen=True)
class Evaluation(Result):
    """reports/metrics.json, written by `make evaluate`: the test split's metrics of one model."""

    run_id: str
    model_uri: str
    split: str
    rows: int
    primary_metric: str  # the gate's (gate.yaml), marked in the printout
    metrics: dict[str, float]
    confusion_matrix: dict[str, Any]  # classes, rows_true_columns_predicted
