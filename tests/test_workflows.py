"""Slow tier: the baked workflows' steps, run locally in order: CI on a pull request, CD's GitOps, the retrain.

What needs GitHub (actions, environments, the registry push) is replaced by the same make targets run here: the
bump and revert commits are real git operations pushed to a scratch bare repository, and the rendered overlays
are what Argo CD would apply.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.baked import BakedProject, call, free_port

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
    gate_run = failed["results"]['make pr-check ARGS="train.trainer.max_epochs=30"']
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
    # the Deployment, or in production the Rollout made from it (delivery: canary or shadow)
    workload = next(doc for doc in yaml.safe_load_all(rendered) if doc["kind"] in {"Deployment", "Rollout"})
    template = workload["spec"]["template"]
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


# --- Before any setting is made: each workflow checks its settings first (`make preflight`) ---

EXPRESSION = re.compile(r"\$\{\{\s*(vars|secrets)\.(\w+)\s*\}\}")
IS_SET = re.compile(r"\$\{\{\s*(vars|secrets)\.(\w+) != ''\s*\}\}")  # whether a setting is made, as "true"
READY = "${{ needs.preflight.outputs.ready == 'true' }}"
# What each workflow names as missing in a repository with no settings made (and the template's placeholder owner).
UNSET = {
    "cd.yml": ["MLFLOW_TRACKING_URI", "STAGING_URL", "PRODUCTION_URL", "ARGOCD_SERVER", "REGISTRY"],
    "retrain.yml": ["MLFLOW_TRACKING_URI"],
    "template-update.yml": [".cruft.json"],  # it names this template's folder, which no runner has
}


def _workflow(project: BakedProject, workflow: str) -> dict:
    return yaml.safe_load((project.path / ".github" / "workflows" / workflow).read_text())


def _job_env(document: dict, job: dict, settings: dict[str, str]) -> dict[str, str]:
    """A job's environment as GitHub gives it: `vars.*` and `secrets.*` from `settings`, empty where not made."""
    env = {**document.get("env", {}), **job.get("env", {})}
    resolved = {key: IS_SET.sub(lambda match: str(bool(settings.get(match[2]))).lower(), str(value))
                for key, value in env.items()}  # fmt: skip
    return {key: EXPRESSION.sub(lambda match: settings.get(match[2], ""), value) for key, value in resolved.items()}


