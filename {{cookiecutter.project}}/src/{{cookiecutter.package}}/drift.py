"""`make drift`: today's data (a batch file or the service's request log) against what the model learned from.

The reference is a sample of the training split with the model's own predictions, logged with the model's run
(`reference/reference.csv`), so a check always compares with the data of the version that is deployed.
"""

import json
import os
import sys
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import config, production, registry, tracking
from .config import DriftConfig
from .evaluate import Model, load_model, predict_proba
from .plugin import TASK
from .results import DriftResult
from .validate import ContractError, read_table, valid_rows, validate_frame

REFERENCE_ARTIFACT = "reference/reference.csv"
PREDICTION = "prediction"  # the predicted class: prediction drift, for labelled and unlabelled data alike
HOMOGENEITY = "homogeneity"  # the test for categories registered with Evidently below
DOMAIN_CLASSIFIER = "domain_classifier"  # the test for texts registered with Evidently below
NO_DRIFT, DRIFT, INVALID = 0, 1, 3  # exit codes of `make drift` (2 is any other error, as for every step)


def settings() -> DriftConfig:
    return config.load(DriftConfig)


def with_predictions(frame: pd.DataFrame, model: Model) -> pd.DataFrame:
    """The frame plus the model's predicted class for each row."""
    probabilities = predict_proba(model, frame)
    return frame.assign(**{PREDICTION: [TASK.class_names[index] for index in probabilities.argmax(axis=1)]})


def log_reference(train: pd.DataFrame, model: Model) -> None:
    """Inside an active run: log a seeded sample of the task's reference split (the training split, or the
    validation split: plugin.Task.reference_split) with the model's predictions."""
    drift_cfg = settings()
    rows = drift_cfg.reference_rows
    sample = train.sample(n=min(rows, len(train)), random_state=drift_cfg.seed)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / Path(REFERENCE_ARTIFACT).name
        predicted = with_predictions(sample, model)
        TASK.loggable(predicted, model.encoder).assign(
            **{name: predicted[name] for name in (TASK.label, PREDICTION)}
        ).to_csv(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))


def read_request_log(path: Path) -> tuple[pd.DataFrame, dict]:
    """The records a served bento logged (rotated files too, oldest first) and the model version that served them.

    Only the rows of the latest model version in the log are kept: earlier versions had other references. Records
    a check marked as its own traffic (smoke, loadtest) are left out and counted (origin["checks"]). A line that is
    not a record is reported (origin["skipped"]) and left out.
    """
    # RotatingFileHandler's backups: requests.jsonl.1 is the newest, .5 the oldest.
    backups = [file for file in path.parent.glob(f"{path.name}.*") if file.suffix[1:].isdigit()]
    files = sorted(backups, key=lambda file: -int(file.suffix[1:]))
    records, skipped, checks = [], [], {}
    for file in [*files, path]:
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                record = {**entry["features"], PREDICTION: max(entry["prediction"], key=entry["prediction"].get)}
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as error:
                skipped.append(f"{file}:{number}: not a request-log record ({type(error).__name__}: {error})")
                continue
            if entry.get("traffic"):
                checks[entry["traffic"]] = checks.get(entry["traffic"], 0) + 1
            else:
                records.append((record, entry["model"]))
    if not records:
        detail = "".join(f"\n  {line}" for line in skipped[:5])
        only = f" (only the checks' own requests: {checks})" if checks else ""
        raise ContractError(
            f'{path}: no request-log record to check{only}; expected JSON objects with "features", "prediction" and '
            f'"model", as the service writes. Send the service some traffic first.{detail}'
        )
    model = records[-1][1]
    frame = pd.DataFrame([record for record, served_by in records if served_by == model])
    return frame, {"model": model, "dropped_rows": len(records) - len(frame), "skipped": skipped, "checks": checks}


