"""GitOps: what runs in each environment is deploy/overlays/<env>/kustomization.yaml, changed only by commits.

`bump` writes the image tag and model version into an overlay and commits it; `rollback` reverts the last
bump; `history` reads which image and model version each overlay held when, from git; `wait_deployed` polls a
service's /version until it serves the bumped model; `wait_rollout` waits for Argo CD to sync a bump and judge it
(a canary's analysis promotes or aborts it); `pin` records the model version a retrain pull request deploys
(deploy/model.yaml).
"""

import base64
import io
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from . import config, registry
from .config import DriftConfig, GateConfig
from .local_server import call
from .results import GateResult, RetrainDecision

OVERLAYS = Path("deploy/overlays")
PIN = Path("deploy/model.yaml")
# The identity GitHub shows for commits made with the workflow's own token.
BOT = {"GIT_AUTHOR_NAME": "github-actions[bot]", "GIT_COMMITTER_NAME": "github-actions[bot]"}
BOT["GIT_AUTHOR_EMAIL"] = BOT["GIT_COMMITTER_EMAIL"] = "41898282+github-actions[bot]@users.noreply.github.com"


def git(*args: str) -> str:
    environment = {**os.environ, **{key: value for key, value in BOT.items() if key not in os.environ}}
    completed = subprocess.run(["git", *args], capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {completed.stderr.strip() or completed.stdout.strip()}")
    return completed.stdout.strip()


def overlay(environment: str) -> Path:
    path = OVERLAYS / environment / "kustomization.yaml"
    if not path.is_file():
        known = sorted(p.name for p in OVERLAYS.iterdir()) if OVERLAYS.is_dir() else []
        raise FileNotFoundError(f"{path}: no such overlay (environments: {', '.join(known) or 'none'})")
    return path


def push() -> None:
    """Rebase onto the remote branch (another job may have pushed a bump since checkout) and push.

    On GitHub Actions the workflow's token authenticates the push: checkout keeps no credentials on disk.
    """
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    branch = os.environ.get("GITHUB_REF_NAME", branch) if branch == "HEAD" else branch
    auth = []
    if os.environ.get("GITHUB_TOKEN"):
        token = base64.b64encode(f"x-access-token:{os.environ['GITHUB_TOKEN']}".encode()).decode()
        auth = ["-c", f"http.extraheader=AUTHORIZATION: basic {token}"]
    git(*auth, "pull", "--rebase", "origin", branch)
    git(*auth, "push", "origin", f"HEAD:{branch}")


def round_trip() -> YAML:
    """A YAML editor that writes back what it read, byte for byte, where nothing was changed: comments, block
    scalars (a patch's `|-`), quoting and the overlays' indentation (lists indented under their key)."""
    editor = YAML()
    editor.indent(mapping=2, sequence=4, offset=2)
    editor.preserve_quotes = True
    editor.width = 4096  # never fold a long line
    return editor


def bump(environment: str, image: str, model_version: str, commit: bool = True, publish: bool = False) -> str | None:
    """Point an overlay at an image and model version; commit it. Returns the commit, None if nothing changed."""
    path = overlay(environment)
    name, separator, tag = image.rpartition(":")
    if not separator or "/" in tag or not name:
        raise ValueError(f"IMAGE={image!r}: expected <registry>/<name>:<tag>")
    editor = round_trip()
    kustomization = editor.load(path.read_text())
    images = kustomization.get("images") or []
    if len(images) != 1:
        raise ValueError(f"{path}: expected exactly one entry under images:, found {len(images)}")
    labels = [entry for entry in kustomization.get("labels", []) if "model-version" in entry.get("pairs", {})]
    if len(labels) != 1:
        raise ValueError(f"{path}: expected one labels: entry with a model-version pair")
    # Only the two values change: a deploy commit's diff is the image line(s) and the model-version line.
    images[0]["newName"], images[0]["newTag"] = name, tag
    labels[0]["pairs"]["model-version"] = str(model_version)
    written = io.StringIO()
    editor.dump(kustomization, written)
    path.write_text(written.getvalue())
    if not commit:
        return None
    git("add", str(path))
    if not git("diff", "--cached", "--name-only", "--", str(path)):
        return None  # already deployed: no empty commit
    git("commit", "--quiet", "-m", f"deploy({environment}): {image}, model version {model_version}", "--", str(path))
    if publish:
        push()
    return git("rev-parse", "HEAD")


def rollback(environment: str, publish: bool = False) -> str:
    """Revert the last bump of an overlay with a new commit (history is kept; Argo CD syncs the revert)."""
    path = overlay(environment)
    last = git("log", "-n", "1", "--format=%H", f"--grep=^deploy({environment}): ", "--", str(path))
    if not last:
        raise ValueError(f"{path}: no deploy({environment}) commit to revert")
    git("revert", "--no-edit", last)
    if publish:
        push()
    return git("rev-parse", "HEAD")


def history(environment: str) -> list[dict]:
    """What the overlay deployed, oldest first: image, model version, the commit that set them and from when to
    when (None: live now). Read from the overlay's git log; a commit that changed neither value is no new entry."""
    path = overlay(environment)
    log = git("log", "--format=%H %cI", "--", str(path))
    entries: list[dict] = []
    for line in reversed(log.splitlines()):
        commit, when = line.split(" ", 1)
        try:
            kustomization = yaml.safe_load(git("show", f"{commit}:./{path.as_posix()}")) or {}
        except RuntimeError:  # the overlay did not exist at this commit (a rename)
            continue
        images = kustomization.get("images") or [{}]
        pairs = [entry.get("pairs", {}) for entry in kustomization.get("labels", []) if "pairs" in entry]
        image = f"{images[0].get('newName', '?')}:{images[0].get('newTag', '?')}"
        version = str(next((pair["model-version"] for pair in pairs if "model-version" in pair), "?"))
        if entries and (entries[-1]["image"], entries[-1]["model_version"]) == (image, version):
            continue
        if entries:
            entries[-1]["until"] = when
        entries.append({"since": when, "until": None, "image": image, "model_version": version, "commit": commit})
    if not entries:
        raise ValueError(f"{path}: not in git history yet (commit it first)")
    return entries


def served_version(url: str) -> dict | None:
    status, body = call(f"{url.rstrip('/')}/version", timeout=5)
    if status != 200:
        return None
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return None


def wait_deployed(url: str, model_version: str, timeout: float, interval: float = 5) -> dict:
    """Poll GET /version until the service answers with the model version; raise TimeoutError otherwise."""
    deadline, last = time.monotonic() + timeout, None
    while True:
        last = served_version(url)
        if last and str(last.get("model", {}).get("version")) == str(model_version):
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise TimeoutError(
        f"{url} did not serve model version {model_version} within {timeout:.0f} s (last answer: {last}); "
        "check the Argo CD application and the rollout"
    )


ARGOCD_SERVER_ENV, ARGOCD_TOKEN_ENV = "ARGOCD_SERVER", "ARGOCD_AUTH_TOKEN"  # cd.yml: a variable and a secret
APPLICATIONS = Path("deploy/argocd")  # one Argo CD Application per environment


class RolloutFailed(RuntimeError):
    """Argo CD reports the environment Degraded at the bump: the analysis aborted the rollout."""


def application(environment: str) -> str:
    """The Argo CD Application that syncs the environment's overlay."""
    return yaml.safe_load((APPLICATIONS / f"{environment}.yaml").read_text())["metadata"]["name"]


def application_status(server: str, token: str, name: str) -> dict:
    """Argo CD's view of an application (its REST API): sync revision and health."""
    request = urllib.request.Request(f"{server.rstrip('/')}/api/v1/applications/{name}",
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read()).get("status", {})


def _includes(synced: str, revision: str) -> bool:
    """Whether the commit Argo CD synced is the bump or a later commit on top of it."""
    if not synced:
        return False
    if synced.startswith(revision) or revision.startswith(synced):
        return True
    return subprocess.run(["git", "merge-base", "--is-ancestor", revision, synced], capture_output=True).returncode == 0


def wait_rollout(environment: str, revision: str | None = None, timeout: float = 1500, interval: float = 10) -> dict:
    """Wait until Argo CD has synced the bump (`revision`: the overlay's last commit) and calls the environment
    Healthy: for a Rollout, every canary step passed its analysis. Degraded (the analysis aborted the rollout, the
    stable version still serving) raises RolloutFailed at once; no verdict in `timeout` raises TimeoutError."""
    server, token = os.environ.get(ARGOCD_SERVER_ENV), os.environ.get(ARGOCD_TOKEN_ENV)
    if not server or not token:
        raise ValueError(f"{ARGOCD_SERVER_ENV} and {ARGOCD_TOKEN_ENV} must be set: Argo CD's URL and an API token "
                         "(`argocd account generate-token`); `make preflight WORKFLOW=cd` says where")  # fmt: skip
    revision = revision or git("log", "-1", "--format=%H", "--", str(overlay(environment).parent))
    name, deadline = application(environment), time.monotonic() + timeout
    while True:
        status = application_status(server, token, name)
        synced, health = status.get("sync", {}).get("revision", ""), status.get("health", {})
        if _includes(synced, revision):
            state = {"application": name, "revision": synced, "health": health.get("status"), **health}
            if health.get("status") == "Healthy":
                return state
            if health.get("status") == "Degraded":
                raise RolloutFailed(
                    f"{name} is Degraded at {synced[:12]}: {health.get('message') or 'the rollout was aborted'}. The "
                    f"stable version keeps serving; `make rollback ENV={environment}` reverts the bump in git"
                )
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{name}: no verdict on {revision[:12]} within {timeout:.0f} s (Argo CD synced "
                f"{synced[:12] or 'nothing'}, health {health.get('status')}: {health.get('message', '')}); a "
                "Suspended rollout waits for a person"
            )
        time.sleep(interval)


def pin(version: str, reason: str) -> Path:
    """Write deploy/model.yaml: the version a retrain pull request asks CD to deploy."""
    PIN.parent.mkdir(parents=True, exist_ok=True)
    comments = PIN.read_text().splitlines() if PIN.exists() else []
    header = "".join(line + "\n" for line in comments if line.startswith("#"))
    PIN.write_text(header + yaml.safe_dump({"version": str(version), "reason": reason}, sort_keys=False))
    return PIN


def pinned(changed_in_last_commit: bool = True) -> str | None:
    """The pinned version, if deploy/model.yaml names one (and, by default, if the last commit changed it)."""
    if not PIN.is_file():
        return None
    if changed_in_last_commit:
        try:
            if not git("diff", "--name-only", "HEAD~1", "HEAD", "--", str(PIN)):
                return None
        except RuntimeError:  # no parent commit here (a first commit, or a clone with fetch-depth 1)
            return None
    version = (yaml.safe_load(PIN.read_text()) or {}).get("version")
    return None if version is None else str(version)


def pin_from_gate(version: str | None = None, reason: str | None = None) -> tuple[Path, str, str]:
    """`make model-pin`: pin `version` (else the one the last passing gate registered) for `reason` (else the
    scheduled retrain's decision, else "manual"). Returns the file, the version and the reason."""
    gate_file = Path(config.load(GateConfig).result_file)
    retrain_file = Path(config.load(DriftConfig).retrain.result_file)
    registered = GateResult.from_json(gate_file.read_text()).registered_version if gate_file.is_file() else None
    version = version or registered
    if not version:
        raise ValueError(f"no model version to pin: pass VERSION=... or run a passing `make gate` ({gate_file})")
    reason = reason or (
        RetrainDecision.from_json(retrain_file.read_text()).reason if retrain_file.is_file() else "manual"
    )
    return pin(version, reason), str(version), reason


def release_pin() -> str | None:
    """`make release` on a merged retrain pull request: @staging := the pinned version (it passed the gate in the
    pull request, so nothing is trained again). None when the last commit pinned nothing."""
    version = pinned()
    if version is None:
        return None
    registry.move_alias("staging", version)
    return version