def _run_preflight(project: BakedProject, document: dict, settings: dict[str, str], root: Path) -> dict:
    """The preflight job's steps as a runner runs them, then every other job's fate as GitHub decides it from
    `needs:` and `if:` (a job whose needed job was skipped is skipped): {"fates", "summary", "stdout"}."""
    jobs, job = document["jobs"], Job(root)
    output, summary = root / "github_output", root / "step_summary.md"
    output.write_text("")
    summary.write_text("")
    env = {**_job_env(document, jobs["preflight"], settings), "GITHUB_ACTIONS": "true"}
    env |= {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    printed = ""
    for step in jobs["preflight"]["steps"]:
        for run, step_env in job.steps(project, step):
            completed = job.run(project, run, **env, **step_env)
            assert completed.returncode == 0, f"`{run}` failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
            printed += completed.stdout
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    fates = {"preflight": "success"}
    for name, spec in jobs.items():
        if name == "preflight":
            continue
        needs = [spec["needs"]] if isinstance(spec.get("needs"), str) else spec.get("needs", [])
        if spec.get("if") == READY:
            fates[name] = "runs" if outputs.get("ready") == "true" else "skipped"
        elif "if" in spec:
            raise AssertionError(f"job {name}: `if: {spec['if']}` is not emulated here")
        else:
            fates[name] = "skipped" if any(fates[need] == "skipped" for need in needs) else "runs"
    return {"fates": fates, "summary": summary.read_text(), "stdout": printed}


@pytest.mark.parametrize("workflow", list(UNSET))
def test_with_no_settings_a_workflow_ends_green_at_preflight_naming_what_is_missing(installed, tmp_path, workflow):
    project = installed("gitops")
    before = project.run("git", "status", "--porcelain").stdout, project.run("git", "stash", "list").stdout
    result = _run_preflight(project, _workflow(project, workflow), {}, tmp_path)
    later = {name: fate for name, fate in result["fates"].items() if name != "preflight"}
    assert later and set(later.values()) == {"skipped"}, result["fates"]
    summary = result["summary"]
    assert "skipped" in summary and "Nothing was trained, registered, pushed or committed" in summary, summary
    for name in UNSET[workflow]:
        row = next((line for line in summary.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is not named:\n{summary}"
        assert row.count("|") == 4 and row.split("|")[3].strip(), f"{name}: no place to make it: {row}"
        assert f"::notice title={workflow.removesuffix('.yml')} skipped: {name} missing::" in result["stdout"]
    # Nothing ran but the check: no file of the repository changed, nothing committed.
    assert (project.run("git", "status", "--porcelain").stdout, project.run("git", "stash", "list").stdout) == before


def test_ci_needs_no_settings_and_notes_the_optional_server(installed, tmp_path):
    project = installed("gitops")
    document = _workflow(project, "ci.yml")
    (step,) = [step for step in document["jobs"]["test"]["steps"] if "make preflight" in step.get("run", "")]
    job, summary = Job(tmp_path), tmp_path / "step_summary.md"
    env = _job_env(document, document["jobs"]["test"], {})
    completed = job.run(project, step["run"], GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary), **env)
    assert completed.returncode == 0 and "ci: ready" in completed.stdout, completed.stdout + completed.stderr
    assert "settings in place" in summary.read_text() and "`MLFLOW_TRACKING_URI`" in summary.read_text()


@contextlib.contextmanager
def _mlflow_server(project: BakedProject, root: Path):
    """A real `mlflow server` on loopback with an empty store: a team's tracking server as a fresh repository has."""
    port = free_port()
    command = [
        str(project.venv / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'server.db'}", "--default-artifact-root", str(root / "artifacts"),
        "--allowed-hosts", f"127.0.0.1:{port},localhost:{port}",
    ]  # fmt: skip
    with (root / "server.log").open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while call(f"{url}/health")[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline, (root / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def test_with_settings_on_local_stand_ins_the_workflows_run_their_real_steps(scratch_repo, tmp_path):
    """A team MLflow server (real, on loopback, empty: no champion yet), URLs, a registry of one's own and the
    template's git URL: each workflow's preflight lets its jobs run, and the retrain job's real steps end green
    with the reason it does not retrain. `make doctor` says what the project is connected to."""
    project, _ = scratch_repo
    record = json.loads((project.path / ".cruft.json").read_text())
    (project.path / ".cruft.json").write_text(json.dumps({**record, "template": "https://github.com/acme/template"}))
    with _mlflow_server(project, tmp_path) as server:
        settings = {"MLFLOW_TRACKING_URI": server, "STAGING_URL": "http://127.0.0.1:9", "PRODUCTION_URL": server}
        settings["REGISTRY_PASSWORD"] = "a-registry-token"  # pragma: allowlist secret
        settings["ARGOCD_SERVER"] = "http://127.0.0.1:9"
        settings["ARGOCD_AUTH_TOKEN"] = "an-argocd-token"  # pragma: allowlist secret
        for workflow in UNSET:
            document = _workflow(project, workflow)
            if "REGISTRY" in document.get("env", {}):
                document["env"]["REGISTRY"] = "registry.example.com/acme"  # the user's own, edited in cd.yml
            root = tmp_path / workflow
            result = _run_preflight(project, document, settings, root)
            assert set(result["fates"].values()) == {"success", "runs"}, (workflow, result["fates"], result["stdout"])
            assert "settings in place" in result["summary"]

        # The retrain job, as the runner runs it after the preflight: the real steps against the empty server.
        document = _workflow(project, "retrain.yml")
        job, output = Job(tmp_path / "retrain-job"), tmp_path / "retrain_output"
        output.write_text("")
        env = {**_job_env(document, document["jobs"]["retrain"], settings), "GITHUB_ACTIONS": "true"}
        for step in document["jobs"]["retrain"]["steps"]:
            if "retrain == 'yes'" in step.get("if", ""):
                assert "retrain=yes" not in output.read_text()
                continue
            for run, step_env in job.steps(project, step):
                completed = job.run(project, run, GITHUB_OUTPUT=str(output), **env, **step_env)
                assert completed.returncode == 0, f"`{run}`:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        decided = dict(line.split("=", 1) for line in output.read_text().splitlines())
        assert decided["retrain"] == "no" and "no @production model" in decided["reason"], decided

        doctor = project.run("make", "doctor", f"VENV={project.venv}", MLFLOW_TRACKING_URI=server)
        assert f"{server} (from MLFLOW_TRACKING_URI): answers" in doctor.stdout, doctor.stdout
        assert "no alias yet" in doctor.stdout and "retrain: ready" in doctor.stdout, doctor.stdout
    local = project.make("doctor")  # the project's own sqlite store, after the pipeline the fixture ran
    assert "@staging version" in local.stdout and "bento(s), the newest" in local.stdout, local.stdout
    assert "staging: ghcr.io/your-org/tumor-classifier:unreleased" in local.stdout, local.stdout
    skipped = "cd: would skip for MLFLOW_TRACKING_URI, STAGING_URL, PRODUCTION_URL, ARGOCD_SERVER, REGISTRY ("
    assert skipped in local.stdout, local.stdout
    gone = project.run("make", "doctor", f"VENV={project.venv}", check=False, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    assert gone.returncode != 0 and "does not answer" in gone.stdout + gone.stderr, gone.stdout + gone.stderr
