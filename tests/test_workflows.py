"""Slow tier: the baked workflows' steps, run locally in order: CI on a pull request, CD's GitOps, the retrain.

What needs GitHub (actions, environments, the registry push) is replaced by the same make targets run here: the
bump and revert commits are real git operations pushed to a scratch bare repository, and the rendered overlays
are what Argo CD would apply.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.baked import BakedProject

pytestmark = pytest.mark.slow

COVERED_ELSEWHERE = {"make test"}  # the project's own tests: test_slow.py::test_project_tests_pass runs them
LOCAL_SETUP = "./.github/actions/setup"
UV_CACHE = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")  # shared, as a runner's may be
TORCH_MIRROR = Path.home() / ".cache" / "torch-cpu-index"  # `make setup` writes it from PIP_FIND_LINKS (Makefile)


def _steps(project: BakedProject, workflow: str, job: str) -> list[dict]:
    document = yaml.safe_load((project.path / ".github" / "workflows" / workflow).read_text())
    return document["jobs"][job]["steps"]


class Job:
    """One job on a runner: its own RUNNER_TEMP (empty, as GitHub leaves it); on a persistent runner, a home folder."""

    def __init__(self, root: Path, home: Path | None = None):
        self.temp = root / "runner-temp"
        self.temp.mkdir(parents=True)
        self.env = {"RUNNER_TEMP": str(self.temp)}
        if home is not None:  # a persistent runner's home folder; BentoML's default store is in it
            self.env |= {"HOME": str(home), "UV_CACHE_DIR": UV_CACHE}
            if TORCH_MIRROR.is_dir():  # uv.lock names the torch index a wheel folder made here by its path
                self.env["TORCH_CPU_INDEX"] = TORCH_MIRROR.as_uri()

    def steps(self, project: BakedProject, step: dict) -> list[tuple[str, dict]]:
        """A workflow step's commands: its `run:`, or the composite action's `run:` steps in order."""
        if step.get("uses") != LOCAL_SETUP:
            return [(step["run"], {})] if "run" in step else []
        action = yaml.safe_load((project.path / LOCAL_SETUP / "action.yml").read_text())
        torch = step.get("with", {}).get("torch", action["inputs"]["torch"]["default"])
        return [(inner["run"], {**inner.get("env", {}), "TORCH": torch}) for inner in action["runs"]["steps"]
                if "run" in inner]  # fmt: skip

    def run(self, project: BakedProject, command: str, **env: str) -> subprocess.CompletedProcess:
        """A step as the runner runs it: no BENTOML_HOME unless the step sets one (BakedProject.run would)."""
        environment = {**os.environ, **self.env, "VENV": str(project.venv), **env}
        if "BENTOML_HOME" not in env:
            environment.pop("BENTOML_HOME", None)
        command = ["bash", "-c", command]
        return subprocess.run(command, cwd=project.path, env=environment, capture_output=True, text=True, timeout=900)


def _run_ci_steps(project: BakedProject, tmp_path) -> dict[str, object]:
    """Each `run:` step of ci.yml in order, honouring its `if:` as GitHub would; returns outcomes and output."""
    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    job = Job(tmp_path / "job")
    outcomes, results, failed = {}, {}, False
    for step in _steps(project, "ci.yml", "test"):
        condition = step.get("if", "")
        if "steps.gate.outcome == 'success'" in condition:
            wanted = outcomes.get("gate") == "success"
        elif "!cancelled()" in condition:
            wanted = True
        else:
            wanted = not failed  # a step without `if:` runs only while every step before it succeeded
        for run, env in job.steps(project, step):
            if not wanted or run in COVERED_ELSEWHERE:
                continue
            completed = job.run(project, run, GITHUB_STEP_SUMMARY=str(summary), **env)
            results[run] = completed
            if step.get("id"):
                outcomes[step["id"]] = "success" if completed.returncode == 0 else "failure"
            if completed.returncode != 0 and step.get("id") != "gate":
                raise AssertionError(
                    f"ci.yml step `{run}` failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
                )
            failed = failed or completed.returncode != 0
    return {"outcomes": outcomes, "results": results, "summary": summary.read_text()}


def test_ci_workflow_steps_pass_in_order_and_a_sabotaged_model_fails_the_gate(installed, tmp_path):
    project = installed("gitops")
    (tmp_path / "good").mkdir()
    passed = _run_ci_steps(project, tmp_path / "good")
    assert passed["outcomes"] == {"gate": "success"}
    assert "Model gate PASSED" in passed["summary"] and "Dry run (pull request)" in passed["summary"]
    sticky = next(step for step in _steps(project, "ci.yml", "test") if "sticky" in step.get("uses", ""))
    assert (project.path / sticky["with"]["path"]).is_file()
    bento = json.loads((project.path / "artifacts" / "bento.json").read_text())
    assert bento["mlflow_version"] == "unregistered" and bento["source"].startswith("run ")

    # A pull request that breaks the model: a weight decay that drives every weight to zero.
    model_config = project.path / "configs" / "model.yaml"
    original = model_config.read_text()
    model_config.write_text(original.replace("weight_decay: 0.001", "weight_decay: 1000.0"))
    try:
        (tmp_path / "bad").mkdir()
        failed = _run_ci_steps(project, tmp_path / "bad")
    finally:
        model_config.write_text(original)
    assert failed["outcomes"] == {"gate": "failure"}
    gate_run = failed["results"]["make gate DRY_RUN=yes"]
    assert "gate FAILED (floor" in gate_run.stderr
    assert "Model gate FAILED" in failed["summary"]
    assert not any(run.startswith("make package") for run in failed["results"]), "the bento step must not run"


@pytest.fixture
def scratch_repo(installed, tmp_path):
    """A copy of the defaults project with a first commit, pushed to a bare `origin`: real git, no GitHub."""
    project = installed("gitops")
    root = tmp_path / "repo"
    built = project.path / "artifacts" / "bento.json"
    if not (built.is_file() and json.loads(built.read_text())["alias"] == "staging"):
        project.make("pipeline")  # @staging and its bento, made once in the project and copied to each test
    shutil.copytree(project.path, root, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
    copy = BakedProject(path=root, context=project.context, venv=project.venv)  # the same code, set up once
    copy.run("git", "commit", "--quiet", "-m", "first commit", "--author", "Dev <dev@example.com>")
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(tmp_path / "origin.git")], check=True)
    copy.run("git", "remote", "add", "origin", str(tmp_path / "origin.git"))
    copy.run("git", "push", "--quiet", "origin", "HEAD:main")
    return copy, tmp_path / "origin.git"


def _origin_head(origin) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(origin), "log", "-1", "--format=%s", "main"], capture_output=True, text=True
    ).stdout.strip()


def _rendered(project: BakedProject, environment: str) -> tuple[str, str]:
    rendered = project.run("kubectl", "kustomize", f"deploy/overlays/{environment}").stdout
    deployment = next(doc for doc in yaml.safe_load_all(rendered) if doc["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    return template["spec"]["containers"][0]["image"], template["metadata"]["labels"]["model-version"]


def test_cd_gitops_steps_bump_render_and_revert_with_real_commits(scratch_repo, tmp_path):
    project, origin = scratch_repo
    outputs = tmp_path / "github_output"
    project.make("deploy-info", REGISTRY="ghcr.io/acme", GITHUB_OUTPUT=str(outputs))
    info = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    bento = json.loads((project.path / "artifacts" / "bento.json").read_text())
    assert info["image"] == "ghcr.io/acme/" + bento["bento"] and info["model_version"] == bento["mlflow_version"]

    dry = project.run(project.python, "-m", project.package, "publish", "--registry", "ghcr.io/acme",
                      "--dry-run").stdout  # fmt: skip
    assert f"containerize {bento['bento']} --image-tag {info['image']}" in dry and f"docker push {info['image']}" in dry

    project.make("bento-export")
    other_store = tmp_path / "other-bentoml-home"
    project.run("make", "--no-print-directory", "bento-import", f"VENV={project.venv}", BENTOML_HOME=str(other_store))
    listed = project.run(
        str(project.venv / "bin" / "bentoml"), "list", "-o", "json", BENTOML_HOME=str(other_store)
    ).stdout
    assert bento["bento"] in {entry["tag"] for entry in json.loads(listed)}
    # Again into the same store (a re-run job): a no-op. A different bento under that tag: refused, kept as it was.
    again = project.run(
        "make", "--no-print-directory", "bento-import", f"VENV={project.venv}", BENTOML_HOME=str(other_store)
    )
    assert f"bento {bento['bento']} is already in the store, the same file for file" in again.stdout
    stored = other_store / "bentos" / bento["bento"].replace(":", "/") / "bento.yaml"
    stored.write_text(stored.read_text() + "# changed\n")
    different = project.run("make", "--no-print-directory", "bento-import", f"VENV={project.venv}",
                            BENTOML_HOME=str(other_store), check=False)  # fmt: skip
    assert different.returncode != 0 and f"a different bento is already in the store as {bento['bento']}" in (
        different.stderr
    )
    assert stored.read_text().endswith("# changed\n")

    before = _rendered(project, "staging")
    project.make("bump", ENV="staging", IMAGE=info["image"], MODEL_VERSION=info["model_version"], PUSH="yes")
    assert _rendered(project, "staging") == (info["image"], info["model_version"])
    assert _origin_head(origin) == f"deploy(staging): {info['image']}, model version {info['model_version']}"
    assert _rendered(project, "production") == before  # production moves only in its own job
    again = project.make("bump", ENV="staging", IMAGE=info["image"], MODEL_VERSION=info["model_version"])
    assert "no change to commit" in again.stdout

    project.make("rollback", ENV="staging", PUSH="yes")
    assert _rendered(project, "staging") == before
    assert _origin_head(origin).startswith('Revert "deploy(staging):')
    wrong = project.make("bump", ENV="qa", IMAGE=info["image"], MODEL_VERSION="1", check=False)
    assert wrong.returncode != 0 and "deploy/overlays/qa/kustomization.yaml: no such overlay" in wrong.stderr


def test_retrain_steps_pin_the_version_and_cd_releases_it_without_training(scratch_repo, tmp_path):
    project, _ = scratch_repo
    python = project.python
    project.make("promote", ENV="production")
    outputs = tmp_path / "github_output"
    for step in _steps(project, "retrain.yml", "retrain"):
        if step.get("run") == "make scheduled-check":
            project.run("bash", "-c", step["run"], VENV=str(project.venv), GITHUB_OUTPUT=str(outputs))
    decision = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert decision["retrain"] in {"yes", "no"} and decision["reason"]

    staging = json.loads((project.path / "artifacts" / "bento.json").read_text())["mlflow_version"]
    project.make("model-pin", VERSION=staging)
    project.make("retrain-body")
    body = (project.path / "reports" / "retrain-pr.md").read_text()
    assert body.startswith(f"Scheduled retrain: **{decision['reason']}**") and "## Drift check" in body
    assert "Model gate" in body
    assert yaml.safe_load((project.path / "deploy" / "model.yaml").read_text())["version"] == staging

    no_pin = project.run(python, "-m", project.package, "release-pin", check=False)
    assert no_pin.returncode == 3 and "train and gate this commit" in no_pin.stdout
    project.run("git", "commit", "--quiet", "-m", "retrain: pin", "--", "deploy/model.yaml")
    released = project.make("release")
    assert f"version {staging} (pinned by the merged pull request) is now @staging; no training" in released.stdout
    assert "trained: MLflow run" not in released.stdout


def test_cd_jobs_on_one_persistent_runner_keep_their_stores_apart(scratch_repo, tmp_path):
    """cd.yml's build and image jobs, one after the other on one self-hosted runner (one home folder), then the same
    run again: each job's bento store is its own (the Makefile puts it under RUNNER_TEMP), none in the home folder."""
    project, _ = scratch_repo
    home = tmp_path / "home"
    home.mkdir()
    build_steps = {step.get("run") for step in _steps(project, "cd.yml", "build")}
    image_steps = {step.get("run") for step in _steps(project, "cd.yml", "image")}
    assert (
        "make package bento-export" in build_steps and 'make bento-import publish REGISTRY="$REGISTRY"' in image_steps
    )
    setup = next(step for step in _steps(project, "cd.yml", "image") if step.get("uses") == LOCAL_SETUP)
    tag = None
    for attempt in ("run", "re-run"):
        stores = []
        for name, command in (("build", "make package bento-export"), ("image", "make bento-import")):
            job = Job(tmp_path / attempt / name, home)
            for run, env in job.steps(project, setup):
                completed = job.run(project, run, **env)
                assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
            completed = job.run(project, command)  # publish (docker push) is checked as a dry run elsewhere
            assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
            store = job.temp / "bentoml"  # the Makefile's default for BENTOML_HOME in a job
            tag = json.loads((project.path / "artifacts" / "bento.json").read_text())["bento"]
            assert (store / "bentos" / tag.replace(":", "/")).is_dir(), f"{name}: {tag} not in {store}"
            stores.append(store)
        assert f"imported bento {tag}" in completed.stdout, completed.stdout
        assert len(set(stores)) == 2
    assert not (home / "bentoml").exists(), "a job wrote to the runner's shared bento store"
