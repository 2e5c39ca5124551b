"""The report a pull request shows: reports/summary.md (GitHub-flavoured markdown) and its plots.

A pull-request comment cannot show an image by relative path, so the charts in the markdown are ones GitHub draws
itself: mermaid `xychart-beta` line charts for the ROC and precision-recall curves, the confusion matrix as a
table. The same plots are also written as PNG files beside it; CI uploads them as a workflow artifact and links
it (REPORT_PLOTS_URL).
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # the object API draws to files with no display or pyplot state
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    precision_recall_curve,
    roc_curve,
)

from . import config, github
from .config import DataConfig, GateConfig
from .metrics import confusion
from .plugin import TASK
from .results import GateResult

ROLES = ("challenger", "champion", "baseline")
STYLE = {"challenger": "-", "champion": "--", "baseline": ":"}  # identical curves stay visible
ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
MAX_BYTES = 60_000  # GitHub caps a comment at 65,536 characters
PLOTS_URL_ENV = "REPORT_PLOTS_URL"  # where the PNG plots can be downloaded (CI: the run's artifacts)
COLOUR = {"challenger": ("#1f77b4", "blue"), "champion": ("#ff7f0e", "orange"), "baseline": ("#2ca02c", "green")}
GRID = np.linspace(0.0, 1.0, 21)  # the x positions a mermaid line chart spaces evenly: 0, 0.05, ..., 1


def plots(predictions: pd.DataFrame, directory: Path) -> list[tuple[str, str]]:
    """Confusion matrix of the challenger; ROC and precision-recall curves of every contender."""
    labels = predictions[TASK.label].map(TASK.class_names.index).to_numpy()  # class names -> the model's class index
    made = []

    side = max(4.5, 0.5 * len(TASK.classes))  # room for every class's row and column
    figure = Figure(figsize=(side, side - 0.5))
    axes = figure.subplots()
    predicted = predictions[[f"challenger_{name}" for name in TASK.class_names]].to_numpy().argmax(axis=1)
    ConfusionMatrixDisplay.from_predictions(
        labels, predicted, labels=range(len(TASK.classes)), display_labels=TASK.class_names, ax=axes, colorbar=False
    )
    axes.set_title("Challenger on the test split")
    made.append(_save(figure, directory / "confusion_matrix.png", "Confusion matrix"))
    if (
        TASK.positive is None or len(TASK.classes) != 2
    ):  # no one class singled out (the contract's POSITIVE): the matrix says it
        return made

    positive = str(TASK.positive)
    roles = [role for role in ROLES if f"{role}_{positive}" in predictions]
    for display, filename, title in (
        (RocCurveDisplay, "roc_curve.png", "ROC curve"),
        (PrecisionRecallDisplay, "pr_curve.png", "Precision-recall curve"),
    ):
        figure = Figure(figsize=(4.5, 4))
        axes = figure.subplots()
        for role in roles:
            display.from_predictions(
                predictions[TASK.label],  # class names: the axes name the positive class as the data does
                predictions[f"{role}_{positive}"],
                pos_label=positive,
                name=role,
                ax=axes,
                curve_kwargs={"linestyle": STYLE[role]},
            )
        axes.set_title(f"{title} (positive class: {positive})")
        made.append(_save(figure, directory / filename, title))
    return made


def confusion_table(predictions: pd.DataFrame) -> list[str]:
    """The challenger's confusion matrix as a markdown table: a row per true class, a column per prediction."""
    labels = predictions[TASK.label].map(TASK.class_names.index).to_numpy()  # class names -> the model's class index
    matrix = confusion(labels, predictions[[f"challenger_{name}" for name in TASK.class_names]].to_numpy())
    lines = ["| true \\ predicted | " + " | ".join(TASK.class_names) + " |", "|---|" + "---:|" * len(TASK.classes)]
    for name, row in zip(TASK.class_names, matrix, strict=True):
        lines.append(f"| **{name}** | " + " | ".join(str(count) for count in row) + " |")
    return lines


