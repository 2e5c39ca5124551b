"""The BentoML service: in-process, then a real `bentoml serve` on a free port with real HTTP requests."""

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bentoml
import mlflow
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.package }} import config, features, registry
from {{ cookiecutter.package }}.drift import PREDICTION, drift, read_request_log
from {{ cookiecutter.package }}.features import CATEGORIES
from {{ cookiecutter.package }}.gitops import wait_deployed
from {{ cookiecutter.package }}.local_server import call
from {{ cookiecutter.package }}.smoke import smoke
from {{ cookiecutter.package }}.traffic import held_out_records, send

from .cases import CAPPED, LOGGED, MORE_ENDPOINTS, REQUIRED, SHIPPED, check_logged, too_large
from .client import known_answers, post_raw

pytestmark = pytest.mark.slow


def test_bento_is_tagged_with_commit_and_model_version(packaged):
    _, record = packaged
    _, version = record.bento.split(":")
    assert version.endswith(f"-m{record.mlflow_version}")
    assert record.alias == "staging"
    staging = registry.version_with_alias(mlflow.MlflowClient(), registry.model_name(), "staging")
    assert str(staging.version) == record.mlflow_version


def test_bento_image_runs_as_non_root_with_serving_dependencies_only(packaged):
    """What `make containerize` would build, read from the bento: checked without a Docker engine."""
    _, record = packaged
    bento = Path(bentoml.bentos.get(record.bento).path)
    users = re.findall(r"^USER\s+(\S+)", (bento / "env/docker/Dockerfile").read_text(), re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    requirements = (bento / "env/python/requirements.txt").read_text().lower()
    assert "torch==" in requirements and "bentoml==" in requirements
    for training_only in ("lightning", "evidently", "mlflow", "scikit-learn", "matplotlib"):
        assert training_only not in requirements, training_only
    shipped = {path.name for path in (bento / "src").rglob("*.py")}
    assert shipped == SHIPPED


def test_service_class_in_process_matches_the_offline_model(packaged):
    root, _ = packaged
    os.environ[config.SERVE_SETTINGS_ENV] = str(root / "build/bento/{{ cookiecutter.package }}/service.yaml")
    from {{ cookiecutter.package }} import service

    instance = service.PredictionService.inner()
    known = known_answers()
    answers = instance.predict([service.Record(**record) for record in known["records"]])
    np.testing.assert_allclose([list(a.values()) for a in answers], known["expected"], atol=1e-6)


def test_smoke_passes_against_the_served_bento(server):
    assert smoke(server) == []


def test_served_prediction_equals_the_offline_model(server):
    known = known_answers()
    status, body = call(f"{server}/predict", {"records": known["records"]})
    assert status == 200
    served = np.array([list(answer.values()) for answer in json.loads(body)])
    np.testing.assert_allclose(served, known["expected"], atol=1e-5)


CATEGORY = next(iter(CATEGORIES), None)


def _bad(known: dict) -> dict[str, tuple[object, str]]:
    record = known["records"][0]
    first = next(iter(record))  # the field the first feature arrives in
    cases = {
        # a word where a number is due, a number where a text is
        "wrong-type": ({"records": [{**record, first: 12 if isinstance(record[first], str) else "twelve"}]}, first),
        "extra-field": ({"records": [{**record, "patient_name": "x"}]}, "patient_name"),
        "empty-batch": ({"records": []}, "records"),
        "oversized-batch": ({"records": [record] * 1000}, "records"),
        "not-a-list": ({"records": record}, "records"),
    }
    if REQUIRED:
        cases["missing-field"] = ({"records": [{k: v for k, v in record.items() if k != REQUIRED}]}, REQUIRED)
        cases["null-where-required"] = ({"records": [{**record, REQUIRED: None}]}, REQUIRED)
    if CAPPED:
        cases["out-of-range"] = ({"records": [{**record, CAPPED: too_large(record)[CAPPED]}]}, CAPPED)
    if CATEGORY:
        cases["unknown-category"] = ({"records": [{**record, CATEGORY: "not-a-category-of-the-contract"}]}, CATEGORY)
    return cases


CASES = ["missing-field", "null-where-required", "wrong-type", "out-of-range", "unknown-category", "extra-field"]


@pytest.mark.parametrize("case", [*CASES, "empty-batch", "oversized-batch", "not-a-list"])
def test_bad_requests_get_a_4xx_naming_the_field_and_the_service_stays_ready(server, case):
    cases = _bad(known_answers())
    if case not in cases:
        pytest.skip(f"the contract has no field for {case}")
    body, named = cases[case]
    status, text = call(f"{server}/predict", body)
    assert 400 <= status < 500, (status, text)
    assert named in text
    assert call(f"{server}/readyz")[0] == 200


def test_non_json_body_is_a_4xx(server):
    assert 400 <= post_raw(f"{server}/predict", b"{not json", "application/json") < 500
    assert call(f"{server}/readyz")[0] == 200


def test_a_body_not_declared_as_json_is_a_415(server):
    assert post_raw(f"{server}/predict", b"--x--", "multipart/form-data") == 415
    assert call(f"{server}/readyz")[0] == 200


def test_every_request_is_logged_for_the_drift_check(server, packaged):
    root, _ = packaged
    known = known_answers()
    call(f"{server}/predict", {"records": known["records"][:2]})
    log = root / config.load(config.ServeConfig).request_log.path
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) >= 2
    assert set(lines[-1]) == {"time", "model", "features", "prediction"}  # no "traffic": a user's request
    age = datetime.now(UTC) - datetime.fromisoformat(lines[-1]["time"])
    assert timedelta(0) <= age < timedelta(minutes=5), lines[-1]["time"]
    check_logged([lines[-1]["features"]], known["records"][1:2])
    assert lines[-1]["model"] == {"name": registry.model_name(), "version": packaged[1].mlflow_version}


