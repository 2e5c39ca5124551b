"""Reject invalid answers before anything is written: one line that says which answer and why."""

import keyword
import re
import sys

ANSWERS = {
    "project": {{ cookiecutter.project | jsonify }},
    "description": {{ cookiecutter.description | jsonify }},
    "author": {{ cookiecutter.author | jsonify }},
    "package": {{ cookiecutter.package | jsonify }},
    "github_owner": {{ cookiecutter.github_owner | jsonify }},
    "gpu_runner_labels": {{ cookiecutter.gpu_runner_labels | jsonify }},
    "container_registry": {{ cookiecutter.container_registry | jsonify }},
    "mlflow_tracking_uri": {{ cookiecutter.mlflow_tracking_uri | jsonify }},
    "retrain_cron": {{ cookiecutter.retrain_cron | jsonify }},
}

# Names a package must not take: it would shadow the standard library or a dependency at import time.
RESERVED = set(sys.stdlib_module_names) | {
    "src", "tests", "test", "torch", "lightning", "mlflow", "pandera", "pandas", "numpy",
    "sklearn", "bentoml", "evidently", "yaml", "data", "configs",
}
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
CRON_NAMES = ["minute", "hour", "day of month", "month", "day of week"]


def check_cron(expr: str) -> str | None:
    fields = expr.split()
    if len(fields) != 5:
        return f"needs 5 fields (minute hour day month weekday), got {len(fields)}"
    for field, (low, high), name in zip(fields, CRON_RANGES, CRON_NAMES):
        if not CRON_FIELD.match(field):
            return f"{name} field {field!r} is not a number, range, list, step or '*'"
        for number in re.findall(r"(?<![/\d])\d+", field):
            if not low <= int(number) <= high:
                return f"{name} field {field!r}: {number} is outside {low}-{high}"
    return None


def problems(answers: dict[str, str]):
    project, package = answers["project"], answers["package"]
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", project):
        yield f"project {project!r}: use lower-case letters, digits and single hyphens, starting with a letter"
    if not package.isidentifier() or not re.fullmatch(r"[a-z][a-z0-9_]*", package):
        yield f"package {package!r}: use lower-case letters, digits and underscores, starting with a letter"
    elif keyword.iskeyword(package) or package in RESERVED:
        yield f"package {package!r}: shadows a Python keyword, standard module or dependency; choose another name"
    for field in ("description", "author"):
        text = answers[field]
        if not text.strip() or len(text) > 100 or any(char in text for char in '"\\\n'):
            yield f"{field} {text!r}: one line of 1 to 100 characters without double quotes or backslashes"
    owner = answers["github_owner"]
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}", owner):
        yield f"github_owner {owner!r}: a GitHub user or organisation name (letters, digits, single hyphens)"
    for label in filter(None, (part.strip() for part in answers["gpu_runner_labels"].split(","))):
        if not re.fullmatch(r"[A-Za-z0-9._-]+", label):
            yield f"gpu_runner_labels: label {label!r} may hold only letters, digits, '.', '_' and '-'"
    registry = answers["container_registry"]
    if not re.fullmatch(r"[a-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)*", registry):
        yield f"container_registry {registry!r}: a lower-case registry host with an optional path, e.g. ghcr.io/my-org"
    uri = answers["mlflow_tracking_uri"]
    if not re.match(r"(sqlite|postgresql|mysql|https?|databricks)(\+\w+)?:", uri):
        yield (
            f"mlflow_tracking_uri {uri!r}: use sqlite:///<file>, a database URL or an http(s) server URL "
            "(MLflow no longer accepts a ./mlruns file store)"
        )
    reason = check_cron(answers["retrain_cron"])
    if reason:
        yield f"retrain_cron {answers['retrain_cron']!r}: {reason}"


if __name__ == "__main__":
    found = list(problems(ANSWERS))
    for line in found:
        print(f"ERROR: {line}", file=sys.stderr)
    sys.exit(1 if found else 0)
