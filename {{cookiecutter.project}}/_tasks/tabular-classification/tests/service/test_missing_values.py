"""A served table model answers rows with missing values (the tabular task's own service test)."""

import json

import numpy as np
import pytest

from {{ cookiecutter.package }}.features import NULLABLE
from {{ cookiecutter.package }}.local_server import call

from .client import known_answers

pytestmark = pytest.mark.slow


def test_a_raw_row_with_missing_values_is_answered(server):
    """null (or no field) where the contract lets a column be missing: answered, like any other row."""
    record = known_answers()["records"][0]
    blank = {**record, **dict.fromkeys(NULLABLE)}
    omitted = {name: value for name, value in record.items() if name not in NULLABLE}
    status, body = call(f"{server}/predict", {"records": [blank, omitted]})
    assert status == 200, body
    first, second = json.loads(body)
    assert list(first) == list(second) and abs(sum(first.values()) - 1) < 1e-5
    np.testing.assert_allclose(list(first.values()), list(second.values()), atol=1e-6)