def test_the_checks_own_requests_are_marked_and_left_out_of_drift(server, packaged):
    """What `make smoke` and `make loadtest` send is logged as theirs (X-Traffic), and the drift check skips it."""
    root, _ = packaged
    log = root / config.load(config.ServeConfig).request_log.path
    before, _ = read_request_log(log) if log.exists() else (None, None)
    assert smoke(server) == []  # the smoke check, as `make smoke URL=...` runs it
    status, _ = call(f"{server}/predict", {"records": known_answers()["records"][:3]}, traffic="loadtest")
    assert status == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[-1]["traffic"] == "loadtest" and all(line.get("traffic") == "loadtest" for line in lines[-3:])
    frame, origin = read_request_log(log)
    assert origin["checks"]["loadtest"] >= 3 and origin["checks"]["smoke"] >= len(known_answers()["records"])
    assert before is None or len(frame) == len(before)  # not one of them among the rows drift compares


def test_a_refused_request_is_one_warning_line_not_a_traceback(server, packaged):
    root, _ = packaged
    server_log = root / "serve.log"
    start = server_log.stat().st_size
    record = known_answers()["records"][0]
    assert call(f"{server}/predict", {"records": [{**record, "patient_name": "x"}]})[0] == 400
    deadline, written = time.monotonic() + 10, ""
    while "refused /predict" not in written and time.monotonic() < deadline:
        time.sleep(0.2)
        written = server_log.read_text()[start:]
    refused = [line for line in written.splitlines() if "refused /predict" in line]
    assert len(refused) == 1 and "WARNING" in refused[0] and "patient_name" in refused[0], written
    assert "Traceback" not in written and "ERROR" not in written, written


def test_version_names_the_served_model_for_rollout_checks(server, packaged):
    status, body = call(f"{server}/version")
    assert status == 200
    answer = json.loads(body)
    assert answer == {"model": {"name": registry.model_name(), "version": packaged[1].mlflow_version},
                      "bento": packaged[1].bento}  # fmt: skip
    assert wait_deployed(server, packaged[1].mlflow_version, timeout=5)["bento"] == packaged[1].bento


