"""What the service tests of a text project expect: the bento's modules, the field a bad request breaks, and what the
request log keeps of a text (the text and its statistics)."""

import pytest

from {{ cookiecutter.package }}.schema import MAX_CHARS
from {{ cookiecutter.package }}.texts import STATS

# The bento's modules: the service and the task's serving code, not the training code.
SHIPPED = {
    "__init__.py",
    "asgi.py",
    "config.py",
    "features.py",
    "plugin.py",
    "schema.py",
    "service.py",
    "signals.py",
    "task.py",
    "task_base.py",
    "texts.py",
    "tokenizer.py",
}
MORE_ENDPOINTS: list[str] = []  # fuzzed besides /predict
REQUIRED = CAPPED = "text"  # the one field of a text record
LOGGED = [*STATS, "text"]  # the request log's columns, as the drift check reads them


def too_large(record: dict) -> dict:
    return {"text": "a" * (MAX_CHARS + 1)}  # one character over the contract's limit


def check_logged(logged: list[dict], records: list[dict]) -> None:
    """Each logged row holds the text as sent and its statistics: what the drift check compares."""
    assert [row["text"] for row in logged] == [record["text"] for record in records]
    for row in logged:
        assert row["chars"] == pytest.approx(len(row["text"])) and row["tokens"] >= 1
        assert 0 <= row["unknown_share"] <= 1 and 0 <= row["non_letter_share"] <= 1
