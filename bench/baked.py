"""The benchmarks' way into a baked project: its package, imported from the environment it is installed in."""

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

MiB = 2**20


def modules(project: Path, *names: str, chdir: bool = True) -> list[ModuleType]:
    """Import <package>.<name> for each name of the baked project at `project` (its configs/ read from there)."""
    project = project.resolve()
    if chdir:
        os.chdir(project)
    package = next(path.name for path in (project / "src").iterdir() if (path / "__init__.py").exists())
    return [importlib.import_module(f"{package}.{name}") for name in names]


def measure(
    command: list[str], cwd: Path, env: dict | None = None, cpus: list[int] | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and output of one process (pinned to `cpus` when given); exits if it fails."""
    preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    start = time.perf_counter()
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=preexec
    ) as process:
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # this process's own peak, not the largest child's so far
        process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {process.returncode} in {cwd}:\n{output[-4000:]}")
    return elapsed, usage.ru_maxrss * 1024 / MiB, output  # Linux reports KiB
