"""Adopting a folder of images: `adopt`, `validate` and one training epoch on 10,000 images of 28x28 grey pixels.

A seeded folder of PNG files in 10 class subfolders (each class a bright bar at its own angle and place, jittered,
on a noisy background: a small CNN learns it) is written, then each step runs as its own process in the project,
as `make` runs it, timed, with its peak resident memory (os.wait4: that process and the children it waited for; the
largest of them, not their sum), every process pinned to the same --cores CPUs. References measured in the same run,
pinned alike: for adopt and validate, a plain loop that reads, hashes (sha256) and fully decodes (PIL) every file, the
least any scan of the folder must do; for the epoch, a hand-written PyTorch loop over the same training split decoded
into one tensor beforehand (the project's network.build and network.Inputs, AdamW, batch 64, then one pass over the
validation split as Lightning makes each epoch), timed from its first batch: the ratio is what reading files (and a
whole `train` process: imports, MLflow, the checkpoint) costs on top of the arithmetic.
Targets (on 2 CPU cores): adopt + validate <= 20 s; one epoch <= 60 s (with num_workers 0 and 2).

The project adopts the folder (its contract, data and configs change): give it a scratch one, baked and installed as
`make bench-images` does (cookiecutter --no-input --output-dir build/bench-images . task=image-classification
project_name="Image Folder"; make -C build/bench-images/image-folder setup).

    python bench/images_scale.py --project build/bench-images/image-folder [--images 10000] [--side 28] [--keep]
"""

import argparse
import copy
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import baked

CLASSES = 10
CHUNK = 1000  # images generated at once: memory stays bounded at any --side
BATCH_SIZE, EVAL_BATCH_SIZE = 64, 512  # configs/train.yaml's datamodule, for the hand-written loop
WORKERS = (0, 2)  # train.datamodule.num_workers measured
TARGET_ADOPT_S, TARGET_EPOCH_S = 20.0, 60.0
MiB = 2**20


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked image project, installed")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--side", type=int, default=28, help="width and height in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=2, help="CPUs every measured process is pinned to (0: all)")
    parser.add_argument("--workdir", type=Path, help="where the images are written (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the images (and the MLflow store) afterwards")
    parser.add_argument("--reference", choices=["scan", "epoch"], help=argparse.SUPPRESS)  # run as a child: one
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)  # reference, printed as JSON
    return parser.parse_args()


