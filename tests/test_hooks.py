"""pre_gen rejects a bad answer with a one-line reason and writes nothing; post_gen records the template for updates."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.baked import TEMPLATE, VENV, git, scratch_template


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        pytest.param("project=My_Project", "project 'My_Project'", id="project-not-kebab"),
        pytest.param("project_name=2 Fast", "(made from project_name '2 Fast')", id="project-name-digit"),
        pytest.param("project_name=JSON", "package 'json' (made from project): shadows", id="derived-package-stdlib"),
        pytest.param("package=class", "shadows a Python keyword", id="package-keyword"),
        pytest.param("package=json", "shadows a Python keyword, standard module", id="package-stdlib"),
        pytest.param("package=torch", "dependency", id="package-dependency"),
        pytest.param("package=2fast", "package '2fast'", id="package-digit"),
        pytest.param("github_owner=-bad-", "github_owner '-bad-'", id="owner"),
        pytest.param("gpu_runner_labels=gpu, a b", "label 'a b'", id="runner-label"),
        pytest.param("container_registry=GHCR.io/Me", "container_registry", id="registry-case"),
        pytest.param("mlflow_tracking_uri=./mlruns", "no longer accepts a ./mlruns", id="file-store"),
        pytest.param("mlflow_tracking_uri=https://ann:hunter2@ml.example.com", "ann:***@ml", id="uri-password"),
        pytest.param("mlflow_tracking_uri=postgresql://ann@db/mlflow", "MLFLOW_TRACKING_USERNAME", id="uri-user"),
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
    assert "hunter2" not in completed.stderr, "a refused password must not be echoed"
    assert any(reason in error for error in errors), errors
    assert list(tmp_path.iterdir()) == [], "a rejected bake must leave nothing behind"


def test_pre_gen_accepts_the_defaults(tmp_path):
    completed = subprocess.run(
        [str(VENV / "bin" / "cookiecutter"), "--no-input", "--output-dir", str(tmp_path), str(TEMPLATE)],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr


def _bake(template: str, output: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    command = [str(VENV / "bin" / "cookiecutter"), "--no-input", "--output-dir", str(output), template]
    return subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True)


def test_a_bake_from_a_git_url_records_the_url_commit_and_answers_for_updates(tmp_path):
    template = scratch_template(tmp_path / "template")
    config = tmp_path / "cookiecutter.yaml"  # cookiecutter clones into cookiecutters_dir: not the home folder
    config.write_text(f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n")
    url = template.as_uri()
    completed = _bake(url, tmp_path / "out", tmp_path, COOKIECUTTER_CONFIG=str(config))
    assert completed.returncode == 0, completed.stderr
    project = tmp_path / "out" / "tumor-classifier"
    record = json.loads((project / ".cruft.json").read_text())
    answers = json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]
    assert (record["template"], record["commit"]) == (url, git(template, "rev-parse", "HEAD"))
    assert answers["_template"] == url and "_commit" not in answers
    assert record["context"]["cookiecutter"] == {**answers, "_commit": record["commit"]}
    assert "uv.lock" in record["skip"]
    assert "note:" not in completed.stderr, completed.stderr  # a clean clone: nothing to warn about


def test_a_bake_from_a_folder_outside_git_writes_no_update_record_and_says_why(tmp_path):
    scratch_template(tmp_path / "template", commit=False)
    completed = _bake("template", tmp_path / "out", tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert not (tmp_path / "out" / "tumor-classifier" / ".cruft.json").exists()
    assert "is not a git repository of its own" in completed.stderr and "cruft link" in completed.stderr
