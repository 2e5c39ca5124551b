"""Reject invalid answers before anything is written: one line that says which answer and why."""

import keyword
import re
import sys

ANSWERS = {
    "project_name": {{ cookiecutter.project_name | jsonify }},
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


# project_name as an ASCII slug (accents dropped, other scripts transliterated): what `project` is unless answered.
SLUG = {{ cookiecutter.project_name | slugify | jsonify }}


def problems(answers: dict[str, str]):
    project, package = answers["project"], answers["package"]
    # Which answer to change: a derived name is fixed at its source, one typed in is fixed where it was typed.
    project_from = f" (made from project_name {answers['project_name']!r})" if project == SLUG else ""
    project_fix = "change project_name, or answer project yourself" if project_from else "change project"
    package_from = " (made from project)" if package == project.replace("-", "_") else ""
    package_fix = "answer package yourself" if package_from else "change package"
    other_package = "answer package yourself, with another name" if package_from else "choose another package"
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", project):
        yield (
            f"project {project!r}{project_from}: use lower-case letters, digits and single hyphens, starting with a "
            f"letter; {project_fix}"
        )
    elif not package.isidentifier() or not re.fullmatch(r"[a-z][a-z0-9_]*", package):
        yield (
            f"package {package!r}{package_from}: use lower-case letters, digits and underscores, starting with a "
            f"letter; {package_fix}"
        )
    elif keyword.iskeyword(package) or package in RESERVED:
        yield (
            f"package {package!r}{package_from}: shadows a Python keyword, standard module or dependency; "
            f"{other_package}"
        )
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
    elif re.match(r"[a-z][a-z0-9+.-]*://[^/@]*@", uri):
        shown = re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", uri)  # the password is not echoed
        yield (
            f"mlflow_tracking_uri {shown!r}: holds a user name or password, which configs/tracking.yaml would put "
            "in git; answer the URL without them and set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD "
            "(a database: its own variables, e.g. PGUSER and PGPASSWORD) where the project runs"
        )
    reason = check_cron(answers["retrain_cron"])
    if reason:
        yield f"retrain_cron {answers['retrain_cron']!r}: {reason}"


if __name__ == "__main__":
    found = list(problems(ANSWERS))
    for line in found:
        print(f"ERROR: {line}", file=sys.stderr)
    sys.exit(1 if found else 0)
