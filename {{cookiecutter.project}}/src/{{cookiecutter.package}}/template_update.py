"""Template updates: how far this project is behind the template it was baked from, and cruft's three-way update
that brings the template's changes in and keeps your edits.

The bake wrote the record cruft reads (.cruft.json: the template's source, its commit, your answers). An update bakes
the recorded commit and the new one with those answers, and applies their difference to this repository with
`git apply -3`: a line only the template changed is taken, a line you changed too is a conflict, marked in the file.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RECORD = ".cruft.json"
# Regenerated, never merged: after an update the lock is made again from the merged pyproject.toml.
LOCKFILE = "uv.lock"


@dataclass(frozen=True)
class Pending:
    """What an update would take: the template's commits since the record that change what it bakes."""

    template: str
    since: str  # the recorded commit
    target: str  # the commit the update goes to
    commits: list[str]  # "<short sha> <subject>", newest first


def _git(*args: str, cwd: Path | None = None) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {completed.stderr.strip() or 'failed'}")
    return completed.stdout


def read_record(root: Path) -> dict:
    path = root / RECORD
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no template record. A bake from a git clone or URL writes it; for a project baked otherwise, "
            "run `cruft link <template URL>` and commit the file"
        )
    return json.loads(path.read_text())


def pending(root: Path, ref: str | None = None) -> Pending:
    """Clone the template (no file contents, only history) and list its commits since the record that touch the
    baked project, its hooks or its questions: a commit to the template's docs or tests changes nothing here."""
    record = read_record(root)
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "template"
        try:
            _git("clone", "--quiet", "--bare", "--filter=blob:none", record["template"], str(clone))
        except RuntimeError as error:
            raise RuntimeError(
                f"cannot reach the template {record['template']!r} named in {RECORD} ({error}): "
                "check the URL there, and your access to it"
            ) from None
        target = _git("rev-parse", "--verify", f"{ref or 'HEAD'}^0", cwd=clone).strip()
        since = record["commit"]
        if _git("cat-file", "-t", since, cwd=clone).strip() != "commit":
            raise RuntimeError(f"{RECORD}: commit {since} is not in {record['template']}")
        names = _git("ls-tree", "--name-only", target, cwd=clone).split("\n")
        # The project folder is the one whose name is a template expression; hooks and questions shape it too.
        baked = [name for name in names if name.startswith("{")] + [
            name for name in ("hooks", "cookiecutter.json") if name in names
        ]
        log = _git("log", "--format=%h %s", f"{since}..{target}", "--", *baked, cwd=clone)
    return Pending(record["template"], since, target, log.splitlines())


def check(root: Path, ref: str | None = None) -> int:
    """0: up to date with the template; 1: behind it (printing by which commits)."""
    found = pending(root, ref)
    where = found.template + (f" at {ref}" if ref else "")
    if not found.commits:
        print(f"up to date: {where} has no change to what it bakes since {found.since[:12]}")
        return 0
    print(f"behind: {len(found.commits)} commit(s) of {where} since {found.since[:12]} change what it bakes:")
    for commit in found.commits:
        print(f"  {commit}")
    print("`make template-update` takes them: a three-way merge that keeps your edits")
    return 1


def _unmerged(root: Path) -> list[str]:
    """Files both sides changed: conflict markers left by `git apply -3`, or the hunks it could not place (.rej)."""
    marked = _git("diff", "--name-only", "--diff-filter=U", cwd=root).split()
    rejected = _git("ls-files", "--others", "--exclude-standard", "--", "*.rej", cwd=root).split()
    return sorted(set(marked) | set(rejected))


def update(root: Path, ref: str | None = None, body: Path | None = None, conflicts_ok: bool = False) -> int:
    """Take the template's commits (to `ref`, default its newest): 0 done or nothing to take, 1 conflicts to resolve
    (0 with `conflicts_ok`: a bot commits them, markers and all, for a person to resolve in its pull request)."""
    if importlib.util.find_spec("cruft") is None:
        raise RuntimeError("cruft is not installed in this environment: run `make setup` (it is a dev dependency)")
    changed = _git("status", "--porcelain", "--untracked-files=no", cwd=root).splitlines()
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        files = ", ".join(line[3:] for line in changed[:5]) + more
        raise RuntimeError(f"uncommitted changes ({files}): commit or stash them first, so the update is all git shows")
    found = pending(root, ref)
    if not found.commits:
        # Template commits to its own docs or tests: no reason to touch the project, not even its record.
        print(f"nothing to take: no change to what {found.template} bakes since {found.since[:12]}")
        return 0
    command = [sys.executable, "-m", "cruft", "update", "--skip-apply-ask", "--allow-untracked-files"]
    if subprocess.run([*command, *(["--checkout", ref] if ref else [])], cwd=root, check=False).returncode != 0:
        raise RuntimeError("cruft update failed (its message is above); the project is as it was")
    conflicts = _unmerged(root)
    if "pyproject.toml" in _changed(root) and "pyproject.toml" not in conflicts:
        relock(root)
    taken = _changed(root)
    if body is not None:
        write_body(body, found, taken, conflicts)
    print(f"took {len(found.commits)} template commit(s); changed: {', '.join(taken)}")
    if conflicts:
        print(f"{len(conflicts)} conflict(s), lines both you and the template changed:", file=sys.stderr)
        for path in conflicts:
            print(f"  {path}", file=sys.stderr)
        print(
            "edit the <<<<<<< ======= >>>>>>> markers (or apply the .rej hunks and delete them), `git add` each file, "
            "then `make setup test` and commit",
            file=sys.stderr,
        )
        return 0 if conflicts_ok else 1
    print("review with `git diff --cached`, then `make setup test` and commit")
    return 0


def _changed(root: Path) -> list[str]:
    """Tracked files the update changed or added (your untracked files are not the template's)."""
    changed = _git("status", "--porcelain", "--untracked-files=no", cwd=root).splitlines()
    return sorted({line[3:] for line in changed} | set(_unmerged(root)))


def relock(root: Path) -> None:
    """The template changed pyproject.toml: make uv.lock again from it, keeping every version it still allows."""
    if not (root / LOCKFILE).exists():
        return  # never locked here: `make setup` makes it
    env = {key: value for key, value in os.environ.items() if key != "UV_LOCKED"}  # CI's "the lock must not change"
    subprocess.run([os.environ.get("UV", "uv"), "lock", "--quiet"], cwd=root, env=env, check=True)
    print(f"{LOCKFILE}: made again from the updated pyproject.toml")


def write_body(path: Path, found: Pending, taken: list[str], conflicts: list[str]) -> None:
    """The pull request's body: which template commits, what changed, what needs a person."""
    lines = [
        "## Template update",
        "",
        f"`{found.template}`: {found.since[:12]} → {found.target[:12]}, "
        f"{len(found.commits)} commit(s) that change what it bakes:",
        "",
        *(f"- {commit}" for commit in found.commits),
        "",
    ]
    if conflicts:
        lines += [
            f"### {len(conflicts)} conflict(s) to resolve on this branch before merging",
            "",
            "Both this project and the template changed these lines. Edit the `<<<<<<<` markers (or apply the `.rej`"
            " hunks and delete them), then commit to this branch:",
            "",
            *(f"- `{conflict}`" for conflict in conflicts),
            "",
        ]
    lines += ["### Files changed", "", *(f"- `{file}`" for file in taken), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