def load_current(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Current data checked against the contract (without the label when it has none).

    A batch file must keep the contract whole; in a request log, rows that break it (logged by an older service,
    say) are reported in origin["skipped"] and left out, and only a log with nothing usable left is refused.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such file. Pass CURRENT=<{TASK.current_kind}> or the service's request log."
        )
    log = path.suffix == ".jsonl" or ".jsonl." in path.name
    if log:
        frame, origin = read_request_log(path)
        line_offset = 1  # no header line
    else:
        frame, origin, line_offset = read_table(path), {}, 2
    schema = TASK.contract_for(frame)
    predictions = frame.pop(PREDICTION) if PREDICTION in frame else None
    if log:
        try:
            frame, report = valid_rows(frame, path, schema, line_offset)
        except ContractError as error:
            raise ContractError("\n".join([str(error), *origin["skipped"][:5]])) from None
        origin["skipped"] += [report] if report else []
    else:
        frame = validate_frame(frame, path, schema, line_offset)
    if predictions is not None:
        frame[PREDICTION] = predictions.loc[frame.index].astype(str)  # class names, even when they look like numbers
    return frame, origin


def reference_for(version) -> pd.DataFrame:
    """The reference logged with a model version's training run."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=scratch
            )
        except (OSError, MlflowException):
            raise ValueError(
                f"model version {version.version} (run {version.run_id}) has no {REFERENCE_ARTIFACT}: it was trained "
                "before drift checks were added. Retrain it (`make pipeline`) to log its reference."
            ) from None
        return pd.read_csv(local, dtype={PREDICTION: str})  # class names, even when they look like numbers


def sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=rows, random_state=seed) if len(frame) > rows else frame


def threshold(drift_cfg: DriftConfig, columns: int) -> float:
    """Each column's p-value threshold: the family-wise alpha shared by the columns tested (Bonferroni)."""
    return drift_cfg.alpha / max(columns, 1)


def _homogeneity(reference: pd.Series, current: pd.Series, feature_type, threshold: float) -> tuple[float, bool]:
    """Two-sample test for categories: Fisher's exact test for two values, else chi-square of homogeneity.

    Evidently's `chisquare` takes the reference shares as exact; with a rare value (a column missing in 3% of rows)
    it raised 7 false alarms in 25 unchanged partitions of a 600-row table. These count both samples' noise.
    """
    from scipy.stats import chi2_contingency, fisher_exact

    table = pd.crosstab(np.repeat([0, 1], [len(reference), len(current)]), pd.concat([reference, current]).to_numpy())
    p_value = fisher_exact(table)[1] if table.shape == (2, 2) else chi2_contingency(table)[1]
    return float(p_value), bool(p_value < threshold)


def _domain_classifier(reference: pd.Series, current: pd.Series, feature_type, threshold: float) -> tuple[float, bool]:
    """Texts: Evidently's domain classifier (TF-IDF and a linear model, fitted on half of both sides to tell them
    apart), its ROC AUC on the other half turned into a p-value.

    Under no drift the classifier's scores are no better than random ones, whose ROC AUC is the Mann-Whitney U
    statistic scaled: normal with mean 0.5 and variance (n0 + n1 + 1) / (12 n0 n1). Evidently's own percentile test
    draws 1,000 random classifiers for the same figure (a minute per check on 2 cores), and its threshold is a
    share, not a p-value, so Bonferroni's alpha / columns did not apply to it.
    """
    from evidently.legacy.utils.data_drift_utils import roc_auc_domain_classifier
    from scipy.stats import norm
    from sklearn.model_selection import train_test_split

    texts = pd.concat([reference, current], ignore_index=True).astype(str)
    sides = np.repeat([0, 1], [len(reference), len(current)])
    fit_texts, scored_texts, fit_sides, scored_sides = train_test_split(
        texts, sides, test_size=0.5, random_state=42, stratify=sides
    )
    roc_auc, _, _ = roc_auc_domain_classifier(fit_texts, scored_texts, fit_sides, scored_sides)
    current_rows, reference_rows = int(scored_sides.sum()), int(len(scored_sides) - scored_sides.sum())
    spread = np.sqrt((current_rows + reference_rows + 1) / (12 * current_rows * reference_rows))
    p_value = float(norm.sf((roc_auc - 0.5) / spread))
    return p_value, bool(p_value < threshold)


