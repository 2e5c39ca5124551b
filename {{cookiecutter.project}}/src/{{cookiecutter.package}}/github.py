"""What a step tells GitHub Actions when a workflow runs it: outputs, notices and the job summary (no-ops elsewhere)."""

import os


def in_workflow() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def write_outputs(pairs: dict[str, str], echo: bool = True) -> None:
    """key=value lines: printed (echo), and appended to $GITHUB_OUTPUT when a workflow runs this."""
    lines = [f"{key}={value}" for key, value in pairs.items()]
    if echo:
        print("\n".join(lines))
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a") as outputs:
            outputs.write("\n".join(lines) + "\n")


def notice(title: str, message: str) -> None:
    """An annotation on the run's page (only in a workflow)."""
    if in_workflow():
        print(f"::notice title={title}::{message}")


def append_summary(markdown: str) -> bool:
    """Add markdown to the job summary; False where there is none (not in a workflow)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a") as out:
        out.write(markdown)
    return True
