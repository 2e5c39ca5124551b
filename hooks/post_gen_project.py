"""Lay the chosen task's files in place, prune what the options leave out, and save the answers for updates."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")
# The template's folder and commit (hooks/template_source.py), for the update record.
TEMPLATE_ROOT = {{ template_root() | jsonify }}
TEMPLATE_COMMIT = {{ template_commit() | jsonify }}
TEMPLATE_CHANGES = {{ template_changes() | jsonify }}
# cruft (`make template-update`) bakes the old and the new template commit into scratch folders with these hooks to
# diff them; it sets `_commit`. There the project gets no repository of its own and no record: cruft keeps its own.
UNDER_CRUFT = "_commit" in ANSWERS

# One row per rule: (answer, values that keep the paths, paths relative to the project root).
PRUNE = [
    ("open_source_license", {"MIT", "Apache-2.0"}, ["LICENSE"]),
    ("include_notebook", {True}, ["notebooks"]),
    ("delivery", {"canary", "shadow"}, ["deploy/overlays/production/rollout.yaml",
                                        "deploy/overlays/production/rollout-transform.yaml"]),
    ("delivery", {"shadow"}, ["deploy/overlays/production/shadow.yaml"]),
]

# Task-specific files live under _tasks/<task>/ with the paths they take in the project: the chosen task's are moved
# into place and the folder is removed, so a project holds nothing of the task it was not baked for.
TASKS = "_tasks"

# Keys that describe this one run of cookiecutter (or of cruft) rather than the user's answers.
RUN_ONLY = {"_output_dir", "_repo_dir", "_checkout", "_commit"}
# Never merged by a template update: regenerated after it (the lockfile) or written by the pipeline.
UPDATE_SKIPS = ["uv.lock", "data", "reports"]


def lay_task_files(root: Path) -> None:
    chosen = root / TASKS / ANSWERS["task"]
    for source in sorted(path for path in chosen.rglob("*") if path.is_file()):
        target = root / source.relative_to(chosen)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
    shutil.rmtree(root / TASKS)


def prune(root: Path) -> None:
    for answer, keep, paths in PRUNE:
        if ANSWERS[answer] in keep:
            continue
        for relative in paths:
            path = root / relative
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def write_monitoring(root: Path) -> None:
    """The canary analysis, alerts and dashboard, from the baked configs: the project's own `make monitoring`
    (production.py needs only PyYAML, which cookiecutter brings)."""
    module = root / "src" / ANSWERS["package"] / "production.py"
    subprocess.run([sys.executable, str(module), str(root)], check=True)


def template_source() -> str:
    """The git URL cookiecutter cloned the template from, else the absolute path of the local folder it used."""
    typed = ANSWERS.get("_template", "")
    try:
        from cookiecutter.config import get_user_config
        from cookiecutter.repository import expand_abbreviations, is_repo_url
    except ImportError:  # a hook run by a tool other than cookiecutter: keep what was typed
        return typed or TEMPLATE_ROOT
    expanded = expand_abbreviations(typed, get_user_config()["abbreviations"])  # gh:owner/repo -> a URL
    return re.sub(r"^(git|hg)\+", "", expanded) if is_repo_url(expanded) else TEMPLATE_ROOT


def answers() -> dict:
    kept = {key: value for key, value in ANSWERS.items() if key not in RUN_ONLY}
    # The same source a template update bakes with, so the answers file is the same in both bakes.
    return {**kept, "_template": ANSWERS["_template"] if UNDER_CRUFT else template_source()}


def save_answers(root: Path) -> None:
    """Write a replay file: `cookiecutter --replay-file .cookiecutter.json <template>` bakes the same project."""
    replay = {"cookiecutter": answers(), "_cookiecutter": answers()}
    (root / ".cookiecutter.json").write_text(json.dumps(replay, indent=2, sort_keys=True) + "\n")


def save_update_record(root: Path) -> None:
    """Write .cruft.json as `cruft create` would: the template's source, its commit and the answers, so `make
    template-check` and `make template-update` (cruft) work on a project baked by plain cookiecutter."""
    if not TEMPLATE_COMMIT:
        print(
            f"note: the template at {TEMPLATE_ROOT} is not a git repository of its own, so no .cruft.json was "
            "written and `make template-update` has nothing to compare with: bake from a git clone or URL, or run "
            "`cruft link <template URL>` in the project",
            file=sys.stderr,
        )
        return
    if TEMPLATE_CHANGES:
        print(
            f"note: the template at {TEMPLATE_ROOT} has uncommitted changes to what it bakes; .cruft.json records "
            f"its last commit, {TEMPLATE_COMMIT[:12]}, which lacks them:\n{TEMPLATE_CHANGES}",
            file=sys.stderr,
        )
    record = {
        "template": template_source(),
        "commit": TEMPLATE_COMMIT,
        "checkout": ANSWERS.get("_checkout"),
        "context": {"cookiecutter": {**answers(), "_commit": TEMPLATE_COMMIT}},
        "directory": None,
        "skip": UPDATE_SKIPS,
    }
    # cruft's own layout (indent 2, non-ASCII kept), so its rewrite after an update changes only what changed.
    text = json.dumps(record, ensure_ascii=False, indent=2, separators=(",", ": "))
    (root / ".cruft.json").write_text(text + "\n")


def init_git(root: Path) -> None:
    """GitOps starts with a repository: initialise one and stage the baked files (no commit is made for you)."""
    if (root / ".git").exists() or shutil.which("git") is None:
        return
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=root, check=True)
    subprocess.run(["git", "add", "--all"], cwd=root, check=True)


if __name__ == "__main__":
    project_root = Path.cwd()
    lay_task_files(project_root)
    prune(project_root)
    write_monitoring(project_root)
    save_answers(project_root)
    if not UNDER_CRUFT:
        save_update_record(project_root)
        init_git(project_root)
