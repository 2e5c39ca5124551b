"""GitOps steps on a scratch git repository: a bump is one commit that renders the new image, a rollback reverts it."""

import contextlib
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package }} import gitops
from {{ cookiecutter.package }}.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    shutil.copytree(PROJECT_ROOT / "deploy", tmp_path / "deploy")
    monkeypatch.chdir(tmp_path)
    for command in (["init", "--quiet", "-b", "main"], ["add", "deploy"], ["commit", "--quiet", "-m", "first"]):
        gitops.git(*command)
    return tmp_path


def _overlay(environment: str) -> dict:
    return yaml.safe_load((gitops.OVERLAYS / environment / "kustomization.yaml").read_text())


def test_bump_commits_image_and_model_version(repo):
    commit = gitops.bump("staging", "ghcr.io/acme/model:abc1234-m3", "3")
    overlay = _overlay("staging")
    assert overlay["images"][0]["newName"] == "ghcr.io/acme/model" and overlay["images"][0]["newTag"] == "abc1234-m3"
    assert overlay["labels"][0]["pairs"]["model-version"] == "3"
    message = "deploy(staging): ghcr.io/acme/model:abc1234-m3, model version 3"
    assert gitops.git("log", "-1", "--format=%H %s") == f"{commit} {message}"
    assert gitops.git("status", "--porcelain") == ""
    assert gitops.bump("staging", "ghcr.io/acme/model:abc1234-m3", "3") is None  # no empty commit


def test_rollback_reverts_the_last_bump_only(repo):
    gitops.bump("staging", "ghcr.io/acme/model:a-m1", "1")
    gitops.bump("staging", "ghcr.io/acme/model:b-m2", "2")
    gitops.rollback("staging")
    assert _overlay("staging")["images"][0]["newTag"] == "a-m1"
    assert gitops.git("log", "-1", "--format=%s").startswith('Revert "deploy(staging): ghcr.io/acme/model:b-m2')


def test_a_bump_changes_the_image_and_model_version_lines_and_nothing_else(repo):
    """The overlay's history is the deployment's audit trail: comments, the patch block and the layout stay."""
    path = gitops.OVERLAYS / "production" / "kustomization.yaml"
    path.write_text("# who deploys here: CD only (a hand-written comment)\n" + path.read_text())
    gitops.git("commit", "--quiet", "-am", "a comment")
    before = path.read_text()
    gitops.bump("production", "ghcr.io/acme/model:abc1234-m3", "3")
    changed = [line for line in gitops.git("show", "--format=", "--unified=0", "HEAD").splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]  # fmt: skip
    old = _overlay_text_values(before)
    assert changed == [
        f"-    newName: {old['newName']}",
        f"-    newTag: {old['newTag']}",
        "+    newName: ghcr.io/acme/model",
        "+    newTag: abc1234-m3",
        f"-      model-version: {old['model-version']}",
        "+      model-version: '3'",
    ]
    assert "patch: |-" in path.read_text() and path.read_text().startswith("# who deploys here")


def _overlay_text_values(text: str) -> dict:
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())
            if key.strip() in {"newName", "newTag", "model-version"}}  # fmt: skip