def register_tests() -> None:
    """Make the homogeneity test (configs/drift.yaml: cat_method: homogeneity) and the domain classifier test for
    texts available to Evidently by name."""
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    test = StatTest(name=HOMOGENEITY, display_name="two-sample homogeneity p_value",
                    allowed_feature_types=[ColumnType.Categorical])  # fmt: skip
    register_stattest(test, default_impl=_homogeneity)
    test = StatTest(name=DOMAIN_CLASSIFIER, display_name="domain classifier ROC AUC p_value",
                    allowed_feature_types=[ColumnType.Text])  # fmt: skip
    register_stattest(test, default_impl=_domain_classifier)


def _as_categories(values: pd.Series) -> pd.Series:
    """A categorical column as text, a missing value as its own category (a test for categories needs no NaN)."""
    return values.astype("object").where(values.notna(), "(missing)").astype(str)


def compare(current: pd.DataFrame, reference: pd.DataFrame, drift_cfg: DriftConfig, encoder=None):
    """Evidently's DataDriftPreset (tests on) over the task's monitored columns (and the label), plus the prediction.

    Numerical columns get the numerical test, the rest (categories, booleans, missing-value indicators, the label and
    the prediction) the test for categories. A column holding one and the same value on both sides is not tested:
    Evidently's chi-square calls that drift (p = 0).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    register_tests()
    classes = [TASK.label] if TASK.label in current else []  # the label is checked only when the current data has it
    kinds = TASK.monitored | dict.fromkeys([*classes, PREDICTION], "categorical")
    current, reference = (
        TASK.monitored_frame(frame, encoder).assign(**{name: frame[name].to_numpy() for name in [*classes, PREDICTION]})
        for frame in (current, reference)
    )
    for name, kind in kinds.items():
        if kind == "categorical":
            current[name], reference[name] = _as_categories(current[name]), _as_categories(reference[name])

    def constant(name: str) -> bool:
        values = set(current[name].dropna()) | set(reference[name].dropna())
        return len(values) <= 1

    tested = [name for name in kinds if not constant(name)]
    columns = [name for name in tested if name != PREDICTION]
    limit = threshold(drift_cfg, len(tested))
    definition = DataDefinition(
        numerical_columns=[name for name in columns if kinds[name] == "numerical"],
        categorical_columns=[name for name in tested if kinds[name] == "categorical"],
        text_columns=[name for name in columns if kinds[name] == "text"],  # Evidently's domain-classifier test
    )
    # Texts: the domain classifier's p-value (_domain_classifier), at the same alpha / columns as every column.
    texts = [name for name in columns if kinds[name] == "text"]
    methods = dict.fromkeys(texts, DOMAIN_CLASSIFIER) | dict(drift_cfg.per_column_method)
    thresholds = dict.fromkeys(texts, limit) | dict(drift_cfg.per_column_threshold)
    preset = DataDriftPreset(
        columns=columns,
        drift_share=drift_cfg.drift_share,
        num_method=drift_cfg.num_method,
        cat_method=drift_cfg.cat_method,
        threshold=limit,
        per_column_method=methods or None,
        per_column_threshold=thresholds or None,
    )
    metrics = [preset]
    if PREDICTION in tested:
        metrics.append(ValueDrift(column=PREDICTION, method=drift_cfg.cat_method, threshold=limit))
    report = Report(metrics, include_tests=True)
    with warnings.catch_warnings():  # numpy's "invalid value" for a column constant on one side: not the user's concern
        warnings.simplefilter("ignore", RuntimeWarning)
        return report.run(
            Dataset.from_pandas(current[tested], data_definition=definition),
            Dataset.from_pandas(reference[tested], data_definition=definition),
        )


def assess(current: pd.DataFrame, reference: pd.DataFrame, model: Model | None, drift_cfg: DriftConfig):
    """Sample both sides to sample_rows (seeded), predict the sampled rows if they carry no prediction, compare.

    Returns the Evidently snapshot and the rows checked. Sampling is what keeps a million rows fast: the test's
    power depends on the sample sizes, not on how many rows were there (docs/drift.md).
    """
    rows, seed = drift_cfg.sample_rows, drift_cfg.seed
    checked = sample(current, rows, seed)
    if model is not None:
        checked = with_predictions(checked, model)
    encoder = model.encoder if model is not None else None
    return compare(checked, sample(reference, rows, seed), drift_cfg, encoder), checked


def summarise(snapshot) -> dict:
    """Per-column scores and the verdict, read from the snapshot's tests (a failed test is a drift)."""
    content = snapshot.dict()
    metrics = {metric["id"]: metric for metric in content["metrics"]}
    columns, share = [], None
    for test in content["tests"]:
        params = test["metric_config"]["params"]
        metric = metrics.get(test["metric_config"]["metric_id"], {})
        if "column" in params:
            columns.append(
                {
                    "column": params["column"],
                    "method": params.get("method") or "default",
                    "score": metric.get("value"),
                    "threshold": params.get("threshold"),
                    "drifted": test["status"] == "FAIL",
                }
            )
        else:
            value = metric.get("value") or {}
            share = {
                "drifted_columns": value.get("count"),
                "share": value.get("share"),
                "threshold": params.get("drift_share"),
                "drifted": test["status"] == "FAIL",
            }
    same_class = {"column": PREDICTION, "method": "one class on both sides", "score": None, "threshold": None}
    prediction = next((column for column in columns if column["column"] == PREDICTION), same_class | {"drifted": False})
    return {
        "drift": share["drifted"] or prediction["drifted"],
        "drift_share": share,
        "prediction": prediction,
        "columns": [column for column in columns if column["column"] != PREDICTION],
    }


