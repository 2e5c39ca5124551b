"""Drift checks against the training reference: no false alarms on unchanged data, drift on shifted data."""

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.package }} import config, registry
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.data import load_split
from {{ cookiecutter.package }}.drift import (
    DRIFT,
    INVALID,
    NO_DRIFT,
    PREDICTION,
    REFERENCE_ARTIFACT,
    compare,
    drift,
    drifted_names,
    reference_for,
    report_paths,
    summarise,
    with_predictions,
)
from {{ cookiecutter.package }}.evaluate import load_model
from {{ cookiecutter.package }}.features import CLASS_NAMES, FEATURES, MONITORED
from {{ cookiecutter.package }}.plugin import TASK
from {{ cookiecutter.package }}.results import DriftResult
from {{ cookiecutter.package }}.retrain import decide
from {{ cookiecutter.package }}.schema import LABEL
from {{ cookiecutter.package }}.validate import read_table, validate_frame

from .cases import INVALID_DATA, SHIFT_ALL_ROWS, SHIFTED, shift, write

pytestmark = pytest.mark.slow


# Random reference/current partitions of one table: every alarm is a false one. Ten keep the test quick and still
# tell the configured threshold (about 5% false alarms, measured over 40 in `make bench-drift`) from an uncorrected
# one (over 50%): at most 2 of 10.
SEEDS, MOST_ALARMS = 10, 2


@pytest.fixture(scope="module")
def staging(trained):
    return registry.version_with_alias(mlflow.MlflowClient(), registry.model_name(), "staging")


@pytest.fixture(scope="module")
def held_out(trained) -> pd.DataFrame:
    """Rows the model never trained on: the same distribution as its reference."""
    splits_dir = config.load(config.DataConfig).splits_dir
    return pd.concat([load_split(splits_dir, name) for name in ("val", "test")], ignore_index=True)


def _reports() -> tuple[Path, Path, Path, Path]:
    return report_paths(config.load(config.DriftConfig))


def test_the_reference_travels_with_the_model_version(staging):
    reference = reference_for(staging)
    splits_dir = config.load(config.DataConfig).splits_dir
    train, sampled = load_split(splits_dir, "train"), load_split(splits_dir, TASK.reference_split)
    encoder = load_model(f"models:/{staging.name}/{staging.version}").encoder  # None: a task without one
    assert sorted(reference.columns) == sorted([*TASK.loggable(train.head(1), encoder).columns, LABEL, PREDICTION])
    assert len(reference) == min(len(sampled), config.load(config.DriftConfig).reference_rows)  # a sample, or all
    assert set(reference[PREDICTION]) <= set(CLASS_NAMES)
    artifacts = [item.path for item in mlflow.MlflowClient().list_artifacts(staging.run_id, "reference")]
    assert artifacts == [REFERENCE_ARTIFACT]


