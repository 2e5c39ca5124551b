"""Set-up and bake-to-model time: the time budgets of a baked project, on this machine, in one run.

1. `make setup` into a new .venv with uv.lock present and uv's cache warm, against the reference: pip installing
   the same locked versions (`uv export`) into a new venv with pip's cache warm. Budget: <= 20 s.
2. Bake to a gated, packaged, smoke-tested model: cookiecutter, `make setup`, `make pipeline` (data, validate,
   train, evaluate, gate, report, package, smoke), caches warm. Budget: <= 90 s.
3. The pull-request workflow's steps (ci.yml, the composite action's `make setup` with UV_LOCKED=1 included), run
   here in order as tests/test_workflows.py runs them. Budget: <= 5 min.

Each step is timed as one process, run as `make` runs it; the first set-up (which also makes uv.lock and warms uv's
cache) and the first pip install (which warms pip's) are timed but not compared.

Python as it runs by default: PYTHONDONTWRITEBYTECODE is taken out of the environment, so each module is compiled on
its first import and cached. One more row times `make setup` with it set (containers, some CI machines), where the
Makefile has uv compile every module at install instead.

    python bench/setup_time.py [--output build/bench-setup] [--repeat 3]
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import baked
import yaml

TEMPLATE = Path(__file__).resolve().parents[1]
COOKIECUTTER = Path(sys.prefix) / "bin" / "cookiecutter"
BUDGET_SETUP_S, BUDGET_BAKE_S, BUDGET_PR_S = 20.0, 90.0, 300.0
LOCAL_SETUP = "./.github/actions/setup"


def bake(output: Path, name: str) -> Path:
    baked.measure([str(COOKIECUTTER), "--no-input", "--output-dir", str(output), str(TEMPLATE),
                   f"project_name={name}"], cwd=TEMPLATE)  # fmt: skip
    return output / name.lower().replace(" ", "-")


def make(project: Path, *targets: str, **env: str) -> float:
    seconds, _, _ = baked.measure(["make", "--no-print-directory", *targets], cwd=project, env=os.environ | env)
    return seconds


def pip_reference(project: Path, repeat: int) -> tuple[float, list[float]]:
    """pip installing the locked versions (the same list uv syncs) into a new venv; the first run warms pip's cache."""
    requirements = project / "build" / "requirements-locked.txt"
    requirements.parent.mkdir(parents=True, exist_ok=True)
    bootstrapped = project / "build" / "tools" / "uv" / "bin" / "uv"  # where make setup puts uv when PATH has none
    uv = os.environ.get("UV") or shutil.which("uv") or str(bootstrapped)
    export = [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--extra", "cpu"]
    requirements.write_text(subprocess.run(export, cwd=project, capture_output=True, text=True, check=True).stdout)
    index = ["--extra-index-url", os.environ.get("TORCH_CPU_INDEX", "https://download.pytorch.org/whl/cpu")]
    mirror = Path.home() / ".cache" / "torch-cpu-index"
    if mirror.is_dir():  # the mirror `make setup` wrote from PIP_FIND_LINKS on this machine
        index = ["--extra-index-url", mirror.as_uri()]
    times = []
    for _ in range(repeat + 1):
        venv = project / "build" / "pip-venv"
        shutil.rmtree(venv, ignore_errors=True)
        python = venv / "bin" / "python"
        script = (f"{sys.executable} -m venv {venv} && {python} -m pip install --quiet -r {requirements} "
                  f"{' '.join(index)} && {python} -m pip install --quiet --no-deps --editable .")  # fmt: skip
        seconds, _, _ = baked.measure(["bash", "-c", script], cwd=project)
        times.append(seconds)
    shutil.rmtree(project / "build" / "pip-venv", ignore_errors=True)
    return times[0], times[1:]


def pr_steps(project: Path) -> list[tuple[str, float]]:
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    action = yaml.safe_load((project / LOCAL_SETUP / "action.yml").read_text())
    shutil.rmtree(project / ".venv")
    timed = []
    for step in workflow["jobs"]["test"]["steps"]:
        run, env = step.get("run"), {}
        if step.get("uses") == LOCAL_SETUP:
            install = next(inner for inner in action["runs"]["steps"] if "run" in inner)
            run, env = install["run"], {**install["env"], "TORCH": "cpu"}
        if run is None:
            continue
        summary = project / "build" / "step-summary.md"
        seconds, _, _ = baked.measure(["bash", "-c", run], cwd=project,
                                      env=os.environ | env | {"GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
        timed.append((run, seconds))
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=TEMPLATE / "build" / "bench-setup")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.output = args.output.resolve()  # the steps run in the baked project's folder
    shutil.rmtree(args.output, ignore_errors=True)
    no_cache = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # Python's default for every row but one
    os.environ.setdefault("BENTOML_HOME", str(args.output / "bentoml-home"))
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"{machine}; medians of {args.repeat}\n", flush=True)
    print("| what | seconds | reference | ref. seconds | ratio | budget |")
    print("| --- | ---: | --- | ---: | ---: | ---: |", flush=True)

    project = bake(args.output / "setup", "Setup Time")
    first_setup = make(project, "setup")  # makes uv.lock; warms uv's cache for what follows
    uv_times = []
    for _ in range(args.repeat):
        shutil.rmtree(project / ".venv")
        uv_times.append(make(project, "setup"))
    shutil.rmtree(project / ".venv")
    compiled_s = make(project, "setup", PYTHONDONTWRITEBYTECODE="1")  # uv compiles every module at install
    pip_first, pip_times = pip_reference(project, args.repeat)
    uv_s, pip_s = statistics.median(uv_times), statistics.median(pip_times)
    reference = "pip, same locked versions, warm cache (compiles at install)"
    rows = [
        ("`make setup`, new .venv, warm cache", uv_s),
        ("the same where PYTHONDONTWRITEBYTECODE is set (compiles at install)", compiled_s),
    ]
    for what, seconds in rows:
        print(
            f"| {what} | {seconds:.1f} | {reference} | {pip_s:.1f} | {seconds / pip_s:.2f} "
            f"| {seconds / BUDGET_SETUP_S:.2f} of {BUDGET_SETUP_S:.0f} s |",
            flush=True,
        )

    bake_start = time.perf_counter()
    model = bake(args.output / "bake", "Bake Time")
    bake_s = time.perf_counter() - bake_start
    setup_s = make(model, "setup")
    pipeline_s = make(model, "pipeline")
    total_s = bake_s + setup_s + pipeline_s
    print(
        f"| bake + setup + pipeline (gated, packaged, smoke-tested) | {total_s:.1f} | budget | {BUDGET_BAKE_S:.0f} "
        f"| {total_s / BUDGET_BAKE_S:.2f} | {total_s / BUDGET_BAKE_S:.2f} of {BUDGET_BAKE_S:.0f} s |",
        flush=True,
    )
    steps = pr_steps(model)
    pr_s = sum(seconds for _, seconds in steps)
    print(
        f"| the pull-request workflow's steps | {pr_s:.1f} | budget | {BUDGET_PR_S:.0f} | {pr_s / BUDGET_PR_S:.2f} "
        f"| {pr_s / BUDGET_PR_S:.2f} of {BUDGET_PR_S:.0f} s |"
    )
    print(f"\nfirst `make setup` (resolves and writes uv.lock, fills uv's cache): {first_setup:.1f} s; "
          f"first pip install (fills pip's cache): {pip_first:.1f} s")  # fmt: skip
    print(f"bake {bake_s:.1f} s, setup {setup_s:.1f} s, pipeline {pipeline_s:.1f} s")
    print(f"PYTHONDONTWRITEBYTECODE in this shell: {no_cache or 'not set'} (taken out for every row but one)")
    print("\n| pull-request step | seconds |\n| --- | ---: |")
    for run, seconds in steps:
        print(f"| `{run}` | {seconds:.1f} |")


if __name__ == "__main__":
    main()
