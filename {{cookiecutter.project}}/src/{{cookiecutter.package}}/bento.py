"""`make package`: the registry's model (by alias) into the bento model store, then `bentoml build`."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bentoml
import mlflow
import torch
import yaml
from mlflow import MlflowClient

from . import config, registry, tracking
from .config import DataConfig, ServeConfig, ServiceSettings
from .data import load_split
from .evaluate import ENCODER_FILES
from .plugin import TASK
from .results import BentoRecord, DeployInfo
from .splits import file_sha256

CONTEXT = Path("build/bento")  # assembled anew each time; never edited by hand
RECORD = Path("artifacts/bento.json")
SMOKE = Path("artifacts/smoke.json")
BUILD_LOG = Path("build/bentoml-build.log")  # the whole output of a failed `bentoml build`
# The modules the service imports: the contract and the task's serving code, not the training code (no lightning in
# the image).
SERVED_MODULES = [
    "__init__.py",
    "asgi.py",
    "config.py",
    "plugin.py",
    "service.py",
    "signals.py",
    "task_base.py",
    *TASK.served_modules,
]


def last_build() -> BentoRecord:
    """The last built bento (artifacts/bento.json): its tag and the registry model version it holds."""
    return BentoRecord.read(RECORD, "no bento built yet. Run `make package` first.")


# Declared dependencies the service never imports: left out of the bento with whatever only they need.
# transformers: a text project fine-tunes with it; the bento serves the exported program and the tokenizer file.
NOT_SERVED = [
    "evidently", "lightning", "matplotlib", "mlflow", "pip", "pyarrow", "ruamel-yaml", "scikit-learn", "scipy",
    "torchmetrics", "transformers",
]  # fmt: skip


def image_packages() -> list[str]:
    """The serving subset of uv.lock, every package at its locked version (CPU torch: the model is small)."""
    bootstrapped = Path("build/tools/uv/bin/uv")  # where `make setup` installs uv when it is not on the PATH
    uv = os.environ.get("UV") or shutil.which("uv") or (str(bootstrapped) if bootstrapped.is_file() else None)
    if not Path("uv.lock").is_file() or uv is None:
        raise FileNotFoundError("uv.lock (or uv) not found: run `make setup`, which makes the lock, then commit it")
    prune = [argument for name in NOT_SERVED for argument in ("--prune", name)]
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-dev", "--no-header", "--no-annotate",
         "--extra", "cpu", *prune],
        capture_output=True, text=True,
    )  # fmt: skip
    if exported.returncode != 0:
        raise RuntimeError(f"uv export failed (is uv.lock current? run `make setup`):\n{exported.stderr[-2000:]}")
    pinned = [line.strip() for line in exported.stdout.splitlines() if line.strip() and not line.startswith("#")]
    return ["--extra-index-url https://download.pytorch.org/whl/cpu", *pinned]


def safe_tag(text: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "-" for char in text.lower())


@dataclass
class Source:
    """Where the packaged model comes from: a registered version (CD) or the last run (a pull request's build)."""

    uri: str
    version: str  # the registry version, or "unregistered"
    run_id: str
    label: str  # in the bento's version: m<version> or r<run id>
    description: str


def resolve_source(client: MlflowClient, name: str, alias: str, last_run: bool) -> Source:
    if last_run:
        record = tracking.last_run()
        run_id = record["run_id"]
        return Source(record["model_uri"], "unregistered", run_id, f"r{run_id[:8]}", f"run {run_id[:8]}")
    version = registry.version_with_alias(client, name, alias)
    if version is None:
        raise ValueError(f"model {name!r} has no @{alias} version: run `make gate` first (a pass sets @staging)")
    number = str(version.version)
    return Source(f"models:/{name}/{number}", number, version.run_id, f"m{number}", f"version {number} (@{alias})")


def model_files(uri: str, folder: Path) -> None:
    """Copy a logged model's pt2 program and the task's encoder files (a tokenizer) into `folder`: what a bento
    model holds, and all the service reads."""
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=scratch))
        programs = list(local.rglob("*.pt2"))
        if len(programs) != 1:
            raise ValueError(f"{uri}: expected one .pt2 program, found {len(programs)}")
        shutil.copy(programs[0], folder / "model.pt2")
        for extra in sorted((programs[0].parent.parent / ENCODER_FILES).glob("*")):
            shutil.copy(extra, folder / extra.name)


