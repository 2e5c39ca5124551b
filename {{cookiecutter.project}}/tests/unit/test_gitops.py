"""GitOps steps on a scratch git repository: a bump is one commit that renders the new image, a rollback reverts it."""

import shutil
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
