"""Slow tier: a project baked by plain cookiecutter takes a later template commit (`make template-update`, cruft).

The template's own files are committed into a scratch repository (commit A), and a project is baked from it with the
cookiecutter command and a relative path, as a user would. The user commits, then edits a config and the contract;
the template gains commit B, which changes a file the user did not touch, another part of the contract, and the very
line of the config the user changed. The update must take the first two, keep the user's edits, and report the config
as the one conflict; `make template-check` says behind before and up to date after; the project's fast tests pass.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.baked import VENV, BakedProject, git, scratch_template

pytestmark = pytest.mark.slow

PROJECT = "{{cookiecutter.project}}"
USER_ROWS, TEMPLATE_ROWS = "sample_rows: 3000", "sample_rows: 8000"
EVALUATE_DOC = "# Evaluation on the saved test split."
USER_BOUND, TEMPLATE_DOC = '"le": 60}', "Breast-cancer diagnostic measurements, one row per tumour (updated)."


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}: update this test's edits"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return scratch_template(tmp_path_factory.mktemp("upstream") / "template")


def make(project: BakedProject, *targets: str, **variables: str) -> subprocess.CompletedProcess:
    return project.make(*targets, check=False, **variables)


def test_a_plain_bake_takes_a_template_update_keeping_the_users_edits(template, tmp_path, environments):
    commit_a = git(template, "rev-parse", "HEAD")
    # Baked as a user bakes: the cookiecutter command, the template named by a relative path.
    subprocess.run(
        [str(VENV / "bin" / "cookiecutter"), "--no-input", "--output-dir", str(tmp_path), template.name],
        cwd=template.parent,
        check=True,
        capture_output=True,
    )
    path = tmp_path / "tumor-classifier"
    project = BakedProject(path=path, context=json.loads((path / ".cookiecutter.json").read_text())["cookiecutter"])
    record = json.loads((path / ".cruft.json").read_text())
    assert (record["template"], record["commit"]) == (str(template), commit_a)
    assert record["context"]["cookiecutter"]["package"] == "tumor_classifier"
    assert record["context"]["cookiecutter"]["_template"] == str(template)  # not "template", the path as typed

    project.install(environments)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message", "bake")
    assert make(project, "template-check").returncode == 0

    # The user's edits: a config, and the contract.
    edit(path / "configs/drift.yaml", "sample_rows: 5000", USER_ROWS)
    edit(path / "src/tumor_classifier/schema.py", 'RADIUS = {"ge": 0, "le": 50}', 'RADIUS = {"ge": 0, ' + USER_BOUND)
    git(path, "commit", "--quiet", "--all", "--message", "user: fewer drift rows, a wider radius bound")

    # Commit B: a file the user did not touch, another part of the contract, and the config line the user changed.
    upstream = template / PROJECT
    edit(upstream / "configs/evaluate.yaml", EVALUATE_DOC, f"{EVALUATE_DOC[:-1]}, once per model.")
    edit(
        upstream / "_tasks/tabular-classification/src/{{cookiecutter.package}}/schema.py",
        '"""Breast-cancer diagnostic measurements (scikit-learn\'s bundled Wisconsin table), one row per tumour."""',
        f'"""{TEMPLATE_DOC}"""',
    )
    edit(upstream / "configs/drift.yaml", "sample_rows: 5000", TEMPLATE_ROWS)
    git(template, "commit", "--quiet", "--all", "--message", "B: evaluation note, contract docstring, drift rows")
    commit_b = git(template, "rev-parse", "HEAD")

    behind = make(project, "template-check")
    assert behind.returncode != 0, behind.stdout
    assert "behind: 1 commit(s)" in behind.stdout and "B: evaluation note" in behind.stdout, behind.stdout

    # What the weekly workflow runs (conflicts committed for a person), in a clone of the repository.
    clone = tmp_path / "workflow-clone"
    git(tmp_path, "clone", "--quiet", str(path), str(clone))
    workflow = yaml.safe_load((path / ".github/workflows/template-update.yml").read_text())
    (step,) = [step for step in workflow["jobs"]["update"]["steps"] if "make template-update" in step.get("run", "")]
    bot = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step["run"]],
        cwd=clone,
        env={**os.environ, "VENV": str(project.venv), "TEMPLATE_REF": ""},
        capture_output=True,
        text=True,
    )
    assert bot.returncode == 0, bot.stdout + bot.stderr
    body = (clone / "reports/template-update.md").read_text()
    assert "B: evaluation note" in body and "1 conflict(s)" in body and "`configs/drift.yaml`" in body, body

    updated = make(project, "template-update")
    assert updated.returncode != 0, "a conflict must fail the command"
    listed = updated.stderr.split("conflict(s), lines both you and the template changed:")[1].split("edit the")[0]
    assert listed.split() == ["configs/drift.yaml"], updated.stderr

    # Taken where only the template changed; kept where only the user did; both sides shown where both did.
    assert f"{EVALUATE_DOC[:-1]}, once per model." in (path / "configs/evaluate.yaml").read_text()
    contract = (path / "src/tumor_classifier/schema.py").read_text()
    assert USER_BOUND in contract and TEMPLATE_DOC in contract, contract[:1500]
    config = (path / "configs/drift.yaml").read_text()
    assert "<<<<<<<" in config and USER_ROWS in config and TEMPLATE_ROWS in config, config
    assert json.loads((path / ".cruft.json").read_text())["commit"] == commit_b

    # The user resolves the conflict (keeping their value) and commits; the project is then up to date.
    lines, keep = [], True
    for line in config.splitlines(keepends=True):
        if line.startswith(("<<<<<<<", "=======", ">>>>>>>")):
            keep = not line.startswith("=======")  # ours, not theirs, then the rest of the file
            continue
        if keep:
            lines.append(line)
    (path / "configs/drift.yaml").write_text("".join(lines))
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message", "template update B")
    assert make(project, "template-check").returncode == 0

    # A template commit that changes nothing it bakes (its docs) leaves the project up to date, and untouched.
    (template / "NOTES.md").write_text("Template notes.\n")
    git(template, "add", "NOTES.md")
    git(template, "commit", "--quiet", "--message", "C: notes only")
    again = make(project, "template-update")
    assert again.returncode == 0 and "nothing to take" in again.stdout, again.stdout + again.stderr
    assert git(path, "status", "--porcelain", "--untracked-files=no") == ""

    # The updated project still passes its own fast tests.
    project.make("data")
    project.run_tests("-m", "not slow and not thorough", "-x")
