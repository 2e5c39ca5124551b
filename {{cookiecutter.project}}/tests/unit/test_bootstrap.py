"""The gate's paired bootstrap: a finite interval whatever the number of classes, even with a rare one.

A resample that misses a class (at most ~37% of them for a class with one test row) has no one-vs-rest ROC AUC.
"""

import numpy as np
import pytest

from {{ cookiecutter.package }}.gate import paired_bootstrap
from {{ cookiecutter.package }}.schema import CLASSES


def _scores(rows: int, seed: int) -> np.ndarray:
    raw = np.random.default_rng(seed).random((rows, len(CLASSES)))
    return raw / raw.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("metric", ["accuracy", "f1", "roc_auc"])
def test_interval_is_finite_with_a_rare_class(metric):
    labels = np.random.default_rng(0).integers(0, len(CLASSES) - 1, size=200)
    labels[[3, 77, 150]] = len(CLASSES) - 1  # the last class: 3 rows of 200, missing from ~5% of the resamples
    interval = paired_bootstrap(labels, _scores(200, 1), _scores(200, 2), metric, 400, 0.95, 0)
    assert np.isfinite([interval["low"], interval["high"], interval["difference"]]).all(), interval
    assert interval["low"] <= interval["difference"] <= interval["high"]
    assert 300 < interval["resamples"] < 400  # the resamples without the rare class were left out