def resolve_version(client: MlflowClient, name: str, origin: dict, alias: str | None):
    """The model version whose reference to use: the one that served the log, or the alias's."""
    if "model" in origin:
        served = origin["model"]
        if served.get("run_id"):  # a bento built from the last run (FROM=last-run): no registry version, its run
            return SimpleNamespace(name=served["name"], version=str(served["version"]), run_id=served["run_id"])
        return client.get_model_version(served["name"], str(served["version"]))
    version = registry.version_with_alias(client, name, alias)
    if version is None:
        raise ValueError(
            f"model {name!r} has no @{alias} version to compare with: promote one (`make promote`), "
            "or pass ALIAS=staging (configs/drift.yaml: alias)"
        )
    return version


def report_paths(drift_cfg: DriftConfig) -> tuple[Path, Path, Path, Path]:
    """reports/drift.json (the verdict), drift.html (Evidently's report), drift.md (the report section) and
    drift.prom (the verdict as Prometheus metrics)."""
    result_path = Path(drift_cfg.result_file)
    return (
        result_path,
        result_path.with_suffix(".html"),
        result_path.with_suffix(".md"),
        result_path.with_suffix(".prom"),
    )


def drift(current_path: str | Path, alias: str | None = None) -> DriftResult:
    """Check, write reports/drift.{json,html,md} and return the result; raises ContractError for invalid data."""
    drift_cfg = settings()
    result_path, html_path, markdown_path, metrics_path = report_paths(drift_cfg)
    for stale in (result_path, html_path, markdown_path, metrics_path):
        stale.unlink(missing_ok=True)  # a failed check must not leave an earlier verdict to be read as this one
    current, origin = load_current(current_path)
    tracking.start(tracking.settings())
    client = MlflowClient()
    version = resolve_version(client, registry.model_name(), origin, alias or drift_cfg.alias)
    reference = reference_for(version)
    model = None if PREDICTION in current else load_model(f"models:/{version.name}/{version.version}")
    snapshot, checked = assess(current, reference, model, drift_cfg)
    result = DriftResult.model_validate(
        {
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "current": {
                "source": str(current_path),
                "rows": len(current),
                "checked_rows": len(checked),
                "labelled": TASK.label in current,
                "other_model_rows_dropped": origin.get("dropped_rows", 0),
                "skipped": origin.get("skipped", []),
                "checks_left_out": origin.get("checks", {}),
            },
            "reference": {
                "model": version.name,
                "version": str(version.version),
                "run_id": version.run_id,
                "rows": len(reference),
            },
            **summarise(snapshot),
        }
    )
    result_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html_path))  # str: Evidently writes nothing for a Path
    markdown_path.write_text(markdown(result, html_path.name))
    result.write(result_path)
    pushed = publish(result, metrics_path)
    if pushed:
        print(f"drift metrics pushed to {pushed}")
    return result


