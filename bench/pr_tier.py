"""The pull request's test tier (`make test`) on an adopted table of 100,000 rows, against the same project's own
tier on the bundled table: what a person waits for on every pull request.

The project's tests run on its committed sample (`tests/fixtures/sample.csv`, at most 1,000 rows), so the table's
size should not show in their time; this measures it. Each project is baked from this template, installed, made
to run its whole pipeline, then `make test` is timed (wall clock, the machine otherwise idle). The adopted table is
the template's zoo export (tests/zoo.py, `messy`: an identifier, a date, free text, a mostly-empty column) at
100,000 rows. Target: at most 120 s on 2 cores.

    python bench/pr_tier.py [--rows 100000] [--workdir build/bench-pr]
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE))

from tests import zoo  # noqa: E402 (the template's own table generators)

TARGET_S = 120.0


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=TEMPLATE / "build" / "bench-pr")
    return parser.parse_args()


def run(command: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {completed.returncode} in {cwd}:\n{completed.stdout[-3000:]}\n"
                 f"{completed.stderr[-3000:]}")  # fmt: skip
    return elapsed, completed.stdout


def project(workdir: Path, name: str, venv: Path | None) -> tuple[Path, list[str]]:
    """Bake and install a project named `name` (in `venv`, where given); the make arguments that use it."""
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(workdir), str(TEMPLATE),
                    f"project_name={name}"], check=True, capture_output=True)  # fmt: skip
    path = workdir / name.lower().replace(" ", "-")
    subprocess.run(["git", "init", "--quiet"], cwd=path, check=True)
    arguments = [f"VENV={venv}"] if venv else []
    run(["make", "--no-print-directory", "setup", *arguments], path)
    return path, arguments


def main() -> None:
    args = parse()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    bundled, _ = project(args.workdir, "Bundled Table", None)
    make_args = [f"VENV={bundled / '.venv'}"]  # one environment for both: the same dependencies
    adopted, _ = project(args.workdir, "Large Export", bundled / ".venv")
    table = zoo.SHAPES["messy"]
    data = zoo.write(table, args.workdir, rows=args.rows)
    run(["make", "--no-print-directory", "adopt", f"DATA={data}", f"LABEL={table.label}", *make_args], adopted)

    rows = []
    projects = [("bundled table (reference)", bundled, 569), (f"adopted {table.name}", adopted, args.rows)]
    for name, path, size in projects:
        pipeline, _ = run(["make", "--no-print-directory", "pipeline", *make_args], path)
        tests, output = run(["make", "--no-print-directory", "test", *make_args], path)
        summary = output.strip().splitlines()[-1].strip("= ")
        rows.append((name, size, pipeline, tests, summary))

    reference = rows[0][3]
    print(f"\nmake test, the pull request's tier ({platform.node()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()})\n")  # fmt: skip
    print("| project | rows | make pipeline s | make test s | ratio | within 120 s | tests |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, size, pipeline, tests, summary in rows:
        within = "yes" if tests <= TARGET_S else "NO"
        print(f"| {name} | {size:,} | {pipeline:.0f} | {tests:.0f} | {tests / reference:.2f} | {within} | {summary} |")


if __name__ == "__main__":
    main()
