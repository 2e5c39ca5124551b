"""`make preflight`: the settings a workflow needs, checked before it does anything.

Each workflow's first job runs this. When a setting is missing, the rest of the workflow is skipped and the job
summary names each missing setting and where to make it: nothing is trained, registered, pushed or committed for a
repository that is not set up yet. On a laptop the same check says what a workflow would find.
"""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import config, github
from .config import TrackingConfig

VARIABLES = "Settings → Secrets and variables → Actions → Variables (repository variables)"
PLACEHOLDER_OWNER = "your-org"  # the template's default github_owner


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable the workflow maps it to (or the file it lives in)
    where: str  # where to make it
    problem: Callable[[], str | None]  # None: in place; else what is wrong with it


def _tracking_server() -> str | None:
    uri = os.environ.get("MLFLOW_TRACKING_URI") or config.load(TrackingConfig).tracking_uri
    if not uri:
        return "not set"
    if uri.startswith("sqlite:"):
        return (
            f"{uri} is a file, and a runner starts every job without it: the model a job registers would be gone "
            "in the next one"
        )
    return None


def _url(name: str) -> Callable[[], str | None]:
    def problem() -> str | None:
        value = os.environ.get(name, "")
        if not value:
            return "not set"
        if not re.match(r"https?://[^/\s]+", value):
            return f"{value!r} is not an http(s) URL"
        return None

    return problem


def _registry() -> str | None:
    registry = os.environ.get("REGISTRY") or _cd_env().get("REGISTRY", "")
    if not registry:
        return "not set"
    if PLACEHOLDER_OWNER in registry.split("/"):
        return f"{registry} is the template's placeholder owner, where no one can push"
    if registry.split("/")[0] != "ghcr.io" and os.environ.get("REGISTRY_PASSWORD_SET") != "true":
        return (
            f"{registry.split('/')[0]} does not take the workflow's own token: make the secrets REGISTRY_USERNAME "
            "and REGISTRY_PASSWORD (Settings → Secrets and variables → Actions → Secrets)"
        )
    return None


def _cd_env() -> dict:
    """The environment cd.yml sets for all its jobs (where the registry is named), read on a laptop."""
    path = Path(".github/workflows/cd.yml")
    return (yaml.safe_load(path.read_text()) or {}).get("env", {}) if path.is_file() else {}


def _template_record() -> str | None:
    path = Path(".cruft.json")
    if not path.is_file():
        return "no .cruft.json (a bake from a git clone or URL writes it)"
    template = str(json.loads(path.read_text()).get("template", ""))
    if not re.match(r"([a-z+]+://|[\w.-]+@[\w.-]+:)", template):
        return f"the template is {template!r}, a folder on the machine that baked the project, not a git URL"
    return None


TRACKING = Setting(
    "MLFLOW_TRACKING_URI",
    f"{VARIABLES}: your team's MLflow server URL; its user name and password as the secrets MLFLOW_TRACKING_USERNAME "
    "and MLFLOW_TRACKING_PASSWORD of the environments staging and production (docs: the platform page deploys one)",
    _tracking_server,
)
STAGING = Setting("STAGING_URL", f"{VARIABLES}: the URL the staging deployment serves at", _url("STAGING_URL"))
PRODUCTION = Setting(
    "PRODUCTION_URL", f"{VARIABLES}: the URL the production deployment serves at", _url("PRODUCTION_URL")
)


def _argocd() -> str | None:
    if problem := _url("ARGOCD_SERVER")():
        return f"{problem}: the URL of the platform's Argo CD (its API: `make wait-rollout`)"
    if os.environ.get("ARGOCD_AUTH_TOKEN_SET", "true") != "true" and not os.environ.get("ARGOCD_AUTH_TOKEN"):
        return "the secret ARGOCD_AUTH_TOKEN is not set (`argocd account generate-token`)"
    return None


ARGOCD = Setting(
    "ARGOCD_SERVER",
    f"{VARIABLES}: Argo CD's URL, and an API token as the secret ARGOCD_AUTH_TOKEN of the environment production: "
    "CD waits on its verdict on each production rollout",
    _argocd,
)
REGISTRY = Setting(
    "REGISTRY",
    "the container registry in .github/workflows/cd.yml (env: REGISTRY) and the Makefile (REGISTRY): one you can "
    "push to, e.g. ghcr.io/<your user or organisation>",
    _registry,
)
TEMPLATE = Setting(
    ".cruft.json",
    "set `template` in .cruft.json to the template's git URL (no .cruft.json: `cruft link <that URL>`), then commit it",
    _template_record,
)

# What each workflow needs before it may train, register, push or commit. The pull request's workflow needs
# nothing: without a tracking server its gate judges against the floor and the baseline in a throwaway store.
NEEDS: dict[str, list[Setting]] = {
    "ci": [],
    "cd": [TRACKING, STAGING, PRODUCTION, ARGOCD, REGISTRY],
    "retrain": [TRACKING],
    "template-update": [TEMPLATE],
}
# Settings a workflow runs without, and what it does then.
OPTIONAL: dict[str, list[tuple[Setting, str]]] = {
    "ci": [(TRACKING, "without a team server the gate judges against the floor and the baseline, with no champion")]
}


def missing(workflow: str) -> list[tuple[Setting, str]]:
    if workflow not in NEEDS:
        raise ValueError(f"workflow {workflow!r}: choose one of {', '.join(NEEDS)}")
    found = [(setting, setting.problem()) for setting in NEEDS[workflow]]
    return [(setting, problem) for setting, problem in found if problem]


def summary(workflow: str, gaps: list[tuple[Setting, str]], notes: list[tuple[Setting, str]]) -> str:
    """The job summary's section: markdown, one row per missing setting."""
    if not gaps:
        lines = [f"### {workflow}: settings in place", ""]
    else:
        lines = [
            f"### {workflow} skipped: {len(gaps)} setting(s) missing",
            "",
            "Nothing was trained, registered, pushed or committed. Make these settings, then run the workflow again:",
            "",
            "| setting | what is wrong | where to make it |",
            "| --- | --- | --- |",
            *(f"| `{setting.name}` | {problem} | {setting.where} |" for setting, problem in gaps),
        ]
    if notes:
        lines += ["", "Optional:", "", *(f"- `{setting.name}`: {effect}. {setting.where}" for setting, effect in notes)]
    return "\n".join(lines) + "\n"


def preflight(workflow: str) -> int:
    """Print what is missing. In a workflow: `ready=true|false` to $GITHUB_OUTPUT, a notice per missing setting and
    the job summary, exit 0 (the later jobs skip on `ready`). Elsewhere: exit 1 when something is missing."""
    gaps = missing(workflow)
    notes = [(setting, effect) for setting, effect in OPTIONAL.get(workflow, []) if setting.problem()]
    for setting, problem in gaps:
        github.notice(f"{workflow} skipped: {setting.name} missing", f"{problem}. Make it: {setting.where}")
        print(f"missing {setting.name}: {problem}. Make it: {setting.where}")
    for setting, effect in notes:
        print(f"optional {setting.name}: {effect}")
    verdict = "ready" if not gaps else f"not ready: {len(gaps)} setting(s) missing; the workflow would skip"
    print(f"{workflow}: {verdict}")
    github.write_outputs({"ready": "false" if gaps else "true"}, echo=False)
    github.append_summary(summary(workflow, gaps, notes))
    return 0 if github.in_workflow() or not gaps else 1


def preflight_all() -> int:
    """Every workflow's check, one after another (`make preflight` with no WORKFLOW): 1 if any would skip."""
    return max(preflight(workflow) for workflow in NEEDS)
