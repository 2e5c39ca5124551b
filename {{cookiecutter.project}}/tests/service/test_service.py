"""The BentoML service: in-process, then a real `bentoml serve` on a free port with real HTTP requests."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import bentoml
import mlflow
import numpy as np
import pytest

from {{ cookiecutter.package }} import config, features, registry
from {{ cookiecutter.package }}.drift import PREDICTION, drift, read_request_log
from {{ cookiecutter.package }}.features import CATEGORIES, {% if cookiecutter.task == "tabular-classification" %}FEATURES, KIND, NULLABLE, bounds, {% else %}MONITORED, inputs, request_model, {% endif %}to_request
from {{ cookiecutter.package }}.gitops import wait_deployed
from {{ cookiecutter.package }}.package import SMOKE
from {{ cookiecutter.package }}.smoke import _call, running_bento, smoke
from {{ cookiecutter.package }}.traffic import held_out_records, send

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(packaged):
    root, _ = packaged
    with running_bento(log=root / "serve.log") as url:  # the project's own helper, as `make smoke` uses it
        yield url


def _known() -> dict:
    return json.loads(SMOKE.read_text())


def test_bento_is_tagged_with_commit_and_model_version(packaged):
    _, record = packaged
    _, version = record["bento"].split(":")
    assert version.endswith(f"-m{record['mlflow_version']}")
    assert record["alias"] == "staging"
    staging = registry.version_with_alias(mlflow.MlflowClient(), registry.model_name(), "staging")
    assert str(staging.version) == record["mlflow_version"]


def test_bento_image_runs_as_non_root_with_serving_dependencies_only(packaged):
    """What `make containerize` would build, read from the bento: checked without a Docker engine."""
    _, record = packaged
    bento = Path(bentoml.bentos.get(record["bento"]).path)
    users = re.findall(r"^USER\s+(\S+)", (bento / "env/docker/Dockerfile").read_text(), re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    requirements = (bento / "env/python/requirements.txt").read_text().lower()
    assert "torch==" in requirements and "bentoml==" in requirements
    for training_only in ("lightning", "evidently", "mlflow", "scikit-learn", "matplotlib"):
        assert training_only not in requirements, training_only
    shipped = {path.name for path in (bento / "src").rglob("*.py")}
    assert shipped == {"__init__.py", "config.py", "features.py", {% if cookiecutter.task == "image-classification" %}"images.py", {% endif %}"schema.py", "service.py"}


def test_service_class_in_process_matches_the_offline_model(packaged):
    root, _ = packaged
    os.environ[config.SERVE_SETTINGS_ENV] = str(root / "build/bento/{{ cookiecutter.package }}/serve.yaml")
    from {{ cookiecutter.package }} import service

    instance = service.Classifier.inner()
    known = _known()
    answers = instance.predict([service.Record(**record) for record in known["records"]])
    np.testing.assert_allclose([list(a.values()) for a in answers], known["expected"], atol=1e-6)


def test_smoke_passes_against_the_served_bento(server):
    assert smoke(server) == []
{%- if cookiecutter.task == "image-classification" %}


def test_an_image_is_taken_as_rows_or_as_one_flat_list(server):
    grid = _known()["records"][0]["pixels"]
    flat = np.asarray(grid).reshape(-1).tolist()
    answers = [_call(f"{server}/predict", {"records": [{"pixels": pixels}]}) for pixels in (grid, flat)]
    assert [status for status, _ in answers] == [200, 200]
    assert json.loads(answers[0][1]) == json.loads(answers[1][1])
    for ragged in (flat[:-1], [*grid[:-1], grid[-1][:-1]], grid[:-1]):  # a value short, a short row, a row short
        status, text = _call(f"{server}/predict", {"records": [{"pixels": ragged}]})
        assert status == 400 and "pixels" in text, (status, text)


def _upload(url: str, content: bytes, filename: str, field: str = "image") -> tuple[int, str]:
    """POST one file as a multipart form, as `curl -F image=@file` does."""
    boundary = "a-boundary-for-the-tests"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_an_uploaded_png_or_jpeg_is_answered_as_its_pixels_are(server, packaged, tmp_path):
    from PIL import Image

    from {{ cookiecutter.package }}.data import load_split

    path = load_split(config.load("data")["splits_dir"], "test")["path"].iloc[0]
    status, body = _upload(f"{server}/predict_image", Path(path).read_bytes(), Path(path).name)
    assert status == 200, body
    answer = json.loads(body)
    _, as_pixels = _call(f"{server}/predict", {"records": [to_request({"path": path})]})
    np.testing.assert_allclose(list(answer.values()), list(json.loads(as_pixels)[0].values()), atol=1e-5)
    jpeg = tmp_path / "image.jpg"
    Image.open(path).convert("RGB").resize((97, 61)).save(jpeg, quality=90)  # another size, colour, JPEG
    status, body = _upload(f"{server}/predict_image", jpeg.read_bytes(), "image.jpg")
    assert status == 200, body
    assert list(json.loads(body)) == list(answer) and abs(sum(json.loads(body).values()) - 1) < 1e-5
    log = packaged[0] / config.load("serve")["request_log"]["path"]
    logged = json.loads(log.read_text().splitlines()[-1])["features"]
    assert set(logged) == set(MONITORED) and (logged["width"], logged["height"]) == (97, 61)


@pytest.mark.parametrize(
    ("content", "field", "status", "named"),
    [
        pytest.param(b"just text, no image", "image", 400, "not a PNG or JPEG", id="not-an-image"),
        pytest.param(b"\x89PNG\r\n\x1a\ntruncated", "image", 400, "not a readable", id="truncated-png"),
        pytest.param(b"\x89PNG", "photo", 400, "image", id="wrong-field"),
    ],
)
def test_a_bad_upload_is_a_4xx_naming_the_problem(server, content, field, status, named):
    answered, text = _upload(f"{server}/predict_image", content, "upload.png", field)
    assert answered == status and named in text, (answered, text)
    assert _call(f"{server}/readyz")[0] == 200


def test_a_malformed_or_oversized_upload_is_a_4xx_not_a_5xx(server, packaged):
    url = f"{server}/predict_image"
    assert _post_raw(url, b"garbage", "multipart/form-data; boundary=xyz") == 400
    assert _post_raw(url, b'{"image": 1}', "application/json") == 415
    limit = config.load("serve")["max_upload_bytes"]
    assert _upload(url, b"\0" * (limit + 100_000), "huge.png")[0] == 413
    assert _call(f"{server}/readyz")[0] == 200
{%- endif %}


def test_served_prediction_equals_the_offline_model(server):
    known = _known()
    status, body = _call(f"{server}/predict", {"records": known["records"]})
    assert status == 200
    served = np.array([list(answer.values()) for answer in json.loads(body)])
    np.testing.assert_allclose(served, known["expected"], atol=1e-5)


{% if cookiecutter.task == "image-classification" -%}
REQUIRED = CAPPED = "pixels"  # the one field of an image record


def _too_large(record: dict) -> dict:
    return {"pixels": (np.asarray(record["pixels"]) * 0 + 999).tolist()}  # every grey level far above 255

{% else -%}
REQUIRED = next((name for name in FEATURES if name not in NULLABLE), None)  # a field that may not be left out
CAPPED = next((name for name in FEATURES if KIND[name] == "number" and bounds(name)[1] is not None), None)
{%- endif %}
CATEGORY = next(iter(CATEGORIES), None)
{%- if cookiecutter.task == "tabular-classification" %}


def _too_large(record: dict) -> dict:
    return to_request({name: bounds(name)[1] * 10 + 999 if name == CAPPED else 0.0 for name in FEATURES})
{%- endif %}


def _bad(known: dict) -> dict[str, tuple[object, str]]:
    record = known["records"][0]
    first = next(iter(record))  # the field the first feature arrives in
    cases = {
        "wrong-type": ({"records": [{**record, first: "twelve"}]}, first),
        "extra-field": ({"records": [{**record, "patient_name": "x"}]}, "patient_name"),
        "empty-batch": ({"records": []}, "records"),
        "oversized-batch": ({"records": [record] * 1000}, "records"),
        "not-a-list": ({"records": record}, "records"),
    }
    if REQUIRED:
        cases["missing-field"] = ({"records": [{k: v for k, v in record.items() if k != REQUIRED}]}, REQUIRED)
        cases["null-where-required"] = ({"records": [{**record, REQUIRED: None}]}, REQUIRED)
    if CAPPED:
        cases["out-of-range"] = ({"records": [{**record, CAPPED: _too_large(record)[CAPPED]}]}, CAPPED)
    if CATEGORY:
        cases["unknown-category"] = ({"records": [{**record, CATEGORY: "not-a-category-of-the-contract"}]}, CATEGORY)
    return cases


CASES = ["missing-field", "null-where-required", "wrong-type", "out-of-range", "unknown-category", "extra-field"]


@pytest.mark.parametrize("case", [*CASES, "empty-batch", "oversized-batch", "not-a-list"])
def test_bad_requests_get_a_4xx_naming_the_field_and_the_service_stays_ready(server, case):
    cases = _bad(_known())
    if case not in cases:
        pytest.skip(f"the contract has no field for {case}")
    body, named = cases[case]
    status, text = _call(f"{server}/predict", body)
    assert 400 <= status < 500, (status, text)
    assert named in text
    assert _call(f"{server}/readyz")[0] == 200
{%- if cookiecutter.task == "tabular-classification" %}


def test_a_raw_row_with_missing_values_is_answered(server):
    """null (or no field) where the contract lets a column be missing: answered, like any other row."""
    record = _known()["records"][0]
    blank = {**record, **dict.fromkeys(NULLABLE)}
    omitted = {name: value for name, value in record.items() if name not in NULLABLE}
    status, body = _call(f"{server}/predict", {"records": [blank, omitted]})
    assert status == 200, body
    first, second = json.loads(body)
    assert list(first) == list(second) and abs(sum(first.values()) - 1) < 1e-5
    np.testing.assert_allclose(list(first.values()), list(second.values()), atol=1e-6)
{%- endif %}


def _post_raw(url: str, data: bytes, content_type: str) -> int:
    """POST bytes as they are (the smoke helper always sends valid JSON); returns the HTTP status."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_non_json_body_is_a_4xx(server):
    assert 400 <= _post_raw(f"{server}/predict", b"{not json", "application/json") < 500
    assert _call(f"{server}/readyz")[0] == 200


