"""Lay the chosen task's files in place, prune what the options leave out, and save the answers for updates."""

import json
import shutil
import subprocess
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")

# One row per rule: (answer, values that keep the paths, paths relative to the project root).
PRUNE = [
    ("open_source_license", {"MIT", "Apache-2.0"}, ["LICENSE"]),
    ("include_notebook", {True}, ["notebooks"]),
]

# Task-specific files live under _tasks/<task>/ with the paths they take in the project: the chosen task's are moved
# into place and the folder is removed, so a project holds nothing of the task it was not baked for.
TASKS = "_tasks"

# Keys that describe this one run of cookiecutter rather than the user's answers.
RUN_ONLY = {"_output_dir", "_repo_dir", "_checkout"}


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


def save_answers(root: Path) -> None:
    """Write a replay file: `cookiecutter --replay-file .cookiecutter.json <template>` bakes the same project."""
    answers = {key: value for key, value in ANSWERS.items() if key not in RUN_ONLY}
    replay = {"cookiecutter": answers, "_cookiecutter": answers}
    (root / ".cookiecutter.json").write_text(json.dumps(replay, indent=2, sort_keys=True) + "\n")


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
    save_answers(project_root)
    init_git(project_root)
