"""A served table model answers raw rows: missing values, the columns adopt left out; it refuses numbers as text."""

import json

import numpy as np
import pytest

from {{ cookiecutter.package }}.features import FEATURES, KIND, LEFT_OUT, NULLABLE
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


def test_a_left_out_column_is_accepted_and_ignored(server):
    """A whole row of the user's table, with the columns the contract declares left out: the same answer."""
    known = known_answers()
    if not LEFT_OUT:
        pytest.skip("the contract leaves no column out")
    record = known["records"][0]
    extra = dict.fromkeys(LEFT_OUT, "anything: ignored")
    status, body = call(f"{server}/predict", {"records": [{**record, **extra}]})
    assert status == 200, body
    np.testing.assert_allclose(list(json.loads(body)[0].values()), known["expected"][0], atol=1e-5)


@pytest.mark.parametrize("kind", ["number", "boolean"])
def test_a_number_or_true_false_sent_as_text_is_refused(server, kind):
    name = next((name for name in FEATURES if KIND[name] == kind), None)
    if name is None:
        pytest.skip(f"the contract has no {kind} column")
    record = known_answers()["records"][0]
    text = "97" if kind == "number" else "true"
    status, body = call(f"{server}/predict", {"records": [{**record, name: text}]})
    assert status == 400 and name in body and "unquoted" in body, body
