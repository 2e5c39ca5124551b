"""One command line for every step: `python -m <package> <step>` (the Makefile calls these).

Each `cmd_<step>` parses nothing and decides nothing: it calls its step's module and prints what came back. The
step's logic, and everything a test calls directly, lives in that module.
"""

import argparse
import logging
import os
import re
import sys
import warnings
from pathlib import Path

from . import config, github, preflight
from .config import DataConfig, DriftConfig, EvaluateConfig, ServeConfig
from .validate import ContractError


def cmd_data(args: argparse.Namespace) -> int:
    from .data import write_bundled_data
    from .plugin import TASK

    path = Path(args.output or config.load(DataConfig).raw)
    if args.keep_existing and path.exists():
        print(f"{path} exists: keeping it")
        return 0
    write_bundled_data(path)
    print(f"wrote the bundled {TASK.bundled} data to {path} (your own: `make adopt DATA=...`)")
    return 0


def cmd_adopt(args: argparse.Namespace) -> int:
    from .plugin import TASK

    print("\n".join(TASK.adopt(args)))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .splits import validate_and_split

    source = args.file or config.load(DataConfig).raw
    rows, manifest = validate_and_split(source, split_it=not args.no_split)
    print(f"{source}: {rows:,} rows pass the data contract")
    if manifest is not None:
        sizes = ", ".join(f"{name} {part['rows']:,}" for name, part in manifest["parts"].items())
        print(f"saved the split to {config.load(DataConfig).splits_dir}/ ({sizes}); every later step reads these rows")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    result = train(args.overrides, args.config)
    if result is not None:
        print(f"trained: MLflow run {result['run_id']}, model {result['model_uri']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    result = evaluate(args.run_id)
    width = max(map(len, result.metrics))
    print(f"test split ({result.rows} rows), model {result.model_uri}:")
    for name, value in result.metrics.items():
        marker = "  <- primary" if name == result.primary_metric else ""
        print(f"  {name:<{width}}  {value:.4f}{marker}")
    from . import tracking

    store = tracking.settings().tracking_uri
    print(f"metrics:  {config.load(EvaluateConfig).metrics_file}")
    print(f"model:    {result.model_uri} (MLflow run {result.run_id})")
    print(f"tracking: {store}" + (f"  (browse: mlflow ui --backend-store-uri {store})" if "sqlite" in store else ""))
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from .gate import FAILED, gate

    result = gate(register=not args.dry_run)
    for rule in result.rules:
        line = f"  {rule.status:<7} {rule.name:<9} {rule.requirement}: {rule.observed}"
        print(line + (f"\n          {rule.detail}" if rule.detail else ""))
    if result.verdict == FAILED:
        failed = ", ".join(rule.name for rule in result.failed())
        print(f"gate FAILED ({failed}): nothing registered, no alias moved", file=sys.stderr)
        return 1
    if args.dry_run:
        print("gate passed (dry run: nothing registered, no alias moved)")
        return 0
    print(f"gate passed: {result.model_name} version {result.registered_version} is now @staging")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import report

    print(f"wrote {report()} (and its plots beside it)")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from .registry import model_name, promote

    version = promote(args.environment, args.version)
    print(f"{model_name()} version {version} is now @{args.environment}")
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    from .bento import package

    record = package(last_run=args.last_run)
    print(f"built bento {record.bento} from model {record.source}")
    return 0


def cmd_pipeline(args: argparse.Namespace) -> int:
    from .pipeline import PIPELINE, PULL_REQUEST, run

    return run(PULL_REQUEST if args.pull_request else PIPELINE, run_step, args.overrides)


def run_step(argv: list[str]) -> int:
    """One command, in this process: what the pipeline runs (pipeline.py)."""
    step = parser().parse_args(argv)
    return step.run(step)


def cmd_bento_import(args: argparse.Namespace) -> int:
    from .bento import import_archive

    print(import_archive(args.archive))
    return 0


def cmd_preflight(args: argparse.Namespace) -> int:
    return preflight.preflight(args.workflow) if args.workflow else preflight.preflight_all()


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor

    return doctor()


def cmd_scheduled_check(args: argparse.Namespace) -> int:
    from .drift import DRIFT, NO_DRIFT
    from .pipeline import scheduled_check

    return scheduled_check(args.current or config.load(DataConfig).raw, run_step, answers=(NO_DRIFT, DRIFT))


def cmd_template_check(args: argparse.Namespace) -> int:
    from .template_update import check

    return check(Path.cwd(), args.ref)


def cmd_template_update(args: argparse.Namespace) -> int:
    from .template_update import update

    return update(Path.cwd(), args.ref, args.body, args.conflicts_ok)


def cmd_serve(args: argparse.Namespace) -> int:
    from .local_server import serve_command, serve_env

    command = serve_command(args.port or config.load(ServeConfig).port)
    print(" ".join(command), flush=True)
    os.execve(command[0], command, serve_env())  # the server replaces this process: Ctrl-C stops it


def cmd_smoke(args: argparse.Namespace) -> int:
    from .smoke import serve_and_smoke, smoke

    if args.url:
        problems, url = smoke(args.url), args.url
    else:
        problems, url = serve_and_smoke()
    for problem in problems:
        print(f"smoke: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"smoke passed: {url} is live, ready, and answers as the packaged model does")
    return 0


def cmd_loadtest(args: argparse.Namespace) -> int:
    from .loadtest import loadtest

    settings = config.load(ServeConfig).loadtest
    figures = loadtest(args.url, settings)
    slo = settings.slo
    print(
        f"{figures['requests']} requests from {settings.users} users in {settings.duration_s} s: "
        f"{figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms "
        f"(SLO {slo.p99_ms} ms), errors {100 * figures['error_rate']:.2f}% (SLO {100 * slo.max_error_rate:.2f}%)"
    )
    if not figures["passed"]:
        print("loadtest FAILED: the SLO in configs/serve.yaml was missed", file=sys.stderr)
        return 1
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    from .drift import DRIFT, INVALID, NO_DRIFT, drift, drifted_names, report_paths

    current = args.current or config.load(ServeConfig).request_log.path
    try:
        result = drift(current, args.alias)
    except ContractError as error:
        print(f"invalid current data: {error}", file=sys.stderr)
        return INVALID
    reference, checked = result.reference, result.current
    for skipped in checked.skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    for kind, count in checked.checks_left_out.items():
        print(f"left out: {count} {kind} request(s), the checks' own traffic (not users')")
    print(
        f"{current}: {checked.rows} rows ({checked.checked_rows} checked) against the training sample of "
        f"{reference.model} version {reference.version} ({reference.rows} rows)"
    )
    share = result.drift_share
    print(f"drifted columns: {share.drifted_columns or 0:.0f} ({100 * (share.share or 0):.1f}% of the checked columns)")
    print(f"prediction: {'drifted' if result.prediction.drifted else 'no drift'}")
    print(f"reports: {', '.join(map(str, report_paths(config.load(DriftConfig))))}")
    if result.drift:
        print(f"DRIFT in {', '.join(drifted_names(result))}", file=sys.stderr)
        return DRIFT
    print("no drift")
    return NO_DRIFT


def cmd_retrain_check(args: argparse.Namespace) -> int:
    from .retrain import retrain_check, workflow_outputs

    github.write_outputs(workflow_outputs(retrain_check()))
    return 0


def cmd_simulate_traffic(args: argparse.Namespace) -> int:
    from .local_server import running_bento
    from .traffic import held_out_records, send

    simulate = config.load(DriftConfig).simulate
    records = held_out_records(simulate.shift if args.shift else None)
    factors = ", ".join(f"{column} x{factor}" for column, factor in simulate.shift.items())
    kind = f"shifted ({factors})" if args.shift else "held-out"
    if args.url:
        sent = send(args.url, records, simulate.batch)
        print(f"sent {sent} {kind} records to {args.url}; they are in that service's request log")
        return 0
    Path(args.log).unlink(missing_ok=True)  # this log holds this traffic only
    with running_bento(request_log=args.log) as url:
        sent = send(url, records, simulate.batch)
    print(f"sent {sent} {kind} records to the bento at {url}; its request log: {args.log}")
    print(f"check it: make drift CURRENT={args.log}")
    return 0


def cmd_deploy_info(args: argparse.Namespace) -> int:
    from .bento import deploy_info

    github.write_outputs(deploy_info(args.registry).model_dump())
    return 0


def cmd_bento_tag(args: argparse.Namespace) -> int:
    from .bento import last_build

    print(last_build().bento)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from .bento import publish

    image, commands = publish(args.registry, dry_run=args.dry_run)
    if args.dry_run:
        print("\n".join(" ".join(command) for command in commands))
        return 0
    github.write_outputs({"image": image})
    return 0


def cmd_bump(args: argparse.Namespace) -> int:
    from .gitops import bump

    commit = bump(args.env, args.image, args.model_version, commit=not args.no_commit, publish=args.push)
    where = f"commit {commit[:12]}" + (" pushed" if args.push else "") if commit else "no change to commit"
    print(f"deploy/overlays/{args.env}: {args.image}, model version {args.model_version} ({where})")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from .gitops import history

    print(f"deploy/overlays/{args.env}: what was live, from the overlay's git log (oldest first)\n")
    print("| from | until | image | model version | commit |")
    print("|---|---|---|---|---|")
    for entry in history(args.env):
        until = entry["until"] or "live now"
        print(f"| {entry['since']} | {until} | {entry['image']} | {entry['model_version']} | {entry['commit'][:12]} |")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from .gitops import rollback

    commit = rollback(args.env, publish=args.push)
    pushed = " (pushed)" if args.push else ""
    print(f"deploy/overlays/{args.env}: last bump reverted by commit {commit[:12]}{pushed}")
    return 0


def cmd_wait_deployed(args: argparse.Namespace) -> int:
    from .gitops import wait_deployed

    answer = wait_deployed(args.url, args.model_version, args.timeout, args.interval)
    print(f"{args.url} serves {answer['model']['name']} version {answer['model']['version']} ({answer['bento']})")
    return 0


def cmd_wait_rollout(args: argparse.Namespace) -> int:
    from .gitops import RolloutFailed, wait_rollout

    try:
        state = wait_rollout(args.env, args.revision, args.timeout, args.interval)
    except RolloutFailed as error:
        print(f"rollout aborted: {error}", file=sys.stderr)
        return 1
    print(f"{state['application']}: {state['health']} at {state['revision'][:12]} (Argo CD)")
    return 0


def cmd_monitoring(args: argparse.Namespace) -> int:
    from . import production

    config.load(ServeConfig), config.load(DriftConfig)  # refused here, naming the key, before a file is written
    if args.check:
        stale = production.stale(Path.cwd())
        for path in stale:
            print(f"{path}: differs from configs/serve.yaml and configs/drift.yaml: run `make monitoring`")
        return 1 if stale else 0
    changed = production.write(Path.cwd())
    print("\n".join(f"wrote {path}" for path in changed) or "deploy/: the analysis, alerts and dashboard are current")
    return 0


def cmd_model_pin(args: argparse.Namespace) -> int:
    from .gitops import pin_from_gate

    path, version, reason = pin_from_gate(args.version, args.reason)
    print(f"{path}: version {version} ({reason})")
    return 0


def cmd_release_pin(args: argparse.Namespace) -> int:
    from .gitops import PIN, release_pin
    from .registry import model_name

    version = release_pin()
    if version is None:
        print(f"{PIN} not changed by the last commit: train and gate this commit")
        return 3
    print(f"{PIN}: {model_name()} version {version} (pinned by the merged pull request) is now @staging; no training")
    return 0


def cmd_retrain_body(args: argparse.Namespace) -> int:
    from .retrain import retrain_body

    print(f"wrote {retrain_body(args.output)}")
    return 0


def cmd_job_summary(args: argparse.Namespace) -> int:
    from .report import job_summary

    print(job_summary())
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog=__package__, description=sys.modules[__package__].__doc__)
    steps = root.add_subparsers(dest="step", required=True)

    step = steps.add_parser("data", help="write the bundled example data where configs/data.yaml expects it")
    step.add_argument("--output", help="where to write the data (default: data.raw in configs/data.yaml)")
    step.add_argument("--keep-existing", action="store_true", help="do nothing if the file is already there")
    step.set_defaults(run=cmd_data)

    from .plugin import TASK

    what = "folder" if TASK.source_kind == "folder" else "table"
    step = steps.add_parser("adopt", help=f"your own {what}: copy it to data/raw/, write the contract from it")
    TASK.add_adopt_arguments(step)
    step.set_defaults(run=cmd_adopt)

    step = steps.add_parser("validate", help="check the data against the contract, then save the split")
    step.add_argument("file", nargs="?", help="CSV file to check (default: data.raw in configs/data.yaml)")
    step.add_argument("--no-split", action="store_true", help="only check the file; do not write the split")
    step.set_defaults(run=cmd_validate)

    step = steps.add_parser("train", help="train on the saved split and log the run to MLflow")
    step.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="override configs, e.g. train.trainer.max_epochs=3"
    )
    step.add_argument("--config", default="train", help="trainer settings file in configs/ (train-cluster: multi-node)")
    step.set_defaults(run=cmd_train)

    step = steps.add_parser("evaluate", help="score the last trained model on the test split")
    step.add_argument("--run-id", help="MLflow run to evaluate (default: the last training run)")
    step.set_defaults(run=cmd_evaluate)

    step = steps.add_parser("gate", help="challenger vs baseline vs @production; on a pass register it as @staging")
    step.add_argument("--dry-run", action="store_true", help="judge only: register nothing (pull requests)")
    step.set_defaults(run=cmd_gate)

    step = steps.add_parser("report", help="write reports/summary.md and its plots from the gate's result")
    step.set_defaults(run=cmd_report)

    step = steps.add_parser("promote", help="move an environment's alias (production takes @staging's version)")
    step.add_argument("environment", help="the alias to move, e.g. production")
    step.add_argument("--version", help="move it to this version (it must have passed the gate)")
    step.set_defaults(run=cmd_promote)

    step = steps.add_parser("package", help="bentoml build: the model holding the configured alias into a bento")
    step.add_argument("--last-run", action="store_true", help="package the last run's model instead (pull requests)")
    step.set_defaults(run=cmd_package)

    step = steps.add_parser("pipeline", help="every step: data (if missing), validate, train, ..., package, smoke")
    step.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="passed to train, as `make train ARGS=...`")
    step.add_argument(
        "--pull-request", action="store_true", help="up to the report, the gate judging only (no register, no bento)"
    )
    step.set_defaults(run=cmd_pipeline)

    step = steps.add_parser("bento-import", help="an exported bento into the store; the same one again is a no-op")
    step.add_argument("archive", help="the file `make bento-export` wrote, e.g. build/release/service.bento")
    step.set_defaults(run=cmd_bento_import)

    step = steps.add_parser("serve", help="serve the last built bento (configs/serve.yaml: port)")
    step.add_argument("--port", type=int, help="default: port in configs/serve.yaml")
    step.set_defaults(run=cmd_serve)

    step = steps.add_parser("smoke", help="health, readiness and a known answer (no --url: start the bento, check it)")
    step.add_argument("--url", help="a running service, e.g. http://127.0.0.1:3000 or the staging URL")
    step.set_defaults(run=cmd_smoke)

    step = steps.add_parser("loadtest", help="headless locust against a URL, judged against the SLO")
    step.add_argument("--url", required=True, help="a running service")
    step.set_defaults(run=cmd_loadtest)

    step = steps.add_parser("drift", help="current data vs the training reference; exit 1 drift, 3 invalid")
    step.add_argument("current", nargs="?", help="a CSV or a request log (default: the service's request log)")
    step.add_argument("--alias", help="compare a CSV with this alias's version (default: alias in configs/drift.yaml)")
    step.set_defaults(run=cmd_drift)

    step = steps.add_parser("retrain-check", help="drift, new rows and the champion's age -> retrain=yes|no, reason")
    step.set_defaults(run=cmd_retrain_check)

    step = steps.add_parser("simulate-traffic", help="send held-out rows (--shift: shifted) to a served bento")
    step.add_argument("--url", help="a running service (default: start the built bento on a free port)")
    step.add_argument("--shift", action="store_true", help="shift the columns in configs/drift.yaml simulate.shift")
    step.add_argument("--log", default="logs/traffic.jsonl", help="request log of the bento started here")
    step.set_defaults(run=cmd_simulate_traffic)

    step = steps.add_parser("deploy-info", help="image, model version and bento of the last build (key=value lines)")
    step.add_argument("--registry", required=True, help="e.g. ghcr.io/owner")
    step.set_defaults(run=cmd_deploy_info)

    step = steps.add_parser("bento-tag", help="the last built bento's tag (artifacts/bento.json)")
    step.set_defaults(run=cmd_bento_tag)

    step = steps.add_parser("publish", help="bentoml containerize the last bento and docker push it")
    step.add_argument("--registry", required=True, help="e.g. ghcr.io/owner")
    step.add_argument("--dry-run", action="store_true", help="print the commands only")
    step.set_defaults(run=cmd_publish)

    step = steps.add_parser("bump", help="write image and model version into deploy/overlays/<env> and commit")
    step.add_argument("--env", required=True)
    step.add_argument("--image", required=True, help="<registry>/<name>:<tag>")
    step.add_argument("--model-version", required=True)
    step.add_argument("--push", action="store_true", help="push the commit (rebasing onto the remote first)")
    step.add_argument("--no-commit", action="store_true", help="only edit the file")
    step.set_defaults(run=cmd_bump)

    step = steps.add_parser("rollback", help="revert the last bump of deploy/overlays/<env> with a new commit")
    step.add_argument("--env", required=True)
    step.add_argument("--push", action="store_true")
    step.set_defaults(run=cmd_rollback)

    step = steps.add_parser("history", help="which image and model version deploy/overlays/<env> held when (git log)")
    step.add_argument("--env", required=True)
    step.set_defaults(run=cmd_history)

    step = steps.add_parser("wait-deployed", help="poll URL/version until it serves the model version")
    step.add_argument("--url", required=True)
    step.add_argument("--model-version", required=True)
    step.add_argument("--timeout", type=float, default=600)
    step.add_argument("--interval", type=float, default=5)
    step.set_defaults(run=cmd_wait_deployed)

    step = steps.add_parser("wait-rollout", help="wait for Argo CD to sync the last bump and call it Healthy")
    step.add_argument("--env", required=True)
    step.add_argument("--revision", help="the bump's commit (default: the overlay's last commit)")
    step.add_argument("--timeout", type=float, default=1500)
    step.add_argument("--interval", type=float, default=10)
    step.set_defaults(run=cmd_wait_rollout)

    step = steps.add_parser("monitoring", help="write the canary analysis, alerts and dashboard from the configs")
    step.add_argument("--check", action="store_true", help="only say which files differ (exit 1 if any)")
    step.set_defaults(run=cmd_monitoring)

    step = steps.add_parser("model-pin", help="write deploy/model.yaml: the version a retrain pull request deploys")
    step.add_argument("--version", help="default: the version the last gate registered")
    step.add_argument("--reason", help="default: the reason in reports/retrain.json")
    step.set_defaults(run=cmd_model_pin)

    step = steps.add_parser("release-pin", help="move @staging to the pinned version if the last commit pinned one")
    step.set_defaults(run=cmd_release_pin)

    step = steps.add_parser("retrain-body", help="the retrain pull request's body: reason, drift and gate report")
    step.add_argument("--output", default="reports/retrain-pr.md")
    step.set_defaults(run=cmd_retrain_body)

    step = steps.add_parser("job-summary", help="append reports/summary.md to the workflow's job summary")
    step.set_defaults(run=cmd_job_summary)

    step = steps.add_parser("preflight", help="the settings a workflow needs: names each missing one and where")
    step.add_argument("workflow", nargs="?", choices=list(preflight.NEEDS), help="default: every workflow")
    step.set_defaults(run=cmd_preflight)

    step = steps.add_parser("doctor", help="what the project is connected to: tracking, registry, bentos, deploys")
    step.set_defaults(run=cmd_doctor)

    step = steps.add_parser("scheduled-check", help="drift vs @production, then retrain-check (no champion: no)")
    step.add_argument("--current", help="the data to check (default: data.raw in configs/data.yaml)")
    step.set_defaults(run=cmd_scheduled_check)

    step = steps.add_parser("template-check", help="how far behind its template the project is: exit 0 no, 1 behind")
    step.add_argument("--ref", help="a branch, tag or commit of the template (default: its newest commit)")
    step.set_defaults(run=cmd_template_check)

    step = steps.add_parser("template-update", help="take the template's changes, keeping your edits (cruft)")
    step.add_argument("--ref", help="a branch, tag or commit of the template (default: its newest commit)")
    step.add_argument("--body", type=Path, help="also write a pull request's body (commits, conflicts) here")
    step.add_argument("--conflicts-ok", action="store_true", help="exit 0 with conflicts left in the files (a bot)")
    step.set_defaults(run=cmd_template_update)
    return root


