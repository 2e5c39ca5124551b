"""Classification metrics from labels and predicted probabilities: one definition for every step.

The same four metrics twice, side by side: `classification_metrics` (scikit-learn, on whole arrays) for evaluate
and the gate, `training_metrics` (torchmetrics, accumulated over batches) for validation while training. The
project's tests check that both give the same figures on the same data.
"""

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score, roc_auc_score
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from .plugin import TASK


def label_codes(labels: pd.Series) -> np.ndarray:
    """Each label's position in the contract's CLASSES: the model's class index."""
    codes = pd.Categorical(labels, categories=TASK.classes).codes
    if (codes < 0).any():
        unknown = sorted({str(value) for value in labels[codes < 0]})[:5]
        raise ValueError(f"label values {unknown} are not among the contract's classes {TASK.classes}")
    return codes.astype(np.int64)


def _roc_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    if len(TASK.classes) == 2:
        return float(roc_auc_score(labels, probabilities[:, 1]))
    return float(
        roc_auc_score(labels, probabilities, multi_class="ovr", average="macro", labels=range(len(TASK.classes)))
    )


def _balanced_accuracy(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The mean of the classes' recalls (over the classes the labels hold): a model that never finds a rare class
    loses its share, however rare it is."""
    return float(recall_score(labels, probabilities.argmax(axis=1), average="macro", labels=np.unique(labels)))


METRICS = {
    "accuracy": lambda labels, probabilities: float(accuracy_score(labels, probabilities.argmax(axis=1))),
    "balanced_accuracy": _balanced_accuracy,
    # Macro F1: the rarer class counts as much as the common one.
    "f1": lambda labels, probabilities: float(f1_score(labels, probabilities.argmax(axis=1), average="macro")),
    "roc_auc": _roc_auc,
}


def class_recall(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Each class's recall (the share of its rows the model names right), by class name; NaN where it has none."""
    counts = np.bincount(labels, minlength=len(TASK.classes))
    hits = np.bincount(labels[probabilities.argmax(axis=1) == labels], minlength=len(TASK.classes))
    return {str(name): float(hits[i] / counts[i]) if counts[i] else float("nan") for i, name in enumerate(TASK.classes)}


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    return {name: score(labels, probabilities) for name, score in METRICS.items()}


def training_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """METRICS as torchmetrics, for Lightning's validation loop (logged as <prefix><name>)."""
    return MetricCollection(
        {
            "accuracy": MulticlassAccuracy(num_classes, average="micro"),
            "balanced_accuracy": MulticlassAccuracy(num_classes, average="macro"),  # the mean of the class recalls
            "f1": MulticlassF1Score(num_classes, average="macro"),
            "roc_auc": MulticlassAUROC(num_classes, average="macro"),
        },
        prefix=prefix,
    )


def confusion(labels: np.ndarray, probabilities: np.ndarray) -> list[list[int]]:
    return confusion_matrix(labels, probabilities.argmax(axis=1), labels=list(range(len(TASK.classes)))).tolist()