def import_model(name: str, source: Source, commit: str) -> bentoml.Model:
    """The model's files (model_files) into the bento model store: a self-contained bento needs no MLflow."""
    tag = f"{safe_tag(name)}:{source.label}-{commit[:7]}"
    try:
        return bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        pass
    labels = {"mlflow_model": name, "mlflow_version": source.version, "git_commit": commit[:40]}
    with bentoml.models.create(tag, labels=labels, metadata={"mlflow_run_id": source.run_id}) as model:
        model_files(source.uri, Path(model.path))
    return bentoml.models.get(tag)


def write_smoke(model: bentoml.Model, splits_dir: str, rows: int = 5) -> None:
    """Known answers for `make smoke`: test rows and what this exact model predicts for them."""
    test = load_split(splits_dir, "test").head(rows)
    program = torch.export.load(model.path_of("model.pt2")).module()
    encoder = TASK.load_encoder(Path(model.path))  # as the service reads it
    with torch.no_grad():
        expected = program(torch.from_numpy(TASK.encode(test, encoder))).numpy()
    records = [TASK.to_request(row) for row in test.to_dict("records")]
    SMOKE.parent.mkdir(parents=True, exist_ok=True)
    SMOKE.write_text(json.dumps({"model": str(model.tag), "records": records, "expected": expected.tolist()}) + "\n")


def assemble(settings: ServiceSettings) -> None:
    package_dir = Path(__file__).parent
    if CONTEXT.exists():
        shutil.rmtree(CONTEXT)
    (CONTEXT / __package__).mkdir(parents=True)
    for module in SERVED_MODULES:
        shutil.copy(package_dir / module, CONTEXT / __package__ / module)
    (CONTEXT / __package__ / "service.yaml").write_text(
        yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False)
    )
    bentofile = {
        "service": f"{__package__}.service:PredictionService",
        "include": [f"{__package__}/*.py", f"{__package__}/service.yaml"],
    }
    (CONTEXT / "bentofile.yaml").write_text(yaml.safe_dump(bentofile, sort_keys=False))


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in path.parts)


@contextlib.contextmanager
def build_context():
    """CONTEXT, or a copy of it outside any dot-folder: `bentoml build` refuses a bentofile under a hidden path
    (a clone in ~/.local/src, a CI cache folder) with "Accessing hidden files is not allowed"."""
    if not _hidden(CONTEXT.resolve()):
        yield CONTEXT.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="bento-context-") as scratch:
        if _hidden(Path(scratch)):
            raise RuntimeError(f"{CONTEXT.resolve()} and {scratch} both hold a dot-folder: set TMPDIR to a plain one")
        copy = Path(scratch) / "bento"
        shutil.copytree(CONTEXT, copy)
        yield copy


def build(version: str, labels: list[str]) -> str:
    """`bentoml build` of CONTEXT; its tag. A failure is one line (the whole output is kept in BUILD_LOG)."""
    with build_context() as context:
        built = subprocess.run(
            [sys.executable, "-m", "bentoml", "build", ".", "--version", version, "-o", "tag", *labels],
            cwd=context, capture_output=True, text=True,
        )  # fmt: skip
    if built.returncode != 0:
        BUILD_LOG.parent.mkdir(parents=True, exist_ok=True)
        BUILD_LOG.write_text(built.stdout + built.stderr)
        lines = [line.strip() for line in built.stderr.splitlines() if line.strip()] or ["(no output)"]
        raise RuntimeError(f"bentoml build failed: {lines[-1]} (all of it: {BUILD_LOG})")
    return built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")