# Library notices that say nothing about this project's data or model; everything else is shown.
QUIET = [
    "The specified dataset source can be interpreted in multiple ways",  # mlflow.data, local CSV paths
    "Hint: Inferred schema contains integer column",  # the label column of a logged dataset
    "Only registered checks may be serialized",  # pandera: the has-rows check is code, not data
    "`isinstance(treespec, LeafSpec)` is deprecated",  # lightning on torch 2.13
    "try installing [litlogger]",  # lightning's advertisement
]


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(message in record.getMessage() for message in QUIET)


def quiet_library_notices() -> None:
    for message in QUIET:
        warnings.filterwarnings("ignore", message=f".*{re.escape(message)}")
    # pytorch_lightning: the name the notices are logged under when mlflow's Lightning integration is loaded.
    for package in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(f"{package}.utilities.rank_zero").addFilter(_Quiet())
    # The gate prints its own verdict per rule; MLflow's "validating..." lines only repeat it.
    logging.getLogger("mlflow.models.evaluation.validation").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet_library_notices()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # progress bars fill CI logs
    try:
        return args.run(args)
    except Exception as error:
        if not isinstance(error, _expected_errors()):
            raise
        print(f"error: {_unreachable(error) or error}", file=sys.stderr)
        return 2


def _expected_errors() -> tuple[type[Exception], ...]:
    """What a command fails with for the user to fix: one line, exit 2. A traceback is left for anything else.

    MLflow and requests are looked up only once something failed: `make adopt` and `make validate` never import
    them (about 5 s of a command's start).
    """
    errors: tuple[type[Exception], ...] = (ContractError, config.ConfigError, OSError, ValueError, RuntimeError)
    if "mlflow" in sys.modules:
        from mlflow.exceptions import MlflowException

        errors += (MlflowException,)
    return errors  # requests' ConnectionError is an OSError


def _unreachable(error: Exception) -> str | None:
    """A clear line for a tracking server that does not answer, instead of a connection-pool message."""
    text = str(error)
    requests = sys.modules.get("requests")
    connection = requests is not None and isinstance(error, requests.exceptions.ConnectionError)
    if not connection and "failed with exception" not in text:
        return None
    import mlflow

    reason = text.split("Caused by", 1)[-1].strip(" ()'\"")[:200]
    return (
        f"cannot reach the MLflow tracking server at {mlflow.get_tracking_uri()}: is it running, and is "
        f"MLFLOW_TRACKING_URI (or configs/tracking.yaml) right? ({reason})"
    )


if __name__ == "__main__":
    sys.exit(main())
