"""Classification metrics from labels and predicted probabilities: one definition for every step."""

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

from .schema import CLASSES


def label_codes(labels: pd.Series) -> np.ndarray:
    """Each label's position in the contract's CLASSES: the model's class index."""
    codes = pd.Categorical(labels, categories=CLASSES).codes
    if (codes < 0).any():
        unknown = sorted({str(value) for value in labels[codes < 0]})[:5]
        raise ValueError(f"label values {unknown} are not among the contract's classes {CLASSES}")
    return codes.astype(np.int64)


def _roc_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    if len(CLASSES) == 2:
        return float(roc_auc_score(labels, probabilities[:, 1]))
    return float(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro", labels=range(len(CLASSES))))


METRICS = {
    "accuracy": lambda labels, probabilities: float(accuracy_score(labels, probabilities.argmax(axis=1))),
    # Macro F1: the rarer class counts as much as the common one.
    "f1": lambda labels, probabilities: float(f1_score(labels, probabilities.argmax(axis=1), average="macro")),
    "roc_auc": _roc_auc,
}


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    return {name: score(labels, probabilities) for name, score in METRICS.items()}


def confusion(labels: np.ndarray, probabilities: np.ndarray) -> list[list[int]]:
    return confusion_matrix(labels, probabilities.argmax(axis=1), labels=list(range(len(CLASSES)))).tolist()
