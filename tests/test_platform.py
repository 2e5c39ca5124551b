"""The shared platform: a team MLflow server on PostgreSQL and S3, started for real on loopback by the test.

PostgreSQL is Debian's (initdb + pg_ctl in a scratch folder), S3 is moto's server mode, and `mlflow server`
runs on them with `--serve-artifacts`. A baked project trains, registers, gates and moves aliases against it,
and a second client sees the result. The static checks of the top-level deploy/ manifests are here too.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.baked import TEMPLATE, VENV, BakedProject, free_port, wait_http

IN_CI = bool(os.environ.get("CI"))
DEPLOY = TEMPLATE / "deploy"
BUCKET = "mlflow-artifacts"
S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


def _unavailable(reason: str) -> None:
    """Skip with the reason on a laptop; in CI (.ci/run installs everything) a missing component fails."""
    (pytest.fail if IN_CI else pytest.skip)(reason)


def _postgres_bin(name: str) -> str | None:
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return shutil.which(name) or (versions[0] if versions else None)


@pytest.fixture(scope="module")
def postgres():
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        _unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    # PostgreSQL refuses to run as root: as root, run it as the `postgres` user Debian's package creates.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    root.chmod(0o755)
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "mlflow", "--auth=trust"], check=True,
                   capture_output=True)  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    start = [*as_user, pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w", "start"]
    subprocess.run(start, check=True, capture_output=True)
    try:
        createdb = _postgres_bin("createdb") or "createdb"
        create = [*as_user, createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow"]
        subprocess.run([*create, "mlflow"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = VENV / "bin" / "moto_server"
    if not server.exists():
        _unavailable("moto's server is not installed (the template's dev group has moto[server])")
    import boto3

    port, log = free_port(), tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as output:
        process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=output, stderr=output)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{endpoint}/moto-api/", process, log)
        client = boto3.client("s3", endpoint_url=endpoint, **{k.lower(): v for k, v in S3_ENV.items() if "KEY" in k},
                              region_name="us-east-1")  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        process.terminate()
        process.wait(timeout=30)


class MlflowServer:
    """`mlflow server` on PostgreSQL and S3; stop() and start() keep the same port, database and bucket."""

    def __init__(self, backend: str, s3_endpoint: str, log: Path):
        self.port, self.log, self.process = free_port(), log, None
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            str(VENV / "bin" / "mlflow"), "server", "--backend-store-uri", backend,
            "--artifacts-destination", f"s3://{BUCKET}/artifacts", "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--allowed-hosts", f"127.0.0.1:{self.port},localhost:{self.port}",
        ]  # fmt: skip
        self.env = {**os.environ, **S3_ENV, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(self.command, stdout=output, stderr=output, env=self.env,
                                            start_new_session=True)  # fmt: skip
        wait_http(f"{self.url}/health", self.process, self.log, timeout=180)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def mlflow_server(postgres, s3, tmp_path_factory):
    server = MlflowServer(postgres, s3[0], tmp_path_factory.mktemp("mlflow") / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def team_project(installed, mlflow_server, tmp_path_factory):
    """A copy of a defaults project whose every make call talks to the team server."""
    project = installed("gitops")
    root = tmp_path_factory.mktemp("team") / "project"
    shutil.copytree(
        project.path, root, symlinks=True, ignore=shutil.ignore_patterns("mlflow.db", "mlartifacts", ".venv")
    )
    return BakedProject(path=root, context=project.context, venv=project.venv)  # the same code, set up once


def _make(project: BakedProject, server: MlflowServer, *targets: str, check: bool = True, **variables: str):
    env = {"MLFLOW_TRACKING_URI": server.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
           "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}  # fmt: skip
    arguments = [f"{key}={value}" for key, value in {"VENV": str(project.venv), **variables}.items()]
    return project.run("make", "--no-print-directory", *targets, *arguments, check=check, **env)


SECOND_CLIENT = """
import json, sys, tempfile
from mlflow import MlflowClient
import pandas as pd
client = MlflowClient(sys.argv[1])
name = sys.argv[2]
versions = client.search_model_versions(f"name='{name}'")
aliases = dict(client.get_registered_model(name).aliases)
production = client.get_model_version_by_alias(name, "production") if "production" in aliases else None
rows = None
if production is not None:
    path = client.download_artifacts(production.run_id, "reference/reference.csv", tempfile.mkdtemp())
    rows = len(pd.read_csv(path))