def curve_charts(predictions: pd.DataFrame) -> list[str]:
    """ROC and precision-recall curves of every contender as mermaid line charts (none without a positive class)."""
    if TASK.positive is None or len(TASK.classes) != 2:
        return []
    positive = str(TASK.positive)
    truth = predictions[TASK.label] == positive
    roles = [role for role in ROLES if f"{role}_{positive}" in predictions]
    roc, pr = {}, {}
    for role in roles:
        score = predictions[f"{role}_{positive}"]
        fpr, tpr, _ = roc_curve(truth, score)
        roc[role] = [tpr[fpr <= x].max() for x in GRID]  # the curve's height at each false positive rate
        precision, recall, _ = precision_recall_curve(truth, score)
        pr[role] = [precision[recall >= x].max() for x in GRID]  # interpolated: the best precision at that recall
    key = ", ".join(f"{role} {COLOUR[role][1]}" for role in roles)
    return [
        *_line_chart(f"ROC curve (positive class: {positive})", "false positive rate", "true positive rate", roc),
        f"Lines: {key}.",
        "",
        *_line_chart(f"Precision-recall (positive class: {positive})", "recall", "precision", pr),
        f"Lines: {key}.",
    ]


def _line_chart(title: str, x_label: str, y_label: str, lines: dict[str, list[float]]) -> list[str]:
    palette = ", ".join(COLOUR[role][0] for role in lines)
    theme = {"themeVariables": {"xyChart": {"plotColorPalette": palette}}}
    return [
        "```mermaid",
        "%%{init: " + json.dumps(theme) + "}%%",  # a mermaid directive: the lines' colours, in order
        "xychart-beta",
        f'  title "{title}"',
        f'  x-axis "{x_label}" 0 --> 1',
        f'  y-axis "{y_label}" 0 --> 1',
        *["  line [" + ", ".join(f"{value:.3f}" for value in values) + "]" for values in lines.values()],
        "```",
    ]


def _plots_link(made: list[tuple[str, str]]) -> str:
    files = ", ".join(f"`{filename}`" for _, filename in made)
    if url := os.environ.get(PLOTS_URL_ENV):
        return f"The same plots as PNG files ({files}): [the workflow run's `model-report` artifact]({url})."
    return f"The same plots as PNG files beside this report: {files}."


def _save(figure, path: Path, title: str) -> tuple[str, str]:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return title, path.name