def test_a_body_not_declared_as_json_is_a_415(server):
    assert _post_raw(f"{server}/predict", b"--x--", "multipart/form-data") == 415
    assert _call(f"{server}/readyz")[0] == 200


def test_every_request_is_logged_for_the_drift_check(server, packaged):
    root, _ = packaged
    known = _known()
    _call(f"{server}/predict", {"records": known["records"][:2]})
    log = root / config.load("serve")["request_log"]["path"]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) >= 2
    assert set(lines[-1]) == {"model", "features", "prediction"}
{%- if cookiecutter.task == "image-classification" %}
    # The image's statistics, not the image: what the drift check compares.
    expected = inputs([request_model()(**known["records"][1])])[1][0]
    assert lines[-1]["features"] == pytest.approx(expected)
{%- else %}
    assert list(lines[-1]["features"]) == FEATURES  # by the contract's names, whatever shape was sent
    assert to_request(lines[-1]["features"]) == known["records"][1]
{%- endif %}
    assert lines[-1]["model"] == {"name": registry.model_name(), "version": packaged[1]["mlflow_version"]}


def test_version_names_the_served_model_for_rollout_checks(server, packaged):
    status, body = _call(f"{server}/version")
    assert status == 200
    answer = json.loads(body)
    assert answer == {"model": {"name": registry.model_name(), "version": packaged[1]["mlflow_version"]},
                      "bento": packaged[1]["bento"]}  # fmt: skip
    assert wait_deployed(server, packaged[1]["mlflow_version"], timeout=5)["bento"] == packaged[1]["bento"]