print(json.dumps({"versions": sorted(v.version for v in versions), "aliases": aliases, "reference_rows": rows}))
"""


def _second_client(server: MlflowServer, name: str) -> dict:
    completed = subprocess.run([str(VENV / "bin" / "python"), "-c", SECOND_CLIENT, server.url, name],
                               capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(completed.stdout)


@pytest.mark.slow
def test_project_trains_registers_gates_and_promotes_against_the_team_server(team_project, mlflow_server, s3):
    project, server = team_project, mlflow_server
    name = project.context["project"]
    _make(project, server, "data", "train", "evaluate", "gate", ARGS="train.trainer.max_epochs=40")
    _make(project, server, "promote", ENV="production")
    seen = _second_client(server, name)
    assert seen["versions"] == ["1"] and seen["aliases"] == {"staging": "1", "production": "1"}
    assert seen["reference_rows"] == 369  # the artifact came back through the server from S3
    stored = s3[1].list_objects_v2(Bucket=BUCKET, Prefix="artifacts/")
    keys = [item["Key"] for item in stored.get("Contents", [])]
    assert any(key.endswith("reference/reference.csv") for key in keys) and any(".pt2" in key for key in keys)

    _make(project, server, "train", "evaluate", "gate", ARGS="train.trainer.max_epochs=40")
    second = json.loads((project.path / "reports" / "gate.json").read_text())
    assert second["contenders"]["champion"]["description"].startswith("version 1 (@production")
    assert _second_client(server, name)["aliases"] == {"staging": "2", "production": "1"}


def _epochs(output: str) -> list[str]:
    """The epoch lines `make train` prints, without their timings."""
    return [line.split(";")[0] for line in output.splitlines() if line.startswith("epoch ")]


@pytest.mark.slow
def test_a_split_kept_on_s3_trains_as_the_same_split_in_a_local_folder(installed, s3, tmp_path):
    """configs/data.yaml `splits_dir: s3://...` (moto's server standing in for the platform's MinIO): `make validate`
    writes the shards and the manifest there, nothing locally, and `make train` streams them from there, epoch for
    epoch as it trains from the local folder."""
    project = installed("gitops")
    root = tmp_path / "project"
    ignored = shutil.ignore_patterns("mlflow.db", "mlartifacts", ".venv", "splits", "reports", "artifacts")
    shutil.copytree(project.path, root, symlinks=True, ignore=ignored)
    copy = BakedProject(path=root, context=project.context, venv=project.venv)
    env = {**S3_ENV, "AWS_ENDPOINT_URL": s3[0], "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
    train = ["make", "--no-print-directory", "data", "validate", "train", "ARGS=train.trainer.max_epochs=3"]
    train.append(f"VENV={project.venv}")
    local = copy.run(*train, **env)
    shutil.rmtree(root / "data" / "splits")
    settings = root / "configs" / "data.yaml"
    prefix = f"s3://{BUCKET}/team/splits"
    settings.write_text(re.sub(r"(?m)^splits_dir: .*$", f"splits_dir: {prefix}", settings.read_text()))
    remote = copy.run(*train, **env)
    assert f"saved the split to {prefix}/" in remote.stdout
    assert not (root / "data" / "splits").exists(), "the split went to S3, not to a local folder"
    stored = s3[1].list_objects_v2(Bucket=BUCKET, Prefix="team/splits/")
    keys = {item["Key"] for item in stored.get("Contents", [])}
    assert "team/splits/manifest.json" in keys
    assert {key.split("/")[2] for key in keys if key.endswith(".parquet")} == {"train", "val", "test"}
    assert _epochs(remote.stdout) == _epochs(local.stdout) and len(_epochs(local.stdout)) == 3


@pytest.mark.slow
def test_server_stopped_mid_run_fails_clearly_and_registers_nothing(team_project, mlflow_server):
    project, server = team_project, mlflow_server
    name = project.context["project"]
    _make(project, server, "train", ARGS="train.trainer.max_epochs=20")
    before = _second_client(server, name)
    server.stop()
    try:
        failed = _make(project, server, "gate", check=False)
    finally:
        server.start()
    assert failed.returncode != 0
    assert f"cannot reach the MLflow tracking server at {server.url}" in failed.stderr, failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr
    assert not (project.path / "reports" / "gate.json").exists()
    assert _second_client(server, name) == before  # no half-registered version, no alias moved


@pytest.mark.slow
def test_compose_file_validates_and_names_only_real_settings():
    compose = DEPLOY / "mlflow" / "compose.yaml"
    subprocess.run([str(VENV / "bin" / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose)],
                   check=True, capture_output=True)  # fmt: skip
    services = yaml.safe_load(compose.read_text())["services"]
    for name, service in services.items():
        if "image" in service:
            image, _, tag = service["image"].rpartition(":")
            assert image and tag and tag != "latest", f"{name}: pin the image tag ({service['image']})"
    flags = {arg.split("=", 1)[0] for arg in services["mlflow"]["command"]}
    help_text = subprocess.run([str(VENV / "bin" / "mlflow"), "server", "--help"], capture_output=True, text=True)
    if help_text.returncode != 0:
        _unavailable("mlflow is not installed in the shared environment")
    known = set(re.findall(r"(--[a-z][a-z-]+)", help_text.stdout))
    assert flags <= known, f"mlflow server has no {flags - known}"
    dockerfile = (DEPLOY / "mlflow" / "Dockerfile").read_text()
    assert "psycopg2" in dockerfile and "boto3" in dockerfile and "USER mlflow" in dockerfile


@pytest.mark.parametrize("folder", ["mlflow/k8s", "training"])
def test_platform_manifests_render_and_validate(folder):
    import kubernetes_validate

    if shutil.which("kubectl") is None:
        _unavailable("kubectl is not installed (apt-get install kubectl)")
    rendered = subprocess.run(["kubectl", "kustomize", str(DEPLOY / folder)], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip
    documents = list(yaml.safe_load_all(rendered))
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, "1.33", strict=True)


def test_argocd_and_runner_files_are_consistent():
    appset = yaml.safe_load((DEPLOY / "argocd" / "applicationset.yaml").read_text())
    project = yaml.safe_load((DEPLOY / "argocd" / "project.yaml").read_text())
    assert appset["kind"] == "ApplicationSet" and project["kind"] == "AppProject"
    assert appset["spec"]["template"]["spec"]["project"] == project["metadata"]["name"]
    git = appset["spec"]["generators"][0]["matrix"]["generators"][1]["git"]
    assert git["directories"] == [{"path": "deploy/overlays/*"}]  # what every baked project has
    namespaces = {destination["namespace"] for destination in project["spec"]["destinations"]}
    assert namespaces == {"*-staging", "*-production"}  # the overlays' `<project>-<env>` namespaces
    runner = yaml.safe_load((DEPLOY / "runners" / "gpu-runner-values.yaml").read_text())
    assert runner["runnerScaleSetName"] and runner["minRunners"] == 0
    assert runner["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_observability_applications_match_what_the_baked_projects_expect(baked):
    """Argo Rollouts, the Prometheus stack and the Pushgateway (deploy/observability): the Prometheus Service the
    canary analysis queries, every namespace's PodMonitors and rules picked up, dashboards found by their label,
    and the drift check's pushed labels kept."""
    if shutil.which("kubectl") is None:
        _unavailable("kubectl is not installed (apt-get install kubectl)")
    rendered = subprocess.run(["kubectl", "kustomize", str(DEPLOY / "observability")], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
    apps = {document["metadata"]["name"]: document for document in yaml.safe_load_all(rendered)}
    assert set(apps) == {"argo-rollouts", "kube-prometheus-stack", "prometheus-pushgateway"}
    assert all(app["kind"] == "Application" and app["metadata"]["namespace"] == "argocd" for app in apps.values())
    stack = apps["kube-prometheus-stack"]["spec"]
    values = stack["source"]["helm"]["valuesObject"]
    served = f"http://{stack['source']['helm']['releaseName']}-prometheus.{stack['destination']['namespace']}.svc:9090"
    serve = yaml.safe_load((baked("defaults").path / "configs" / "serve.yaml").read_text())
    assert serve["production"]["prometheus_url"] == served
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["podMonitorSelectorNilUsesHelmValues"] is False and spec["ruleSelectorNilUsesHelmValues"] is False
    board = yaml.safe_load((baked("defaults").path / "deploy" / "monitoring" / "dashboard.yaml").read_text())
    label = values["grafana"]["sidecar"]["dashboards"]["label"]
    assert board["metadata"]["labels"][label] and values["grafana"]["sidecar"]["dashboards"]["searchNamespace"] == "ALL"
    gateway = apps["prometheus-pushgateway"]["spec"]["source"]["helm"]["valuesObject"]["serviceMonitor"]
    assert gateway == {"enabled": True, "honorLabels": True}
