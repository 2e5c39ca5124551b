"""Slow tier: bake, `make setup`, run the project's own tests, lint and pipeline."""

import csv
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import tomllib

import pytest
import yaml

from tests.baked import SLOW, free_port, mermaid_errors, params

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", params(["defaults"]))
def test_project_tests_pass(installed, name):
    """The tabular project's own tests on the bundled table. An image project's run in tests/test_adopt_images.py,
    on adopted colour images: the same tests on data further from the demo's (the table's, on adopted tables, in
    tests/test_zoo.py)."""
    completed = installed(name).make("test", "test-thorough")
    assert re.search(r"passed.*\b3 deselected", completed.stdout), completed.stdout[-2000:]  # the PR's tier
    assert re.search(r"\b3 passed.*deselected", completed.stdout), completed.stdout[-2000:]  # the thorough tier


@pytest.mark.parametrize("name", params(SLOW))
def test_lint_passes_right_after_baking(installed, name):
    project = installed(name)
    project.make("lint")
    assert project.run("git", "diff", "--name-only").stdout == "", "pre-commit changed files right after baking"


@pytest.mark.parametrize("name", params(SLOW))
def test_pipeline_runs_end_to_end_and_meets_the_accuracy_floor(installed, name):
    project = installed(name)
    completed = project.make("pipeline")
    metrics = json.loads((project.path / "reports" / "metrics.json").read_text())
    assert metrics["primary_metric"] == project.context["__primary_metric"]
    assert metrics["metrics"]["accuracy"] >= 0.95, metrics
    assert "accuracy" in completed.stdout and "mlflow.db" in completed.stdout
    # The bento installs the serving subset of uv.lock, every package at its locked version, torch's CPU build.
    name, version = json.loads((project.path / "artifacts" / "bento.json").read_text())["bento"].split(":")
    bento = project.path / ".bentoml-home" / "bentos" / name / version
    lines = (bento / "env" / "python" / "requirements.txt").read_text().splitlines()
    pinned = dict(line.split(";")[0].strip().split("==") for line in lines if "==" in line)
    locked = {}
    for package in tomllib.loads((project.path / "uv.lock").read_text())["package"]:
        locked.setdefault(package["name"], set()).add(package.get("version"))
    assert pinned and all(version in locked[package] for package, version in pinned.items()), (pinned, locked)
    assert pinned["torch"].endswith("+cpu") and {"bentoml", "pandera", "pandas", "pydantic"} <= set(pinned)
    assert not {"lightning", "mlflow", "evidently", "torchmetrics"} & set(pinned), "training-only packages served"


def _pipeline_ran(project) -> bool:
    """The slow tests of one project share a worker, in file order: a model the test before left is reused."""
    gate = project.path / "reports" / "gate.json"
    return (
        (project.path / "artifacts" / "bento.json").is_file()
        and gate.is_file()
        and bool(json.loads(gate.read_text()).get("registered_version"))
    )


def test_second_pipeline_gates_against_the_promoted_first_model(installed):
    project = installed("defaults")
    if not _pipeline_ran(project):
        project.make("pipeline")
    first = json.loads((project.path / "reports" / "gate.json").read_text())
    project.make("promote", ENV="production")
    project.make("pipeline")
    second = json.loads((project.path / "reports" / "gate.json").read_text())
    assert second["verdict"] == "passed"
    champion = second["contenders"]["champion"]["description"]
    assert champion.startswith(f"version {first['registered_version']} (@production")
    assert second["registered_version"] == str(int(first["registered_version"]) + 1)
    summary = (project.path / "reports" / "summary.md").read_text()
    assert "Δ vs champion" in summary and "@staging" in summary
    # The pull-request comment's charts: GitHub draws them with mermaid, so mermaid's parser must take them.
    assert summary.count("```mermaid") == 2 and summary.count("xychart-beta") == 2, summary[-3000:]
    assert mermaid_errors(summary) == []


