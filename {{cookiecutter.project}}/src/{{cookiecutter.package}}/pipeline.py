"""The order of the steps: `make pipeline`, a pull request's check and the scheduled retrain decision.

Each step is a command of the command line (cli.py), which prints what the step returns; this module decides which
run, in which order, and when to stop.
"""

import subprocess
import sys
from collections.abc import Callable, Sequence

from . import github

Step = Callable[[list[str]], int]  # runs one command line (["gate", "--dry-run"]) and returns its exit status

# `make pipeline`: each step's own command, in order. Training runs in a process of its own (Lightning's DDP starts
# one process per device by running that command again); the others share one, so Python, torch, Lightning and
# MLflow start twice per pipeline instead of once per step (about 10 s a start on 2 cores).
PIPELINE = (
    ["data", "--keep-existing"],
    ["validate"],
    ["train"],
    ["evaluate"],
    ["gate"],
    ["report"],
    ["package"],
    ["smoke"],
)
# A pull request's check (ci.yml): the same steps up to the report, the gate judging only (nothing registered).
PULL_REQUEST = (*PIPELINE[:4], ["gate", "--dry-run"], ["report"])
GATE_FAILED = 1  # `gate`'s exit status when a rule failed


def run(steps: Sequence[list[str]], run_step: Step, overrides: Sequence[str] = ()) -> int:
    """Run the steps in order; the first failure stops the rest. A failed gate is reported first (why it failed),
    and nothing after it runs: nothing is packaged. `overrides` go to training (`train.trainer.max_epochs=3`)."""
    for argv in steps:
        print(f"--- {argv[0]}", flush=True)
        if argv[0] == "train":
            command = [sys.executable, "-m", str(__package__), *argv, *overrides]
            status = subprocess.run(command, check=False).returncode
        else:
            status = run_step(argv)
        if status == GATE_FAILED and argv[0] == "gate":
            run_step(["report"])
        if status != 0:
            return status
    return 0


def scheduled_check(current: str, run_step: Step, answers: Sequence[int]) -> int:
    """The scheduled retrain's decision: drift of the current data against @production, then retrain-check.

    No @production model yet is an answer too (nothing to compare with: no retrain), not a failure. `answers` are
    the drift step's exit statuses that are an answer (drift, no drift); any other (invalid data) stops here.
    """
    from .retrain import no_champion

    if reason := no_champion():
        github.notice("retrain skipped", reason)
        github.write_outputs({"retrain": "no", "reason": reason})
        return 0
    status = run_step(["drift", current])
    if status not in answers:
        return status
    return run_step(["retrain-check"])