def _model_samples(url: str) -> dict[tuple[str, tuple], float]:
    """The service's own `model_...` samples on /metrics: {(name, sorted labels): value}."""
    status, body = call(f"{url}/metrics")
    assert status == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body) if family.name.startswith("model_")
            for sample in family.samples}  # fmt: skip


def test_metrics_count_the_models_answers_and_refusals_by_version(server, packaged):
    """/metrics carries the model's own signals (signals.py) per model version: the class mix and the confidence
    of what it answered, the contract's refusals by field; every label value comes from the model or the contract."""
    version = packaged[1].mlflow_version
    known = known_answers()
    before = _model_samples(server)
    status, body = call(f"{server}/predict", {"records": known["records"]})
    assert status == 200
    answers = json.loads(body)
    record = known["records"][0]
    first = next(iter(record))
    wrong = {**record, first: 12 if isinstance(record[first], str) else "twelve"}
    assert call(f"{server}/predict", {"records": [wrong]})[0] == 400
    after = _model_samples(server)

    def grew(name: str, **labels) -> float:
        key = (name, tuple(sorted({"model_version": version, **labels}.items())))
        assert key in after, (key, sorted(after)[:20])
        return after[key] - before.get(key, 0.0)

    picked = [max(answer, key=answer.get) for answer in answers]
    for name in answers[0]:  # every class has a series, at zero when never predicted
        assert grew("model_predictions_total", **{"class": name}) == picked.count(name)
    assert grew("model_confidence_count") == len(answers)
    assert grew("model_confidence_sum") == pytest.approx(sum(max(a.values()) for a in answers), rel=1e-6)
    assert grew("model_refused_total", field=first) == 1
    log = packaged[0] / config.load(config.ServeConfig).request_log.path
    logged = json.loads(log.read_text().splitlines()[-1])["features"]
    numeric = {k for k, v in logged.items() if isinstance(v, int | float) and not isinstance(v, bool) and v == v}
    for column in numeric:  # the request log's numbers, as a sum and a count per column
        assert 0 < grew("model_input_count", column=column) <= len(answers)
    labels = {value for _, pairs in after for key, value in pairs if key != "le"}
    assert labels <= {version, *answers[0], *record, *LOGGED, "request"}, labels - {version, *answers[0], *record}


def test_drift_check_reads_the_served_request_log(server, packaged):
    """Known traffic to the real bento, then the drift check's reader: the same rows, answers and model."""
    root, packaged_record = packaged
    records = held_out_records()[:48]  # a small project may hold fewer
    again = records[:16]
    sent = send(server, records, batch=16)
    answers = json.loads(call(f"{server}/predict", {"records": again})[1])  # logged too
    frame, origin = read_request_log(root / config.load(config.ServeConfig).request_log.path)
    version = packaged_record.mlflow_version
    assert sent == len(records) and origin["model"] == {"name": registry.model_name(), "version": version}
    logged = frame.tail(len(records) + len(again)).reset_index(drop=True)
    check_logged(logged[LOGGED].to_dict("records"), records + again)
    assert list(logged[PREDICTION].tail(len(again))) == [max(answer, key=answer.get) for answer in answers]
    result = drift(root / config.load(config.ServeConfig).request_log.path)
    assert result.reference.version == version
    assert result.current.rows == len(frame)


@pytest.mark.thorough
def test_openapi_fuzzing_finds_no_server_error(server):
    """schemathesis against the running server: at least 500 generated requests, none answered with a 5xx.

    A large input (an image of thousands of values) makes each generated record costly: 100 of them then.
    """
    examples = 500 if features.NUM_INPUTS <= 1024 else 100
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{server}/docs.json",
        "--checks", "not_a_server_error", "--max-examples", str(examples), "--seed", "1",
        "--include-path", "/predict", "--phases", "coverage,fuzzing", "--mode", "all",
        *[argument for path in MORE_ENDPOINTS for argument in ("--include-path", path)],
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-4000:]
    generated = sum(int(n) for n in re.findall(r"(\d+) generated", completed.stdout))
    assert generated >= examples, completed.stdout[-2000:]
