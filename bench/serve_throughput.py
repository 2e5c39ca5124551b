"""Serving throughput: the baked project's bento against a naive FastAPI server, same model, same core, one run.

Each server is pinned to one core (--server-core) and wrk, a C load generator, to another (--load-core), as
serving benchmarks are run: 64 connections, single-record requests, 20 s after a 3 s warm-up. Two models:

- the baked model (the pt2 program `make package` put in the bento);
- a heavier one made here, an MLP over the same inputs whose one-row forward pass costs over 1 ms, served by the
  same service code and settings (where adaptive batching should pay most).

The table gives requests/s, p50, p99, errors and the ratio to the naive server on the same model; then a soak of
the bento at 80 % of its measured maximum (--soak seconds), with its resident memory at the start and the end.
Targets (docs/serving.md): the bento >= 1.0x the naive server with p99 <= 100 ms and no errors; >= 2x on the heavy
model; the soak without errors and its memory growing < 10 %.

    make bench-serve     # bakes build/bench-serve/tumor-classifier, runs its pipeline, then this script
    python bench/serve_throughput.py --project build/bench-serve/tumor-classifier [--connections 64] [--soak 60]
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import baked
import psutil
import torch
import yaml

WRK_SCRIPT = """
local bodies = {%s}
local requests, index = {}, 0
for i, body in ipairs(bodies) do
  requests[i] = wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, body)
end
request = function()
  index = index %% #requests + 1
  return requests[index]
end
local pause = %f
if pause > 0 then
  delay = function() return pause end
end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def ensure_wrk() -> str:
    """wrk from the PATH, else installed from Debian (as root), else a clear way out."""
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: installing Debian's package", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
        if found := shutil.which("wrk"):
            return found
    sys.exit("wrk (the load generator) is not installed: `apt-get install wrk` or `brew install wrk`, then re-run")


