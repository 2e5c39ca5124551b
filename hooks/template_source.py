"""Where this template was baked from and at which commit: the post-generation hook records both for `cruft`.

A Jinja extension (cookiecutter.json's `_extensions`) because the module's own file is the one absolute path to the
template a bake can rely on: cookiecutter passes `_repo_dir` as the user typed it (`.`, `../template`), and hooks
run in the new project's folder.
"""

import subprocess
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import Extension

# Resolved at import, while the process is still in the folder the user typed a relative template path from. One
# process baking from two templates through cookiecutter's Python API would keep the first one's (a cached import).
ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        completed = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    except OSError:  # no git on this machine
        return ""
    return completed.stdout.rstrip() if completed.returncode == 0 else ""


def template_root() -> str:
    return str(ROOT)


def template_commit() -> str:
    """The commit the template's folder is at ("" where it is not the top of a git repository of its own)."""
    top = _git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != ROOT:  # a copy inside another repository: that one's commits are not ours
        return ""
    return _git("rev-parse", "--verify", "--quiet", "HEAD^{commit}")


def template_changes() -> str:
    """Baked files changed in the template's folder since that commit (uncommitted edits), one per line."""
    return _git("status", "--porcelain", "--", "{{cookiecutter.project}}", "hooks", "cookiecutter.json")


class TemplateSource(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals.update(
            template_root=template_root, template_commit=template_commit, template_changes=template_changes
        )