def test_history_says_which_image_and_model_version_were_live_when(repo, capsys):
    gitops.bump("staging", "ghcr.io/acme/model:a-m1", "1")
    gitops.bump("staging", "ghcr.io/acme/model:b-m2", "2")
    gitops.rollback("staging")
    entries = gitops.history("staging")
    assert [(entry["image"].rpartition(":")[2], entry["model_version"]) for entry in entries] == [
        ("unreleased", "unreleased"), ("a-m1", "1"), ("b-m2", "2"), ("a-m1", "1"),
    ]  # fmt: skip
    assert [entry["until"] for entry in entries[:-1]] == [entry["since"] for entry in entries[1:]]
    assert entries[-1]["until"] is None and entries[-1]["commit"] == gitops.git("rev-parse", "HEAD")
    assert main(["history", "--env", "staging"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 20")]
    assert len(rows) == 4 and "live now" in rows[-1] and "ghcr.io/acme/model:a-m1 | 1 |" in rows[-1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bump", "--env", "qa", "--image", "r/m:t", "--model-version", "1"], "no such overlay"),
        (["bump", "--env", "staging", "--image", "no-tag", "--model-version", "1"], "expected <registry>/<name>:<tag>"),
        (["rollback", "--env", "production"], "no deploy(production) commit to revert"),
    ],
)
def test_bad_deploy_requests_are_named(repo, argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_wait_deployed_gives_up_with_the_last_answer(repo):
    with pytest.raises(TimeoutError, match="did not serve model version 7 within 1 s"):
        gitops.wait_deployed("http://127.0.0.1:9", "7", timeout=1, interval=0.2)


def test_pin_keeps_the_file_comments_and_is_read_back_only_when_the_last_commit_changed_it(repo):
    header = [line for line in gitops.PIN.read_text().splitlines() if line.startswith("#")]
    gitops.pin("4", "drift in the served data")
    assert gitops.PIN.read_text().splitlines()[: len(header)] == header
    assert gitops.pinned() is None  # not committed yet: the last commit did not change it
    gitops.git("commit", "--quiet", "-am", "retrain: pin 4")
    assert gitops.pinned() == "4"
    gitops.git("commit", "--quiet", "--allow-empty", "-m", "later change")
    assert gitops.pinned() is None


@contextlib.contextmanager
def _argocd(statuses: list[dict]):
    """Argo CD's REST API as `wait_rollout` reads it (GET /api/v1/applications/<name>, a bearer token), answering
    with the given statuses in turn: no cluster runs here (docs/testing.md), so its answers are scripted."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps({"status": statuses[min(len(seen), len(statuses)) - 1]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()


def _status(revision: str, health: str, message: str = "") -> dict:
    return {"sync": {"status": "Synced", "revision": revision}, "health": {"status": health, "message": message}}


def test_wait_rollout_follows_argocd_to_the_bumps_verdict(repo, monkeypatch):
    before = gitops.git("rev-parse", "HEAD")
    bump = gitops.bump("production", "ghcr.io/acme/model:b-m2", "2")
    monkeypatch.setenv(gitops.ARGOCD_TOKEN_ENV, "token")
    name = gitops.application("production")
    # the old commit Healthy (not this bump's verdict), then the canary stepping, then promoted
    healthy = [_status(before, "Healthy"), _status(bump, "Progressing"), _status(bump, "Healthy")]
    with _argocd(healthy) as (url, seen):
        monkeypatch.setenv(gitops.ARGOCD_SERVER_ENV, url)
        state = gitops.wait_rollout("production", timeout=30, interval=0.01)
    assert state["health"] == "Healthy" and state["revision"] == bump and len(seen) == 3
    assert seen[0] == (f"/api/v1/applications/{name}", "Bearer token")
    aborted = [_status(bump, "Progressing"), _status(bump, "Degraded", "RolloutAborted: metric class-shift failed")]
    with _argocd(aborted) as (url, _):
        monkeypatch.setenv(gitops.ARGOCD_SERVER_ENV, url)
        assert main(["wait-rollout", "--env", "production", "--interval", "0.01"]) == 1
    with _argocd([_status(before, "Degraded")]) as (url, _), pytest.raises(TimeoutError, match="no verdict"):
        monkeypatch.setenv(gitops.ARGOCD_SERVER_ENV, url)  # an old commit's state is not this bump's
        gitops.wait_rollout("production", timeout=0.2, interval=0.05)


def test_wait_rollout_without_argocd_says_what_to_set(repo, monkeypatch):
    monkeypatch.delenv(gitops.ARGOCD_SERVER_ENV, raising=False)
    with pytest.raises(ValueError, match=gitops.ARGOCD_SERVER_ENV):
        gitops.wait_rollout("production", timeout=1)