def wrk(url: str, bodies: list[str], connections: int, seconds: float, core: int, pause_ms: float = 0) -> dict:
    """One wrk run pinned to `core`: requests/s, p50 and p99 in ms, errors (socket errors and non-2xx)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (", ".join(f"[==[{body}]==]" for body in bodies), pause_ms))
    try:
        command = ["taskset", "-c", str(core), ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds:.0f}s",
                   "--timeout", "10s", "-s", script.name, url]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    (line,) = [line for line in output.splitlines() if line.startswith("WRK ")]
    figures = json.loads(line.removeprefix("WRK "))
    return {
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "errors": figures["errors"],
    }


def rss_mib(process: subprocess.Popen) -> float:
    """Resident memory of a server and every process it started (a bento's workers), in MiB."""
    root = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / baked.MiB


@contextlib.contextmanager
def serving(command: list, cwd: Path, env: dict, core: int, local_server) -> Iterator[tuple[str, subprocess.Popen]]:
    port = local_server.free_port()
    command = ["taskset", "-c", str(core), *[part.replace("{port}", str(port)) for part in command]]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        local_server.wait_ready(url, process, timeout=180)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def one_row_ms(program_path: str, features: int, repeats: int = 200) -> float:
    """The forward pass of one row, on one thread, in ms (the cost batching can share)."""
    program = torch.export.load(program_path).module()
    row = torch.rand(1, features)
    with torch.no_grad():
        for _ in range(10):
            program(row)
        start = time.perf_counter()
        for _ in range(repeats):
            program(row)
    return (time.perf_counter() - start) / repeats * 1000


def heavy_model(features: int, classes: int, scratch: Path, width: int = 2048) -> Path:
    """An MLP over the same inputs with three wide hidden layers: one row costs over 1 ms on one thread."""
    torch.manual_seed(0)
    layers = [torch.nn.Linear(features, width), torch.nn.ReLU()]
    for _ in range(3):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    network = torch.nn.Sequential(*layers, torch.nn.Linear(width, classes), torch.nn.Softmax(dim=1)).eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(network, (torch.rand(2, features),), dynamic_shapes=({0: batch},))
    path = scratch / "heavy.pt2"
    torch.export.save(program, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked project after `make package`")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--soak", type=float, default=60.0, help="seconds of the soak at 80%% load (0: none)")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ensure_wrk()
    project = args.project.resolve()
    # The baked project's own helpers start servers and package models: the benchmark uses them, not copies.
    local_server, features = baked.modules(project, "local_server", "features", chdir=False)
    bento = json.loads((project / "artifacts/bento.json").read_text())
    known = json.loads((project / "artifacts/smoke.json").read_text())
    bodies = [json.dumps({"records": [record]}) for record in known["records"]]

    import bentoml

    light = bentoml.models.get(bento["model"]).path_of("model.pt2")
    scratch = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    heavy = heavy_model(features.NUM_INPUTS, len(features.CLASS_NAMES), scratch)
    # The heavy bento: the same build context and settings, its serve.yaml naming the heavy model.
    heavy_tag = bentoml.models.get(bento["model"]).tag.name + "-bench-heavy:latest"
    with contextlib.suppress(bentoml.exceptions.NotFound):
        bentoml.models.delete(heavy_tag)
    with bentoml.models.create(heavy_tag.split(":")[0]) as model:
        shutil.copy(heavy, model.path_of("model.pt2"))
        heavy_tag = str(model.tag)
    context = scratch / "bento"
    shutil.copytree(project / "build" / "bento", context)
    settings_file = context / local_server.__package__ / "service.yaml"
    settings = yaml.safe_load(settings_file.read_text())
    settings["model_tag"] = heavy_tag
    settings_file.write_text(yaml.safe_dump(settings, sort_keys=False))
    service = yaml.safe_load((context / "bentofile.yaml").read_text())["service"]

    env = {**local_server.serve_env(scratch / "requests.jsonl"), "BENTOML_DO_NOT_TRACK": "true"}
    naive = [sys.executable, str(Path(__file__).with_name("naive_server.py")), "{port}"]
    bento_serve = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    reference, packaged = "naive FastAPI, one forward pass per request (reference)", f"bento ({describe(settings)})"
    rows = [
        ("baked model", reference, [*naive[:2], light, naive[2]], project),
        ("baked model", packaged, [*bento_serve, bento["bento"]], project),
        ("heavy model", reference, [*naive[:2], str(heavy), naive[2]], project),
        ("heavy model", packaged, [*bento_serve, service], context),
    ]
    results, soak = [], None
    for model_name, server, command, cwd in rows:
        print(f"{model_name}: {server} ...", flush=True)
        with serving(command, cwd, env, args.server_core, local_server) as (url, process):
            wrk(url, bodies, args.connections, args.warmup, args.load_core)
            figures = wrk(url, bodies, args.connections, args.duration, args.load_core)
            results.append((model_name, server, figures))
            if args.soak and model_name == "baked model" and server.startswith("bento"):
                # Each connection waits between requests so that all together send ~80 % of the maximum: the
                # pause is set from a short probe's latency at about that load.
                target = 0.8 * figures["rps"]
                cycle_ms = args.connections / target * 1000
                probe = wrk(url, bodies, args.connections, 5, args.load_core, max(0.0, cycle_ms - figures["p50_ms"]))
                pause = max(0.0, cycle_ms - probe["p50_ms"])
                before = rss_mib(process)
                soaked = wrk(url, bodies, args.connections, args.soak, args.load_core, pause_ms=pause)
                soak = {**soaked, "target": target, "before": before, "after": rss_mib(process)}

    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, torch "
        f"{torch.__version__}, bentoml {bentoml.__version__}; servers pinned to core {args.server_core}, wrk "
        f"({args.connections} connections, one thread) to core {args.load_core}; single-record requests, "
        f"{args.duration:.0f} s after {args.warmup:.0f} s warm-up"
    )
    print(
        f"one-row forward pass (one thread): baked model {one_row_ms(light, features.NUM_INPUTS):.3f} ms, "
        f"heavy model {one_row_ms(str(heavy), features.NUM_INPUTS):.3f} ms\n"
    )
    print("| model | server | requests/s | p50 ms | p99 ms | errors | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    naive_rps = {}
    for model_name, server, figures in results:
        naive_rps.setdefault(model_name, figures["rps"])
        print(
            f"| {model_name} | {server} | {figures['rps']:,.0f} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} "
            f"| {figures['errors']} | {figures['rps'] / naive_rps[model_name]:.2f} |"
        )
    if soak:
        growth = (soak["after"] - soak["before"]) / soak["before"] * 100
        print(
            f"\nsoak, bento on the baked model, {args.soak:.0f} s aiming at {soak['target']:,.0f} requests/s (80 %): "
            f"{soak['rps']:,.0f} requests/s, p50 {soak['p50_ms']:.1f} ms, p99 {soak['p99_ms']:.1f} ms, "
            f"{soak['errors']} errors; resident memory {soak['before']:.0f} -> {soak['after']:.0f} MiB "
            f"({growth:+.1f} %)"
        )
    shutil.rmtree(scratch, ignore_errors=True)


def describe(settings: dict) -> str:
    return f"adaptive batching, max {settings['max_batch_size']} rows, {settings['max_latency_ms']} ms"


if __name__ == "__main__":
    main()