@pytest.mark.thorough
def test_false_positive_rate_on_unchanged_data_is_bounded(trained, staging):
    """The configured per-column threshold (Bonferroni over the columns) keeps false alarms near 5% or below."""
    model = load_model(f"models:/{staging.name}/{staging.version}")
    raw = config.load(config.DataConfig).raw
    table = with_predictions(validate_frame(read_table(raw), raw), model)
    drift_cfg = config.load(config.DriftConfig)
    alarms, size = [], min(200, len(table) // 3)  # a small adopted sample: a third of it as current data
    for seed in range(SEEDS):
        shuffled = table.sample(frac=1, random_state=seed)
        reference, current = shuffled.iloc[:-size], shuffled.iloc[-size:]
        result = summarise(compare(current, reference, drift_cfg, model.encoder))
        alarms.append(result["drift"])
    print(f"false alarms: {sum(alarms)} of {SEEDS} partitions")
    assert sum(alarms) <= MOST_ALARMS, f"{sum(alarms)} of {SEEDS} unchanged partitions were called drift"


def test_held_out_data_shows_no_drift(held_out):
    assert main(["drift", write(held_out[FEATURES], "held_out"), "--alias", "staging"]) == NO_DRIFT
    result = DriftResult.read(config.load(config.DriftConfig).result_file, "`make drift` wrote no result")
    assert result.drift is False and result.current.rows == len(held_out)
    assert result.reference.version == "1" and not result.current.labelled


@pytest.mark.skipif(not SHIFTED, reason="the contract has no number column to shift")
def test_a_shift_in_one_monitored_column_is_drift_in_that_column(held_out):
    train = load_split(config.load(config.DataConfig).splits_dir, "train")
    rows = pd.concat([held_out, train]) if SHIFT_ALL_ROWS else held_out
    shifted = write(shift(rows[FEATURES].copy()), "shifted")
    assert main(["drift", shifted, "--alias", "staging"]) == DRIFT
    result = drift(shifted, alias="staging")
    drifted = drifted_names(result)
    assert [name for name in drifted if name != PREDICTION] == SHIFTED  # the model's answers may move too
    assert SHIFTED[0] in _reports()[2].read_text()
    # ... and the verdict as Prometheus metrics, for the alert and the dashboard (docs/monitoring.md)
    samples = {(sample.name, sample.labels.get("column")): sample for family
               in text_string_to_metric_families(_reports()[3].read_text()) for sample in family.samples}  # fmt: skip
    assert samples[("model_drift_detected", None)].value == 1
    assert samples[("model_drift_share", None)].value == pytest.approx(result.drift_share.share)
    assert samples[("model_drift_share", None)].labels["model_version"] == result.reference.version
    assert {column for (name, column), sample in samples.items()
            if name == "model_drift_column_drifted" and sample.value == 1} == set(drifted)  # fmt: skip


def test_a_changed_class_balance_is_drift_in_label_and_prediction(staging, held_out):
    """Current data of one class only, among the rows the model also puts in that class: the label's and the
    prediction's shares both move to 1. The class is the one the reference holds least of (of those the model gets
    right at least once), and the rows are drawn with replacement up to a size where such a move is detectable."""
    model = load_model(f"models:/{staging.name}/{staging.version}")
    rows = with_predictions(held_out, model)
    right = rows[rows[LABEL].astype(str) == rows[PREDICTION]]
    if right.empty:
        pytest.skip("the model gets no held-out row right: no class whose rows it also predicts")
    reference = reference_for(staging)
    share = {name: max((reference[column].astype(str) == name).mean() for column in (LABEL, PREDICTION))
             for name in right[PREDICTION].unique()}  # fmt: skip
    chosen = min(share, key=share.get)
    skewed = right[right[PREDICTION] == chosen].sample(n=1000, replace=True, random_state=0).drop(columns=PREDICTION)
    result = drift(write(skewed, "skewed"), alias="staging")
    assert result.drift and result.current.labelled
    assert {LABEL, PREDICTION} <= set(drifted_names(result)), (chosen, share[chosen], drifted_names(result))


@pytest.mark.parametrize(("change", "expected", "labelled"), INVALID_DATA)
def test_invalid_current_data_is_refused_before_any_drift_check(held_out, change, expected, labelled, capsys):
    path = write(change(held_out[[*FEATURES, *([LABEL] if labelled else [])]].copy()), "broken")
    assert main(["drift", path, "--alias", "staging"]) == INVALID
    message = capsys.readouterr().err
    assert path in message and expected in message
    assert not any(report.exists() for report in _reports())  # no earlier verdict left to be misread


def test_a_broken_request_log_line_is_named(trained, capsys):
    log = trained / "logs/broken.jsonl"
    log.parent.mkdir(exist_ok=True)
    log.write_text('{"model": {"name": "m", "version": "1"}, "features": {}, "prediction": {"a": 1}}\nnot json\n')
    assert main(["drift", str(log)]) == INVALID
    assert f"{log}:2" in capsys.readouterr().err


def test_missing_current_file_is_an_error_not_a_verdict(trained, capsys):
    assert main(["drift", "data/nowhere.csv"]) == 2
    assert "data/nowhere.csv: no such file" in capsys.readouterr().err


def _result(drifted: bool, rows: int) -> DriftResult:
    def column(name: str, drifted: bool) -> dict:
        return {"column": name, "method": "ks", "score": 0.0 if drifted else 0.5, "threshold": 0.01, "drifted": drifted}

    share = {"drifted_columns": int(drifted), "share": 1.0 if drifted else 0.0, "threshold": 0.5, "drifted": drifted}
    return DriftResult.model_validate(
        {
            "checked_at": "2026-01-01T00:00:00+00:00",
            "drift": drifted,
            "current": {"source": "current.csv", "rows": rows, "checked_rows": rows, "labelled": False},
            "reference": {"model": "model", "version": "3", "run_id": "run", "rows": 100},
            "drift_share": share,
            "columns": [column(next(iter(MONITORED)), drifted)],
            "prediction": column(PREDICTION, False),
        }
    )


@pytest.mark.parametrize(
    ("drifted", "rows", "age_days", "retrain", "reason"),
    [
        (True, 500, 1, True, f"drift in {next(iter(MONITORED))} over 500 new rows"),
        (True, 50, 1, False, "too few to retrain on"),
        (False, 500, 45, True, "scheduled refresh"),
        (True, 50, 45, True, "scheduled refresh"),
        (False, 500, 1, False, "no drift over 500 new rows"),
    ],
)
def test_retrain_decision(drifted, rows, age_days, retrain, reason):
    settings = config.RetrainConfig(min_new_rows=200, max_champion_age_days=30, result_file="reports/retrain.json")
    decision, why = decide(_result(drifted, rows), age_days, settings)
    assert decision is retrain and reason in why


def test_retrain_check_reads_the_drift_result_and_writes_the_workflow_output(held_out, tmp_path, monkeypatch, capsys):
    drift(write(held_out[FEATURES], "held_out"), alias="staging")
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert main(["retrain-check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "retrain=no"
    assert lines[1].startswith(f"reason=no drift over {len(held_out)} new rows; version 1 is 0.0")
    assert outputs.read_text().splitlines() == lines


def test_retrain_check_without_a_drift_result_says_what_to_run(trained, capsys):
    for path in _reports():
        path.unlink(missing_ok=True)
    assert main(["retrain-check"]) == 2
    assert "Run `make drift CURRENT=...` first" in capsys.readouterr().err