def package(last_run: bool = False) -> BentoRecord:
    """Build the bento from the model holding serve.yaml's alias, or (last_run) from the last training run."""
    serve_cfg, data_cfg = config.load(ServeConfig), config.load(DataConfig)
    tracking.start(tracking.settings())
    client, name = MlflowClient(), registry.model_name()
    source = resolve_source(client, name, serve_cfg.alias, last_run)
    commit, _ = tracking.git_commit()
    commit = commit if len(commit) == 40 else "nogit"  # a project without a first commit yet
    model = import_model(name, source, commit)
    write_smoke(model, data_cfg.splits_dir)
    bento_version = f"{commit[:7]}-{source.label}"  # the git SHA and the model version (or run)
    bento_tag = f"{safe_tag(name)}:{bento_version}"
    service_settings = config.model_for(ServiceSettings)  # the task's own where it has one
    served = set(service_settings.model_fields) & set(type(serve_cfg).model_fields)
    settings = service_settings.model_validate(
        {key: getattr(serve_cfg, key) for key in served}
        | {
            "service_name": safe_tag(name),
            "model_tag": str(model.tag),
            "served_model": {"name": name, "version": source.version}
            | ({"run_id": source.run_id} if source.version == "unregistered" else {}),
            "bento": bento_tag,
            "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
            "image_packages": image_packages(),
            # A training row shown in the OpenAPI schema (not for a large input: the schema would hold every value).
            "example": TASK.to_request(load_split(data_cfg.splits_dir, "train").iloc[0].to_dict())
            if TASK.num_inputs <= 4096
            else None,
        }
    )
    assemble(settings)
    # Same commit and model, rebuilt (e.g. with uncommitted changes): replace the bento rather than fail.
    with contextlib.suppress(bentoml.exceptions.NotFound):
        bentoml.bentos.delete(bento_tag)
    labels = [f"--label=git_commit={commit[:7]}", f"--label=model_version={source.version}"]
    labels += [] if last_run else [f"--label=alias={serve_cfg.alias}"]
    tag = build(bento_version, labels)
    record = BentoRecord(
        bento=tag, model=str(model.tag), mlflow_version=source.version, source=source.description,
        alias=None if last_run else serve_cfg.alias,
    )  # fmt: skip
    record.write(RECORD)
    return record


def import_archive(archive: str | Path) -> str:
    """`make bento-import`: an exported bento into the local store, safe to run twice.

    The bento already in the store, file for file, is a no-op (a re-run job, or a build and an image job sharing
    one runner's store); a different bento under the same tag is refused, never replaced.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"{archive}: no exported bento here. The build job writes it (`make bento-export`).")
    with tempfile.TemporaryDirectory() as scratch:
        # Unpacked first in a store of its own: its tag and files, compared before the real store is touched.
        env = {**os.environ, "BENTOML_HOME": scratch}
        command = [sys.executable, "-m", "bentoml", "import", str(archive)]
        unpacked = subprocess.run(command, env=env, capture_output=True, text=True)
        if unpacked.returncode != 0:
            raise RuntimeError(f"{archive}: not a bento archive bentoml can import:\n{unpacked.stderr[-2000:]}")
        (incoming,) = [path for path in Path(scratch, "bentos").glob("*/*") if path.is_dir()]
        tag = f"{incoming.parent.name}:{incoming.name}"
        try:
            present = Path(bentoml.get(tag).path)
        except bentoml.exceptions.NotFound:
            bentoml.import_bento(str(archive))
            return f"imported bento {tag}"
        if file_sha256(present) != file_sha256(incoming):  # every file's relative path and content
            raise ValueError(
                f"a different bento is already in the store as {tag} ({present}): it is not replaced. Delete it "
                f"(`bentoml delete {tag}`) if it is stale, or give each job a store of its own (BENTOML_HOME)."
            )
        return f"bento {tag} is already in the store, the same file for file: nothing to import"


def image_ref(registry: str) -> str:
    """<registry>/<bento name>:<bento version>: the git SHA and the model version, as the bento is tagged."""
    name, version = last_build().bento.split(":")
    return f"{registry.rstrip('/')}/{name}:{version}"


def deploy_info(registry: str) -> DeployInfo:
    """The image, model version and bento of the last build, as the deploy steps take them."""
    record = last_build()
    return DeployInfo(image=image_ref(registry), model_version=record.mlflow_version, bento=record.bento)


def publish(registry: str, dry_run: bool = False) -> tuple[str, list[list[str]]]:
    """`make publish`: `bentoml containerize` the last bento as the registry's image, then `docker push` it.
    Returns the image and the commands (run unless dry_run)."""
    image = image_ref(registry)
    commands = [
        [sys.executable, "-m", "bentoml", "containerize", last_build().bento, "--image-tag", image],
        ["docker", "push", image],
    ]
    if dry_run:
        return image, commands
    if shutil.which("docker") is None:
        raise RuntimeError("publish needs a Docker engine (docker not found); CI runs it on ubuntu-latest")
    for command in commands:
        subprocess.run(command, check=True)
    return image, commands
