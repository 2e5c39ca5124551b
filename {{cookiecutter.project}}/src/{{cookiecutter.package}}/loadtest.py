"""`make loadtest URL=...`: a headless locust run against any URL, judged against the SLO in configs/serve.yaml."""

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .bento import SMOKE
from .config import LoadtestConfig

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def loadtest(url: str, settings: LoadtestConfig) -> dict:
    """Run locust headless; return the figures and whether they meet the SLO."""
    if not SMOKE.is_file():
        raise FileNotFoundError(f"{SMOKE}: no request samples yet. Run `make package` first.")
    with tempfile.TemporaryDirectory() as scratch:
        prefix = Path(scratch) / "stats"
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url.rstrip("/"),
            "--users", str(settings.users), "--spawn-rate", str(settings.spawn_rate),
            "--run-time", f"{settings.duration_s}s", "--csv", str(prefix), "--only-summary",
        ]  # fmt: skip
        env = {**os.environ, "LOADTEST_SAMPLES": str(SMOKE.resolve())}
        completed = subprocess.run(command, capture_output=True, text=True, env=env)
        stats_file = Path(f"{prefix}_stats.csv")
        if not stats_file.is_file():
            raise RuntimeError(f"locust produced no statistics:\n{completed.stderr[-2000:]}")
        rows = {row["Name"]: row for row in csv.DictReader(stats_file.open())}
    total = rows["Aggregated"]
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    figures = {
        "requests": requests,
        "rps": float(total["Requests/s"]),
        "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]),
        "error_rate": failures / requests if requests else 1.0,
    }
    slo = settings.slo
    within = figures["p99_ms"] <= slo.p99_ms and figures["error_rate"] <= slo.max_error_rate
    figures["passed"] = bool(requests) and within
    return figures