def _metrics_table(gate: GateResult) -> list[str]:
    contenders = gate.contenders
    primary = gate.primary_metric
    interval = gate.champion_difference
    header = ["metric", *[role for role in ROLES if role in contenders]]
    header += ["Δ vs baseline"] + (["Δ vs champion (CI)"] if "champion" in contenders else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric, value in contenders["challenger"].metrics.items():
        name = f"**{metric}**" if metric == primary else metric
        row = [name, *[f"{contenders[role].metrics[metric]:.4f}" for role in ROLES if role in contenders]]
        row.append(f"{value - contenders['baseline'].metrics[metric]:+.4f}")
        if "champion" in contenders:
            delta = f"{value - contenders['champion'].metrics[metric]:+.4f}"
            if metric == primary and interval:
                delta += f" [{interval['low']:+.4f}, {interval['high']:+.4f}]"
            row.append(delta)
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _recall_table(gate: GateResult) -> list[str]:
    """Each class's recall for every contender: a rare class the model gives up shows here, whatever the averages."""
    contenders = gate.contenders
    roles = [role for role in ROLES if role in contenders and contenders[role].recall]
    if "challenger" not in roles:
        return []
    lines = ["| recall of class | " + " | ".join(roles) + " |", "|---|" + "---|" * len(roles)]
    for name in contenders["challenger"].recall:
        values = [contenders[role].recall.get(name) for role in roles]
        lines.append(f"| {name} | " + " | ".join("-" if v is None or v != v else f"{v:.4f}" for v in values) + " |")
    return lines


def _rules_table(gate: GateResult) -> list[str]:
    lines = ["| rule | requirement | observed | result |", "|---|---|---|---|"]
    for rule in gate.rules:
        detail = f"<br>{rule.detail}" if rule.detail else ""
        detail = detail.replace("\n", " ").replace("|", "\\|")
        lines.append(
            f"| {rule.name} | {rule.requirement} | {rule.observed} | {ICON[rule.status]} {rule.status}{detail} |"
        )
    return lines


def _data_section(splits_dir: str) -> list[str]:
    from .splits import read_manifest

    manifest = read_manifest(splits_dir)
    lines = [
        f"`{manifest['source']}` passed the data contract ({len(TASK.features)} features + `{TASK.label}`; "
        f"sha256 `{manifest['source_sha256'][:12]}`).",
        "",
        "| split | rows | " + " | ".join(f"share {name}" for name in TASK.class_names) + " |",
        "|---|---|" + "---|" * len(TASK.classes),
    ]
    for name, part in manifest["parts"].items():
        counts = part["classes"]  # rows per class, counted as `make validate` wrote the part
        shares = " | ".join(f"{100 * counts.get(label, 0) / max(1, part['rows']):.1f}%" for label in TASK.class_names)
        lines.append(f"| {name} | {part['rows']} | {shares} |")
    return lines


def _registration(gate: GateResult) -> str:
    if gate.registered_version:
        return f"Registered as version {gate.registered_version} with alias `@staging`."
    if gate.dry_run and gate.verdict == "passed":
        return "Dry run (pull request): nothing registered. On merge, CD trains, gates and registers it."
    return "Nothing was registered and no alias moved."


def summary_path(gate_cfg: GateConfig) -> Path:
    """reports/summary.md: beside the gate's result, which it is written from."""
    return Path(gate_cfg.result_file).with_name("summary.md")


def report() -> Path:
    gate_cfg, data_cfg = config.load(GateConfig), config.load(DataConfig)
    gate = GateResult.read(gate_cfg.result_file, "no gate result yet. Run `make gate` first.")
    directory = Path(gate_cfg.result_file).parent
    predictions = pd.read_csv(gate_cfg.predictions_file, dtype={TASK.label: str})
    verdict = gate.verdict
    others = "the champion and a trivial baseline" if "champion" in gate.contenders else "a trivial baseline"
    lines = [
        f"## {ICON[verdict]} Model gate {verdict.upper()}: `{gate.model_name}`",
        "",
        f"Challenger: MLflow run `{gate.challenger_run_id}`, scored with {others} on the same "
        f"{gate.test_rows} test rows. Primary metric: **{gate.primary_metric}**.",
        "",
        _registration(gate),
        "",
        "### Metrics (test split)",
        "",
        *[f"- **{role}**: {gate.contenders[role].description}" for role in ROLES if role in gate.contenders],
        "",
        *_metrics_table(gate),
        "",
        *_recall_table(gate),
        "",
        "### Gate rules",
        "",
        *_rules_table(gate),
        "",
        "### Data",
        "",
        *_data_section(data_cfg.splits_dir),
        "",
        "### Plots",
        "",
        "Confusion matrix of the challenger on the test split:",
        "",
        *confusion_table(predictions),
        "",
        *curve_charts(predictions),
        "",
        _plots_link(plots(predictions, directory)),
    ]
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > MAX_BYTES:
        raise ValueError(f"report is {len(text.encode())} bytes; GitHub comments must stay under {MAX_BYTES}")
    path = summary_path(gate_cfg)
    path.write_text(text)
    return path


def job_summary() -> str:
    """`make job-summary`: reports/summary.md appended to the workflow's job summary; what was done."""
    summary = summary_path(config.load(GateConfig))
    if not summary.is_file():
        raise FileNotFoundError(f"{summary}: no report yet. Run `make report` first.")
    if not github.append_summary(summary.read_text() + "\n"):
        return f"GITHUB_STEP_SUMMARY is not set (not in a workflow); the report is {summary}"
    return f"appended {summary} to the job summary"