def test_served_bento_answers_and_loadtest_reports_against_the_slo(installed):
    project = installed("defaults")
    if not _pipeline_ran(project):
        project.make("pipeline")  # ends with package and a smoke test of the served bento
    bento = json.loads((project.path / "artifacts" / "bento.json").read_text())
    assert bento["alias"] == "staging" and bento["bento"].endswith(f"-m{bento['mlflow_version']}")
    port = free_port()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"VENV={project.venv}", f"PORT={port}"],
        cwd=project.path,
        env={"BENTOML_HOME": str(project.path / ".bentoml-home"), **os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        project.run(
            project.python,
            "-c",
            f"""
import subprocess, time, urllib.request
for _ in range(240):
    try:
        urllib.request.urlopen("{url}/readyz", timeout=2); break
    except Exception: time.sleep(0.5)
""",
        )
        project.make("smoke", URL=url)
        completed = project.make("loadtest", URL=url, check=False)
        figures = re.search(r"(\d+) requests .*p99 (\d+) ms \(SLO (\d+) ms\), errors ([\d.]+)%", completed.stdout)
        assert figures, completed.stdout + completed.stderr
        requests, p99, slo = int(figures[1]), int(figures[2]), int(figures[3])
        assert requests > 100
        assert (completed.returncode == 0) == (p99 <= slo and float(figures[4]) <= 1.0), completed.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


# What each task's `make demo-drift` shifts (configs/drift.yaml simulate.shift) and so must find drifted.
SHIFTED = {
    "tabular-classification": "mean_radius, mean_perimeter, mean_area",  # other units
    "image-classification": "brightness, contrast, ink",  # a darker camera: less stands out from the background
}


@pytest.mark.parametrize("name", params(SLOW))
def test_demo_shows_drift_from_served_traffic_and_the_retrain_decision(installed, name):
    project = installed(name)
    if not _pipeline_ran(project):
        project.make("pipeline")
    completed = project.make("demo-drift")
    out = completed.stdout + completed.stderr
    assert re.search(r"traffic-held-out.jsonl: \d+ rows .*\n.*drifted columns: 0", out), out[-3000:]
    shifted = SHIFTED[project.context["task"]]
    assert f"DRIFT in {shifted}" in out
    assert re.search(rf"^retrain=yes\nreason=drift in {shifted}", completed.stdout, re.MULTILINE), completed.stdout
    # The exit codes a workflow branches on, through make: 0 no drift, 1 drift, 3 invalid data.
    assert project.make("drift", CURRENT="logs/traffic-held-out.jsonl", check=False).returncode == 0
    assert project.make("drift", CURRENT="logs/traffic-shifted.jsonl", check=False).returncode != 0
    assert project.run(project.python, "-m", project.package, "drift",
                       "logs/traffic-shifted.jsonl", check=False).returncode == 1  # fmt: skip
    if project.context["task"] == "image-classification":  # current data as a folder, one file no image
        broken = project.path / "data" / "broken"
        broken.mkdir(parents=True, exist_ok=True)
        (broken / "junk.png").write_bytes(b"not an image")
        current, problem, named = "data/broken", "not readable images", "junk.png"
    else:
        raw = project.path / yaml.safe_load((project.path / "configs" / "data.yaml").read_text())["raw"]
        header, first = raw.read_text().splitlines()[:2]
        values = first.split(",")
        values[1] = "-1"  # the second feature, negative: below every contract's minimum
        broken = project.path / "data" / "broken.csv"
        broken.write_text("\n".join([header, ",".join(values)]) + "\n")
        current, problem, named = "data/broken.csv", "breaks the data contract", header.split(",")[1]
    invalid = project.make("drift", CURRENT=current, ALIAS="staging", check=False)
    assert re.search(r"make(\[\d+\])?: \*\*\* \[Makefile", invalid.stderr), invalid.stderr  # make[1] under make
    assert problem in invalid.stderr
    completed = project.run(project.python, "-m", project.package, "drift", current,
                            "--alias", "staging", check=False)  # fmt: skip
    assert completed.returncode == 3 and named in completed.stderr


def _aliases(project) -> list[tuple]:
    with sqlite3.connect(project.path / "mlflow.db") as db:
        return sorted(db.execute("select alias, version from registered_model_aliases").fetchall())


def _runs(project) -> int:
    with sqlite3.connect(project.path / "mlflow.db") as db:
        return db.execute("select count(*) from runs").fetchone()[0]


def test_train_refuses_a_file_that_breaks_the_contract(installed):
    project = installed("defaults")
    if not _pipeline_ran(project):
        project.make("pipeline")  # a trained model and a store to compare against
    raw = project.path / "data" / "raw" / "breast_cancer.csv"
    good = raw.read_text()
    runs_before = _runs(project)
    # Plain csv: the template's environment has no pandas until a baked project installs it.
    rows = list(csv.DictReader(io.StringIO(good)))
    rows[3]["mean_radius"] = "-1.0"
    rows[10]["target"] = ""
    columns = [name for name in rows[0] if name != "worst_area"]
    with raw.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    try:
        completed = project.make("train", check=False)
        assert completed.returncode != 0
        for named in ("breast_cancer.csv", "mean_radius", "target", "worst_area"):
            assert named in completed.stderr, completed.stderr
        assert _runs(project) == runs_before, "no training run may start on invalid data"
    finally:
        raw.write_text(good)


def test_a_pipeline_whose_gate_fails_reports_why_and_packages_nothing(installed):
    project = installed("defaults")
    # Last of this project's tests: it leaves a failed gate's reports, so the ones above reuse their pipeline's.
    if not _pipeline_ran(project):
        project.make("pipeline")
    bento, aliases = (project.path / "artifacts" / "bento.json").read_text(), _aliases(project)
    model_config = project.path / "configs" / "model.yaml"
    original = model_config.read_text()
    model_config.write_text(original.replace("weight_decay: 0.001", "weight_decay: 1000.0"))  # every weight to zero
    try:
        completed = project.make("pipeline", ARGS="train.trainer.max_epochs=3", check=False)
    finally:
        model_config.write_text(original)
    assert completed.returncode != 0 and "gate FAILED (floor" in completed.stderr, completed.stderr[-2000:]
    steps = re.findall(r"^--- (\w+)$", completed.stdout, re.MULTILINE)
    assert steps == ["data", "validate", "train", "evaluate", "gate"], completed.stdout[-2000:]
    summary = (project.path / "reports" / "summary.md").read_text()
    assert summary.startswith("## ❌ Model gate FAILED"), summary[:200]  # written for the pull request, then stopped
    assert (project.path / "artifacts" / "bento.json").read_text() == bento and _aliases(project) == aliases
