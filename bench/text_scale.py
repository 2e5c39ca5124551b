"""Texts at the size of the IMDB training set: 25,000 texts of about 1,300 characters through a text project.

The texts are made from the bundled reviews (Rotten Tomatoes snippets, `make data`): each is snippets of one class
joined until it is about 1,300 characters long, labelled with that class, so the task stays a sentiment task at
IMDB's size and length. Each step runs as its own process in the project, as `make` runs it, and is timed:

| step | reference, measured side by side |
| --- | --- |
| adopt + validate | the target, 30 s |
| one training epoch | the target, 60 s: `train` for 2 epochs minus `train` for 1 (imports, MLflow and logging cancel) |
| accuracy of the trained model | TF-IDF + logistic regression fitted on the same training split (the gate's baseline) |
| serving requests/s, p99 | naive FastAPI: the same exported program and tokenizer file, one pass per request |

Both servers are pinned to one core (--server-core) and wrk to another (--load-core), 64 connections, one text per
request, as `make bench-serve` measures tables. The project adopts the texts (its contract, data and configs change):
give it a scratch one, baked and installed as `make bench-text` does.

    python bench/text_scale.py --project build/bench-text/text-scale [--texts 25000] [--chars 1300]
"""

import argparse
import json
import os
import platform
import random
import sys
import tempfile
from pathlib import Path

import baked
import serve_throughput

TARGET_ADOPT_S, TARGET_EPOCH_S, TARGET_P99_MS = 30.0, 60.0, 100.0


def write_texts(reviews: Path, target: Path, count: int, chars: int, seed: int = 0) -> None:
    import pandas as pd

    frame = pd.read_csv(reviews)
    by_class = {label: group["text"].tolist() for label, group in frame.groupby("label")}
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = sorted(by_class)[index % len(by_class)]
        parts, length = [], 0
        while length < chars * rng.uniform(0.7, 1.3):
            parts.append(rng.choice(by_class[label]))
            length += len(parts[-1]) + 1
        rows.append({"review": " ".join(parts), "sentiment": label})
    pd.DataFrame(rows).sample(frac=1, random_state=seed).to_csv(target, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked text project after `make setup`")
    parser.add_argument("--texts", type=int, default=25_000)
    parser.add_argument("--chars", type=int, default=1300)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args()
    project = args.project.resolve()
    python = str(project / ".venv/bin/python")
    package = next(path.name for path in (project / "src").iterdir() if (path / "__init__.py").exists())
    env = {**os.environ, "BENTOML_HOME": str(project / ".bentoml-home"), "BENTOML_DO_NOT_TRACK": "true"}

    def run(*command: str) -> float:
        return baked.measure([python, "-m", package, *command], project, env)[0]

    scratch = Path(tempfile.mkdtemp(prefix="bench-text-"))
    baked.measure(["make", "--no-print-directory", "data"], project, env)  # the bundled reviews the texts are made of
    table = scratch / "imdb_sized.csv"
    write_texts(project / "data/raw/reviews.csv", table, args.texts, args.chars)
    print(f"{args.texts} texts of about {args.chars} characters: {table}", flush=True)

    adopt_s = run("adopt", str(table), "--text", "review", "--label", "sentiment")
    validate_s = run("validate")
    one = run("train", "train.trainer.max_epochs=1", "train.early_stopping.patience=100")
    two = run("train", "train.trainer.max_epochs=2", "train.early_stopping.patience=100")
    epoch_s = two - one
    run("train")  # to early stopping, as `make train`
    run("evaluate")
    run("gate")
    gate = json.loads((project / "reports/gate.json").read_text())
    model_accuracy = gate["contenders"]["challenger"]["metrics"]["accuracy"]
    baseline_accuracy = gate["contenders"]["baseline"]["metrics"]["accuracy"]
    run("package", "--last-run")

    import bentoml

    local_server = baked.modules(project, "local_server", chdir=False)[0]
    record = json.loads((project / "artifacts/bento.json").read_text())
    folder = Path(bentoml.models.get(record["model"]).path)
    import pandas as pd

    test = pd.read_parquet(project / "data/splits/test").head(64)  # the saved split's test shards
    bodies = [json.dumps({"records": [{"text": text}]}) for text in test["text"]]
    serve_env = {**local_server.serve_env(scratch / "requests.jsonl"), **env}
    naive = [sys.executable, str(Path(__file__).with_name("naive_text_server.py")), str(folder), "{port}"]
    bento_serve = [python, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", "{port}", record["bento"]]
    served = {}
    for name, command in (("naive FastAPI (reference)", naive), ("bento", bento_serve)):
        print(f"serving: {name} ...", flush=True)
        with serve_throughput.serving(command, project, serve_env, args.server_core, local_server) as (url, _):
            serve_throughput.wrk(url, bodies, 64, 3, args.load_core)
            served[name] = serve_throughput.wrk(url, bodies, 64, args.duration, args.load_core)

    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.texts} texts\n")
    print("| measure | value | reference | ratio (value / reference) |")
    print("|---|---|---|---|")
    print(f"| adopt + validate | {adopt_s + validate_s:.1f} s | target {TARGET_ADOPT_S:.0f} s "
          f"| {(adopt_s + validate_s) / TARGET_ADOPT_S:.2f} |")  # fmt: skip
    print(f"| one training epoch | {epoch_s:.1f} s | target {TARGET_EPOCH_S:.0f} s | {epoch_s / TARGET_EPOCH_S:.2f} |")
    print(f"| test accuracy | {model_accuracy:.4f} | TF-IDF + logistic regression {baseline_accuracy:.4f} "
          f"| {model_accuracy / baseline_accuracy:.3f} |")  # fmt: skip
    reference = served["naive FastAPI (reference)"]
    for name, figures in served.items():
        print(f"| serving: {name} | {figures['rps']:.0f} requests/s, p50 {figures['p50_ms']:.1f} ms, p99 "
              f"{figures['p99_ms']:.1f} ms, {figures['errors']} errors | naive FastAPI {reference['rps']:.0f} "
              f"requests/s | {figures['rps'] / reference['rps']:.2f} |")  # fmt: skip
    print(f"\nadopt {adopt_s:.1f} s, validate {validate_s:.1f} s; train 1 epoch {one:.1f} s, 2 epochs {two:.1f} s; "
          f"p99 target {TARGET_P99_MS:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