def test_drift_check_reads_the_served_request_log(server, packaged):
    """Known traffic to the real bento, then the drift check's reader: the same rows, answers and model."""
    root, packaged_record = packaged
    records = held_out_records()[:48]
    sent = send(server, records, batch=16)
    answers = json.loads(_call(f"{server}/predict", {"records": records[:16]})[1])  # logged too: 64 rows in all
    frame, origin = read_request_log(root / config.load("serve")["request_log"]["path"])
    version = packaged_record["mlflow_version"]
    assert sent == 48 and origin["model"] == {"name": registry.model_name(), "version": version}
    logged = frame.tail(64).reset_index(drop=True)
{%- if cookiecutter.task == "image-classification" %}
    expected = inputs([request_model()(**record) for record in records + records[:16]])[1]
    assert logged[list(MONITORED)].to_dict("records") == [pytest.approx(row) for row in expected]
{%- else %}
    assert [to_request(row) for row in logged[FEATURES].to_dict("records")] == records + records[:16]
{%- endif %}
    assert list(logged[PREDICTION].tail(16)) == [max(answer, key=answer.get) for answer in answers]
    result = drift(root / config.load("serve")["request_log"]["path"])
    assert result["reference"]["version"] == version
    assert result["current"]["rows"] == len(frame)


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
{%- if cookiecutter.task == "image-classification" %}
        "--include-path", "/predict_image",
{%- endif %}
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-4000:]
    generated = sum(int(n) for n in re.findall(r"(\d+) generated", completed.stdout))
    assert generated >= examples, completed.stdout[-2000:]