PUSHGATEWAY_ENV = "PUSHGATEWAY_URL"  # the scheduled job's: a Pushgateway Prometheus scrapes (deploy/README.md)


def publish(result: DriftResult, textfile: Path) -> str | None:
    """The verdict where Prometheus sees it: `textfile` (Prometheus' text format, for a node exporter's textfile
    collector) and, with PUSHGATEWAY_URL set, the Pushgateway. Returns where it was pushed, if it was."""
    import prometheus_client

    registry = prometheus_client.CollectorRegistry()
    where = production.namespace(Path.cwd(), result.reference.model)
    labels = {"namespace": where, "model_version": result.reference.version}
    gauges = {name: prometheus_client.Gauge(name, text, [*labels, "column"] if "column" in name else [*labels],
                                            registry=registry)
              for name, text in production.DRIFT_METRICS.items()}  # fmt: skip
    gauges[production.DRIFT_SHARE].labels(**labels).set(result.drift_share.share or 0.0)
    gauges["model_drift_detected"].labels(**labels).set(int(result.drift))
    for column in [*result.columns, result.prediction]:
        gauges["model_drift_column_drifted"].labels(**labels, column=column.column).set(int(column.drifted))
    gauges["model_drift_last_check_timestamp_seconds"].labels(**labels).set(
        datetime.fromisoformat(result.checked_at).timestamp()
    )
    textfile.parent.mkdir(parents=True, exist_ok=True)
    prometheus_client.write_to_textfile(str(textfile), registry)
    gateway = os.environ.get(PUSHGATEWAY_ENV)
    if not gateway:
        return None
    try:  # one group per namespace: the next check replaces this one's series, whichever version it compared
        prometheus_client.push_to_gateway(gateway, job="drift-check", registry=registry,
                                          grouping_key={"namespace": labels["namespace"]})  # fmt: skip
    except OSError as error:  # the verdict stands (reports/drift.json, the exit code); only its metrics are late
        print(f"warning: the drift metrics were not pushed to {gateway} ({error}); {textfile} holds them",
              file=sys.stderr)  # fmt: skip
        return None
    return gateway


def drifted_names(result: DriftResult) -> list[str]:
    return result.drifted_names(PREDICTION)


def markdown(result: DriftResult, html_name: str) -> str:
    """The drift section of the report: verdict, sizes and the columns ranked by evidence of drift."""
    current, reference = result.current, result.reference
    drifted = drifted_names(result)
    verdict = f"❌ drift in {', '.join(f'`{name}`' for name in drifted)}" if result.drift else "✅ no drift"
    ranked = [*result.columns, result.prediction]
    scored = [column for column in ranked if column.score is not None]
    if all(column.method in {"ks", "chisquare", HOMOGENEITY, DOMAIN_CLASSIFIER, "default"} for column in scored):
        ranked.sort(key=lambda column: (column.score is None, column.score or 0.0))  # p-values: smallest first
    lines = [
        f"## Drift check: {verdict}",
        "",
        f"Current: `{current.source}`, {current.rows} rows ({current.checked_rows} checked). "
        f"Reference: the training sample of `{reference.model}` version {reference.version} "
        f"({reference.rows} rows).",
        "",
        "| column | method | score | threshold | drifted |",
        "|---|---|---|---|---|",
    ]
    for column in ranked[:10]:
        score = "" if column.score is None else f"{column.score:.3g}"
        mark = "❌" if column.drifted else ""
        threshold = "" if column.threshold is None else column.threshold
        lines.append(f"| {column.column} | {column.method} | {score} | {threshold} | {mark} |")
    more = len(ranked) - 10
    lines += ["", f"({more} more columns; all in `{html_name}`.)" if more > 0 else f"(Details: `{html_name}`.)"]
    return "\n".join(lines) + "\n"
