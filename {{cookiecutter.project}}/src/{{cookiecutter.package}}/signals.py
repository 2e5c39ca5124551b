"""The model's own signals on the service's /metrics, beside BentoML's request metrics (docs/monitoring.md).

Per served model version: predictions per class, the top-class probability (a confidence histogram), requests the
contract refused (per field), and the numeric values the request log keeps of each record (a sum and a count per
column: the per-request drift statistics, as a live mean). Every label takes values from a bounded set the model or
the contract fixes (class names, field and column names, the model version): no user data is ever a label.

BentoML serves prometheus_client's registry at /metrics and points it at a folder its worker processes share
(multiprocess mode), so these are defined with prometheus_client directly, as BentoML's metrics guide says. The
names are fixed (`model_...`): the canary analysis, the alerts and the dashboard (production.py) read them.
"""

import math
from collections import Counter as Tally
from collections.abc import Iterable, Sequence

import prometheus_client

# The top-class probability: at least 1/classes, so the buckets start low enough for many classes.
CONFIDENCE_BUCKETS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)

PREDICTIONS = prometheus_client.Counter(
    "model_predictions", "Predictions served, by predicted class", ["model_version", "class"]
)
CONFIDENCE = prometheus_client.Histogram(
    "model_confidence", "Top-class probability of each prediction", ["model_version"], buckets=CONFIDENCE_BUCKETS
)
REFUSED = prometheus_client.Counter(
    "model_refused", "Records the contract refused (HTTP 400), by field", ["model_version", "field"]
)
INPUTS = prometheus_client.Summary(
    "model_input", "Numeric values of the served records the request log keeps, by column", ["model_version", "column"]
)
# A refusal that names no field of the record (a body that is not a list, too many records, an over-long upload).
WHOLE_REQUEST = "request"


class ModelSignals:
    """The signals of one served model version."""

    def __init__(self, model_version: str, class_names: Sequence[str], fields: Iterable[str]) -> None:
        self.version = model_version
        self.fields = frozenset(fields)
        # Every class and field starts at zero, so a class the model never predicts still shows (a collapsed class
        # mix is a share of 0, not a missing series) and the canary analysis compares like with like.
        self.predicted = {name: PREDICTIONS.labels(model_version, name) for name in class_names}
        for field in (*sorted(self.fields), WHOLE_REQUEST):
            REFUSED.labels(model_version, field)
        self.confidence = CONFIDENCE.labels(model_version)
        self.inputs: dict[str, prometheus_client.Summary] = {}

    def answered(self, answers: list[dict[str, float]], logged: list[dict]) -> None:
        """A batch's answers ({class: probability} per record) and what the request log keeps of its records."""
        for name, count in Tally(max(answer, key=answer.__getitem__) for answer in answers).items():
            self.predicted[name].inc(count)
        for answer in answers:
            self.confidence.observe(max(answer.values()))
        for row in logged:
            for column, value in row.items():
                if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                    self._input(column).observe(value)

    def refused(self, locations: Iterable[Sequence]) -> None:
        """A refused request: each problem's location (pydantic's `loc`), counted once per field it names."""
        named = {next((str(part) for part in reversed(loc) if str(part) in self.fields), WHOLE_REQUEST)
                 for loc in locations} or {WHOLE_REQUEST}  # fmt: skip
        for field in named:
            REFUSED.labels(self.version, field).inc()

    def _input(self, column: str) -> prometheus_client.Summary:
        if column not in self.inputs:
            self.inputs[column] = INPUTS.labels(self.version, column)
        return self.inputs[column]
