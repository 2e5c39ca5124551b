"""`make retrain-check`: drift, the amount of new data and the champion's age, combined into retrain yes/no."""

import time
from pathlib import Path

from mlflow import MlflowClient

from . import config, registry, tracking
from .config import DriftConfig, GateConfig, RetrainConfig
from .drift import drifted_names, report_paths
from .results import DriftResult, RetrainDecision


def decide(result: DriftResult, age_days: float, retrain_cfg: RetrainConfig) -> tuple[bool, str]:
    """The decision and its reason, from a drift result and the compared model's age."""
    min_rows, max_age = retrain_cfg.min_new_rows, retrain_cfg.max_champion_age_days
    rows, version = result.current.rows, result.reference.version
    age = f"version {version} is {age_days:.1f} days old"
    if result.drift:
        drifted = ", ".join(drifted_names(result))
        if rows >= min_rows:
            return True, f"drift in {drifted} over {rows} new rows (>= {min_rows}); {age}"
        if age_days <= max_age:
            return False, (
                f"drift in {drifted}, but only {rows} new rows (< {min_rows}): too few to retrain on; "
                "look at reports/drift.html"
            )
    if age_days > max_age:
        return True, f"{age} (> {max_age}): scheduled refresh"
    return False, f"no drift over {rows} new rows; {age} (<= {max_age})"


def retrain_check() -> RetrainDecision:
    drift_cfg = config.load(DriftConfig)
    retrain_cfg = drift_cfg.retrain
    drift_path = Path(drift_cfg.result_file)
    result = DriftResult.read(drift_path, "no drift result. Run `make drift CURRENT=...` first.")
    tracking.start(tracking.settings())
    reference = result.reference
    version = MlflowClient().get_model_version(reference.model, reference.version)
    age_days = (time.time() - version.creation_timestamp / 1000) / 86400
    retrain, reason = decide(result, age_days, retrain_cfg)
    decision = RetrainDecision(retrain=retrain, reason=reason, drift_result=str(drift_path), model=reference)
    decision.write(retrain_cfg.result_file)
    return decision


def workflow_outputs(decision: RetrainDecision) -> dict[str, str]:
    """`retrain=yes|no` and `reason=...`: printed, and appended to $GITHUB_OUTPUT by the CLI in a workflow."""
    return {"retrain": "yes" if decision.retrain else "no", "reason": decision.reason}


def no_champion() -> str | None:
    """Why a scheduled check has nothing to compare with (no model holds drift.yaml's alias yet), else None."""
    alias = config.load(DriftConfig).alias
    tracking.start(tracking.settings())
    if registry.version_with_alias(MlflowClient(), registry.model_name(), alias) is not None:
        return None
    return (
        f"no @{alias} model in the tracking store yet, so nothing to compare the data with: the first one "
        "comes from cd.yml on a merge to main"
    )


def retrain_body(output: str | Path) -> Path:
    """The retrain pull request's body: the decision's reason, the drift section and the gate's report."""
    from .report import summary_path

    drift_cfg = config.load(DriftConfig)
    decision = RetrainDecision.read(drift_cfg.retrain.result_file, "no decision yet. Run `make retrain-check` first.")
    sections = [f"Scheduled retrain: **{decision.reason}**.", ""]
    for path in (report_paths(drift_cfg)[2], summary_path(config.load(GateConfig))):
        if path.is_file():
            sections += [path.read_text(), ""]
    body = Path(output)
    body.write_text("\n".join(sections))
    return body
