"""Classification metrics from labels and predicted probabilities: one definition for every step."""

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

from .schema import CLASSES


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    predicted = probabilities.argmax(axis=1)
    if len(CLASSES) == 2:
        roc_auc = roc_auc_score(labels, probabilities[:, 1])
    else:
        roc_auc = roc_auc_score(labels, probabilities, multi_class="ovr", average="macro")
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": float(f1_score(labels, predicted, average="macro")),
        "roc_auc": float(roc_auc),
    }


def confusion(labels: np.ndarray, probabilities: np.ndarray) -> list[list[int]]:
    return confusion_matrix(labels, probabilities.argmax(axis=1), labels=list(range(len(CLASSES)))).tolist()
