"""Serving throughput: the baked project's bento against a naive FastAPI server, same model, same machine, one run.

64 concurrent closed-loop clients send single-record requests to each server in turn; the table gives
requests/s, p50 and p99 latency and the ratio to the naive server, plus the forward-only throughput of the
model at the bento's max batch size (the ceiling no server can pass). Target: >= 1.5x the naive server's
requests/s with p99 <= 100 ms on 2 cores.

    make bench-serve     # bakes build/bench-serve/tumor-classifier, runs its pipeline, then this script
    python bench/serve_throughput.py --project build/bench-serve/tumor-classifier [--clients 64] [--duration 20]
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import baked
import httpx
import torch
import yaml


async def load(url: str, records: list[dict], clients: int, duration: float, warmup: float) -> dict:
    latencies, statuses = [], []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + duration

        async def user(index: int) -> None:
            body = {"records": [records[index % len(records)]]}
            while (now := time.perf_counter()) < stop_at:
                try:
                    response = await client.post("/predict", json=body)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    statuses.append(status)

        await asyncio.gather(*(user(index) for index in range(clients)))
    ok = [latency for latency, status in zip(latencies, statuses, strict=True) if status == 200]
    quantiles = statistics.quantiles(ok, n=100) if len(ok) > 1 else [float("nan")] * 99
    return {
        "rps": len(ok) / duration,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "errors": len(statuses) - len(ok),
    }


def forward_ceiling(program_path: str, batch: int, features: int, seconds: float = 3.0) -> float:
    program = torch.export.load(program_path).module()
    inputs = torch.rand(batch, features)
    rows, start = 0, time.perf_counter()
    with torch.no_grad():
        while time.perf_counter() - start < seconds:
            program(inputs)
            rows += batch
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked project after `make package`")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    project = args.project.resolve()
    # The baked project's own helpers start and probe servers: the benchmark uses them, not copies.
    (smoke,) = baked.modules(project, "smoke", chdir=False)
    bento = json.loads((project / "artifacts/bento.json").read_text())
    known = json.loads((project / "artifacts/smoke.json").read_text())
    serve_cfg = yaml.safe_load((project / "configs/serve.yaml").read_text())

    import bentoml

    program_path = bentoml.models.get(bento["model"]).path_of("model.pt2")
    servers = {
        "naive FastAPI, one forward pass per request (reference)": [
            sys.executable, str(Path(__file__).with_name("naive_server.py")), program_path, "{port}",
        ],
        f"bento, adaptive batching (max {serve_cfg['max_batch_size']} rows, {serve_cfg['max_latency_ms']} ms)": [
            sys.executable, "-m", "bentoml", "serve", bento["bento"], "--host", "127.0.0.1", "--port", "{port}",
        ],
    }  # fmt: skip
    results = {}
    for name, command in servers.items():
        port = smoke.free_port()
        command = [part.replace("{port}", str(port)) for part in command]
        env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true"}
        process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            smoke.wait_ready(f"http://127.0.0.1:{port}", process, timeout=180)
            results[name] = asyncio.run(
                load(f"http://127.0.0.1:{port}", known["records"], args.clients, args.duration, args.warmup)
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    ceiling = forward_ceiling(program_path, serve_cfg["max_batch_size"], len(known["records"][0]))

    reference = results[next(iter(servers))]["rps"]
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"bentoml {bentoml.__version__}; load generator on the same machine"
    )
    print(
        f"load: {args.clients} concurrent closed-loop clients, single-record requests, {args.duration:.0f} s "
        f"after {args.warmup:.0f} s warm-up; model {bento['model']}\n"
    )
    print("| server | requests/s | p50 ms | p99 ms | errors | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, figures in results.items():
        print(
            f"| {name} | {figures['rps']:,.0f} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} | "
            f"{figures['errors']} | {figures['rps'] / reference:.2f} |"
        )
    print(f"| forward pass alone at batch {serve_cfg['max_batch_size']} (ceiling, rows/s) | {ceiling:,.0f} | | | | |")


if __name__ == "__main__":
    main()
