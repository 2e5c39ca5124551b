"""The metric gate: the challenger against a trivial baseline and the production champion, on one test split."""

from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import mlflow.pytorch
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import EvaluationResult, MetricThreshold
from mlflow.models.evaluation.validation import ModelValidationFailedException
from sklearn.dummy import DummyClassifier

from . import config, registry, tracking
from .config import DataConfig, GateConfig
from .data import load_split
from .evaluate import load_model, predict_proba
from .metrics import METRICS, class_recall, classification_metrics, label_codes
from .plugin import TASK
from .results import GateResult, Rule, Score

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class Contender:
    role: str  # challenger, champion or baseline
    description: str
    probabilities: np.ndarray = field(repr=False)
    metrics: dict[str, float] = field(default_factory=dict)
    recall: dict[str, float] = field(default_factory=dict)  # per class


def baseline_probabilities(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """The trivial model of a table or an image: always the training class frequencies (majority class as its
    prediction). A task may bring a stronger one (TASK.baseline: TF-IDF for texts)."""
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(train), 1)), label_codes(train[TASK.label]))
    probabilities = np.zeros((len(test), len(TASK.classes)))
    probabilities[:, dummy.classes_] = dummy.predict_proba(np.zeros((len(test), 1)))
    return probabilities


def paired_bootstrap(labels, challenger, champion, metric: str, samples: int, confidence: float, seed: int) -> dict:
    """Confidence interval of metric(challenger) - metric(champion) over resamples of the same test rows."""
    score = METRICS[metric]
    rng = np.random.default_rng(seed)
    classes = len(np.unique(labels))
    differences = []
    for rows in rng.integers(0, len(labels), size=(samples, len(labels))):
        if len(np.unique(labels[rows])) < classes:
            continue  # a resample that misses a class has no one-vs-rest ROC AUC; skip it for every metric alike
        differences.append(score(labels[rows], challenger[rows]) - score(labels[rows], champion[rows]))
    low, high = np.quantile(differences, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    observed = score(labels, challenger) - score(labels, champion)
    return {"difference": float(observed), "low": float(low), "high": float(high), "resamples": len(differences)}


def mlflow_rule(name: str, requirement: str, metric: str, threshold: MetricThreshold, candidate, baseline=None) -> Rule:
    """Judge one threshold with MLflow's own model validation."""
    observed = f"{candidate.metrics[metric]:.4f}" + (f" vs {baseline.metrics[metric]:.4f}" if baseline else "")
    try:
        mlflow.validate_evaluation_results(
            validation_thresholds={metric: threshold},
            candidate_result=EvaluationResult(metrics=candidate.metrics, artifacts={}),
            baseline_result=EvaluationResult(metrics=baseline.metrics, artifacts={}) if baseline else None,
        )
    except ModelValidationFailedException as failure:
        return Rule(name, requirement, observed, FAILED, str(failure).strip())
    return Rule(name, requirement, observed, PASSED)


def recall_rule(recall: dict[str, float], floor: float) -> Rule:
    """Every class the test split holds is found at least `floor` of the time (configs/gate.yaml min_class_recall)."""
    held = {name: value for name, value in recall.items() if not np.isnan(value)}
    worst = min(held, key=held.get)
    observed = f"{worst}: {held[worst]:.4f} (the lowest)"
    below = [f"{name} {value:.4f}" for name, value in held.items() if value < floor]
    if below:
        return Rule("class recall", f"every class's recall >= {floor}", observed, FAILED, f"below: {', '.join(below)}")
    return Rule("class recall", f"every class's recall >= {floor}", observed, PASSED)


def champion_rule(metric: str, tolerance: float, interval: dict, confidence: float) -> Rule:
    observed = f"{interval['difference']:+.4f} [{interval['low']:+.4f}, {interval['high']:+.4f}]"
    requirement = f"{metric} not worse than @production by > {tolerance} ({confidence * 100:.0f}% CI of the difference)"
    if interval["high"] < -tolerance:
        detail = f"the whole interval lies below -{tolerance}: the challenger is worse than the champion"
        return Rule("champion", requirement, observed, FAILED, detail)
    if interval["low"] > 0:
        detail = "better than the champion (the interval excludes zero)"
    elif interval["high"] < 0:
        detail = "worse than the champion, but within the tolerance"
    else:
        detail = "no difference the test split can resolve (the interval includes zero)"
    return Rule("champion", requirement, observed, PASSED, detail)


def load_champion(client: MlflowClient, name: str, test: pd.DataFrame) -> tuple[Contender | None, str]:
    """The @production model scored on the test split, or None and why it cannot be compared."""
    version = registry.version_with_alias(client, name, "production")
    if version is None:
        return None, f"no champion: {name}@production does not exist"
    model = load_model(f"models:/{name}/{version.version}")
    description = f"version {version.version} (@production, run {version.run_id[:8]})"
    try:
        probabilities = predict_proba(model, test)
    except (RuntimeError, ValueError, IndexError) as error:  # torch.export checks the input's shape
        reason = str(error).strip().splitlines()[0][:200]
        return None, f"{description} takes other inputs than this contract's ({reason}): not compared"
    if probabilities.shape[1] != len(TASK.classes):
        return None, f"{description} answers {probabilities.shape[1]} classes, the contract has {len(TASK.classes)}"
    return Contender("champion", description, probabilities), ""


def gate(register: bool = True) -> GateResult:
    """Score all three, judge the rules, and register the challenger as @staging only if every rule passes.

    register=False judges only (a pull request's CI): the registry is read for the champion, never written.
    """
    gate_cfg, data_cfg = config.load(GateConfig), config.load(DataConfig)  # ranges checked there (config.py)
    metric, floor = gate_cfg.primary_metric, gate_cfg.floor  # floor None: no absolute floor (an adopted table's)
    margin, tolerance = gate_cfg.baseline_margin, gate_cfg.champion_tolerance
    result_path = Path(gate_cfg.result_file)
    result_path.unlink(missing_ok=True)  # a stale verdict must never be reported as this run's
    tracking.start(tracking.settings())
    record = tracking.last_run()
    train, test = load_split(data_cfg.splits_dir, "train"), load_split(data_cfg.splits_dir, "test")
    labels = label_codes(test[TASK.label])
    client, name = MlflowClient(), registry.model_name()

    challenger_model = load_model(record["model_uri"])
    challenger = Contender("challenger", f"run {record['run_id'][:8]}", predict_proba(challenger_model, test))
    baseline = Contender("baseline", *TASK.baseline(train, test))  # the task's trivial model
    champion, no_champion = load_champion(client, name, test)
    contenders = [c for c in (challenger, champion, baseline) if c is not None]
    for contender in contenders:
        contender.metrics = classification_metrics(labels, contender.probabilities)
        contender.recall = class_recall(labels, contender.probabilities)

    if floor is None:
        floor_rule = Rule("floor", "none set (configs/gate.yaml: floor)", "-", SKIPPED, "no absolute floor is set")
    else:
        floor_rule = mlflow_rule(
            "floor",
            f"{metric} >= {floor}",
            metric,
            MetricThreshold(threshold=float(floor), greater_is_better=True),
            challenger,
        )
    rules = [
        floor_rule,
        mlflow_rule("baseline", f"{metric} >= baseline + {margin}", metric,
                    MetricThreshold(min_absolute_change=margin, greater_is_better=True), challenger, baseline),
    ]  # fmt: skip
    if gate_cfg.min_class_recall is not None:
        rules.append(recall_rule(challenger.recall, gate_cfg.min_class_recall))
    bootstrap = gate_cfg.bootstrap
    interval = None
    if champion is None:
        rules.append(Rule("champion", "not worse than @production", "-", SKIPPED, no_champion))
    else:
        interval = paired_bootstrap(
            labels,
            challenger.probabilities,
            champion.probabilities,
            metric,
            samples=bootstrap.samples,
            confidence=bootstrap.confidence,
            seed=bootstrap.seed,
        )
        rules.append(champion_rule(metric, tolerance, interval, bootstrap.confidence))

    passed = all(rule.status != FAILED for rule in rules)
    result = GateResult(
        verdict=PASSED if passed else FAILED,
        primary_metric=metric,
        model_name=name,
        challenger_run_id=record["run_id"],
        challenger_model_uri=record["model_uri"],
        test_rows=len(test),
        contenders={c.role: Score(description=c.description, metrics=c.metrics, recall=c.recall) for c in contenders},
        champion_difference=interval,
        rules=rules,
        registered_version=None,
        dry_run=not register,
    )
    write_predictions(gate_cfg, test, contenders)
    if passed and register:
        tags = {"gate": PASSED, metric: f"{challenger.metrics[metric]:.4f}"}
        version = registry.register(client, name, record["model_uri"], record["run_id"], "staging", tags)
        result.registered_version = str(version)
    with mlflow.start_run(run_id=record["run_id"]):  # only now: the verdict is final and registered
        mlflow.set_tag("gate.verdict", result.verdict)
        mlflow.log_metrics({f"gate_{c.role}_{metric}": c.metrics[metric] for c in contenders})
    result.write(result_path)
    return result


def write_predictions(gate_cfg: GateConfig, test: pd.DataFrame, contenders: list[Contender]) -> None:
    """Per-row probabilities of every contender, for the report's plots."""
    frame = pd.DataFrame({"source_row": test.index, TASK.label: test[TASK.label].astype(str).to_numpy()})  # class names
    for contender in contenders:
        for index, name in enumerate(TASK.class_names):
            frame[f"{contender.role}_{name}"] = contender.probabilities[:, index]
    path = Path(gate_cfg.predictions_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