def write_images(folder: Path, count: int, side: int, seed: int) -> None:
    """`count` grey PNG files, folder/<class>/<n>.png, as many of each class: a bar at the class's angle (18 degrees
    apart) centred on the class's point of a ring around the middle, both jittered, brightness varied, noise added."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % CLASSES)
    centre = (np.arange(side) + 0.5)[None, :]
    for directory in range(CLASSES):
        (folder / f"class_{directory}").mkdir(parents=True, exist_ok=True)
    for start in range(0, count, CHUNK):
        k = labels[start : start + CHUNK]
        n = len(k)
        angle = np.pi * k / CLASSES + rng.normal(0, 0.08, n)
        ring = 2 * np.pi * k / CLASSES
        y = side / 2 + 0.22 * side * np.sin(ring) + rng.normal(0, 0.04 * side, n)
        x = side / 2 + 0.22 * side * np.cos(ring) + rng.normal(0, 0.04 * side, n)
        half = side * rng.uniform(0.14, 0.24, n)  # half the bar's length
        dy, dx = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
        ry, rx = centre[..., None] - y[:, None, None], centre - x[:, None, None]  # (n, side, 1), (n, 1, side)
        along = np.clip(ry * dy + rx * dx, -half[:, None, None], half[:, None, None])
        distance = np.hypot(ry - along * dy, rx - along * dx)
        ink = np.clip(1.5 - distance / max(1.0, 0.05 * side), 0, 1)
        pixels = 25 + ink * rng.uniform(150, 230, n)[:, None, None] + rng.normal(0, 18, (n, side, side))
        pixels = np.clip(pixels, 0, 255).round().astype(np.uint8)
        for offset, (image, label) in enumerate(zip(pixels, k, strict=True)):
            Image.fromarray(image).save(folder / f"class_{label}" / f"{start + offset:05d}.png")


def scan_reference(folder: Path) -> dict:
    """The least work any scan of the folder does: read each file, hash it, decode it fully."""
    import hashlib
    import io

    from PIL import Image

    count = 0
    for path in sorted(folder.rglob("*.png")):
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        count += 1
    return {"files": count}


def epoch_reference(project: Path) -> dict:
    """One epoch of a hand-written loop over the training split in memory (one tensor), then a validation pass."""
    sys.path.insert(0, str(project / "src"))  # the project's code, whether or not it is installed here
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import baked

    config, features, metrics, network, schema, splits = baked.modules(
        project, "config", "features", "metrics", "network", "schema", "splits"
    )
    import torch

    data_cfg, train_cfg = config.load(config.DataConfig), config.load(config.TrainConfig)
    model_cfg = config.load(config.ModelConfig).model_dump()
    torch.manual_seed(train_cfg.seed)
    torch.use_deterministic_algorithms(bool(train_cfg.trainer.get("deterministic", False)))
    tensors = {}
    for name in ("train", "val"):
        frame = splits.load_split(data_cfg.splits_dir, name)
        labels = torch.from_numpy(metrics.label_codes(frame[schema.LABEL]))
        tensors[name] = (torch.from_numpy(features.encode(frame)), labels)  # decoded before the clock starts
    learning_rate, weight_decay = model_cfg.pop("learning_rate"), model_cfg.pop("weight_decay")
    inputs = network.Inputs(features.NUM_INPUTS)
    inputs.fit(tensors["train"][0])
    model = torch.nn.Sequential(inputs, network.build(features.NUM_INPUTS, len(schema.CLASSES), **model_cfg))
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    loss = torch.nn.CrossEntropyLoss()
    (train_x, train_y), (val_x, val_y) = tensors["train"], tensors["val"]

    warm = copy.deepcopy(model)  # first-call costs (allocator, kernels) paid outside the clock, on a copy
    loss(warm(train_x[:BATCH_SIZE]), train_y[:BATCH_SIZE]).backward()

    start = time.perf_counter()
    model.train()
    order = torch.randperm(len(train_y))
    for batch in order.split(BATCH_SIZE):
        optimiser.zero_grad(set_to_none=True)
        loss(model(train_x[batch]), train_y[batch]).backward()
        optimiser.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for batch_x, batch_y in zip(val_x.split(EVAL_BATCH_SIZE), val_y.split(EVAL_BATCH_SIZE), strict=True):
            logits = model(batch_x)
            loss(logits, batch_y)
            correct += int((logits.argmax(dim=1) == batch_y).sum())
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "train": len(train_y),
        "val": len(val_y),
        "val_accuracy": correct / len(val_y),
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def package_name(project: Path) -> str:
    """The project's package: .cookiecutter.json's, else the one package under src/."""
    try:
        return json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]["package"]
    except (OSError, KeyError, ValueError):
        (package,) = [path.name for path in (project / "src").iterdir() if (path / "__init__.py").exists()]
        return package


def pinned(cores: int) -> tuple[list[int] | None, str]:
    """The CPUs to pin to (None: no pinning) and a description of them."""
    if not hasattr(os, "sched_setaffinity"):
        return None, f"not pinned (no sched_setaffinity on {platform.system()}): on all {os.cpu_count()} cores"
    available = sorted(os.sched_getaffinity(0))
    if cores <= 0 or cores >= len(available):
        fewer = f" (fewer than --cores {cores})" if cores > len(available) else ""
        return None, f"on all {len(available)} available cores{fewer}"
    return available[:cores], f"pinned to {cores} of {len(available)} cores (CPUs {available[:cores]})"


def main() -> None:
    args = parse()
    if args.reference:  # a child of the run below: one reference, its result as the last line
        result = scan_reference(args.folder) if args.reference == "scan" else epoch_reference(args.project.resolve())
        print(json.dumps(result))
        return
    project = args.project.resolve()
    package = package_name(project)
    venv_python = project / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="images-scale-"))).resolve()
    folder, store = workdir / "images", workdir / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    if not venv_python.exists():  # this environment's python: the project's code from its src/, not another install
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH")]))
    cpus, cores = pinned(args.cores)
    this = str(Path(__file__).resolve())

    def run(*command: str) -> tuple[float, float, str]:
        return baked.measure([python, *command], project, env, cpus)

    workdir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    store.unlink(missing_ok=True)  # a fresh store each run, created below before anything is timed
    load_before = os.getloadavg()
    try:
        start = time.perf_counter()
        write_images(folder, args.images, args.side, args.seed)
        made = time.perf_counter() - start
        size = sum(path.stat().st_size for path in folder.rglob("*.png")) / MiB

        scan = run(this, "--reference", "scan", "--folder", str(folder), "--project", str(project))
        adopt = run("-m", package, "adopt", str(folder))
        validate = run("-m", package, "validate")
        run("-c", "import mlflow; mlflow.search_experiments()")  # the store, created once: not a first run's cost
        imports = run("-c", f"import {package}.train")
        epochs = {}
        for workers in WORKERS:
            overrides = ["train.trainer.max_epochs=1", "train.trainer.accelerator=cpu"]
            overrides.append(f"train.datamodule.num_workers={workers}")
            epochs[workers] = run("-m", package, "train", *overrides)
        reference = run(this, "--reference", "epoch", "--project", str(project))
    finally:
        if not args.keep:  # only what this run wrote: a --workdir may hold other things
            shutil.rmtree(folder, ignore_errors=True)
            store.unlink(missing_ok=True)
            if not args.workdir:
                shutil.rmtree(workdir, ignore_errors=True)
    loop = json.loads(reference[2].strip().splitlines()[-1])
    load_after = os.getloadavg()

    print(
        f"\nmachine: {platform.machine()}, {platform.system()}, {os.cpu_count()} cores; every measured process {cores}"
    )
    print(
        f"load average (1/5/15 min): {' / '.join(f'{value:.1f}' for value in load_before)} before, "
        f"{' / '.join(f'{value:.1f}' for value in load_after)} after (other work on these cores slows every step)"
    )
    if max(load_before[0], load_after[0]) > 0.5 * (len(cpus) if cpus else os.cpu_count()):
        print("WARNING: the machine was busy with other work: every time below is inflated; rerun on a quiet one")
    print(f"python: {python}; torch {loop['torch']} ({loop['threads']} threads in the reference loop)")
    print(
        f"data: {args.images:,} PNG images {args.side}x{args.side} grey in {CLASSES} classes, {size:,.1f} MiB; "
        f"written in {made:.1f} s (not measured){f'; kept in {folder}' if args.keep else ''}"
    )
    print(
        f"epoch: {loop['train']:,} training and {loop['val']:,} validation images, batch {BATCH_SIZE}; the "
        f"hand-written loop: {loop['parameters']:,} parameters, validation accuracy {loop['val_accuracy']:.2f} after "
        f"one epoch; its process took {reference[0]:.1f} s (imports and decoding the split, then the loop)\n"
    )
    both = (adopt[0] + validate[0], max(adopt[1], validate[1]))
    rows = [
        ("read + sha256 + PIL decode of every file (reference)", scan, "", "", ""),
        ("adopt", adopt, "file scan", "", ""),
        ("validate", validate, "file scan", "", ""),
        ("adopt + validate", both, "file scan", f"<= {TARGET_ADOPT_S:.0f} s", both[0] <= TARGET_ADOPT_S),
        (f"import {package}.train (baseline)", imports, "", "", ""),
        ("hand-written loop, images in memory (reference)", (loop["seconds"], reference[1]), "", "", ""),
    ]
    rows += [
        (
            f"train, 1 epoch, CPU, num_workers={workers}",
            epoch,
            "in-memory loop",
            f"<= {TARGET_EPOCH_S:.0f} s",
            epoch[0] <= TARGET_EPOCH_S,
        )
        for workers, epoch in epochs.items()
    ]
    references = {"file scan": scan[0], "in-memory loop": loop["seconds"]}
    print("| step | seconds | peak RSS MiB | reference | ratio | target | met |")
    print("|---|---:|---:|---|---:|---|---|")
    missed = []
    for name, (seconds, peak, *_), reference_name, target, met in rows:
        ratio = f"{seconds / references[reference_name]:.1f}x" if reference_name else ""
        verdict = "" if not target else ("yes" if met else "**MISSED**")
        if target and not met:
            missed.append(f"{name}: {seconds:.1f} s, target {target}")
        print(f"| {name} | {seconds:.1f} | {peak:,.0f} | {reference_name} | {ratio} | {target} | {verdict} |")
    print("\n" + ("targets MISSED:\n  " + "\n  ".join(missed) if missed else "targets: all met"))


if __name__ == "__main__":
    main()
