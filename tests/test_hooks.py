"""pre_gen rejects a bad answer with a one-line reason and writes nothing."""

import subprocess

import pytest

from tests.baked import TEMPLATE, VENV


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        pytest.param("project=My_Project", "project 'My_Project'", id="project-not-kebab"),
        pytest.param("package=class", "shadows a Python keyword", id="package-keyword"),
        pytest.param("package=json", "shadows a Python keyword, standard module", id="package-stdlib"),
        pytest.param("package=torch", "dependency", id="package-dependency"),
        pytest.param("package=2fast", "package '2fast'", id="package-digit"),
        pytest.param("github_owner=-bad-", "github_owner '-bad-'", id="owner"),
        pytest.param("gpu_runner_labels=gpu, a b", "label 'a b'", id="runner-label"),
        pytest.param("container_registry=GHCR.io/Me", "container_registry", id="registry-case"),
        pytest.param("mlflow_tracking_uri=./mlruns", "no longer accepts a ./mlruns", id="file-store"),
        pytest.param("retrain_cron=0 3 * *", "needs 5 fields", id="cron-fields"),
        pytest.param("retrain_cron=0 25 * * 1", "hour field '25'", id="cron-range"),
        pytest.param('description=say "hi"', "without double quotes", id="description-quote"),
    ],
)
def test_pre_gen_rejects_bad_answers(tmp_path, answer, reason):
    completed = subprocess.run(
        [str(VENV / "bin" / "cookiecutter"), "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE), answer],
        capture_output=True,
        text=True,
    )
    assert completed.returncode != 0
    errors = [line for line in completed.stderr.splitlines() if line.startswith("ERROR: ")]
    assert errors, completed.stderr
    assert any(reason in error for error in errors), errors
    assert list(tmp_path.iterdir()) == [], "a rejected bake must leave nothing behind"


def test_pre_gen_accepts_the_defaults(tmp_path):
    completed = subprocess.run(
        [str(VENV / "bin" / "cookiecutter"), "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE)],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
