"""What the service tests of a table project expect: the bento's modules, the fields a bad request breaks, and what
the request log keeps of a record (its features by the contract's names)."""

from {{ cookiecutter.package }}.features import FEATURES, KIND, NULLABLE, bounds, to_request

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
}
MORE_ENDPOINTS: list[str] = []  # fuzzed besides /predict
REQUIRED = next((name for name in FEATURES if name not in NULLABLE), None)  # a field that may not be left out
CAPPED = next((name for name in FEATURES if KIND[name] == "number" and bounds(name)[1] is not None), None)
LOGGED = FEATURES  # the request log's feature columns, as the drift check reads them


def too_large(record: dict) -> dict:
    return to_request({name: bounds(name)[1] * 10 + 999 if name == CAPPED else 0.0 for name in FEATURES})


def check_logged(logged: list[dict], records: list[dict]) -> None:
    """Each logged row holds the record's features by the contract's names, whatever shape was sent."""
    assert all(list(row) == FEATURES for row in logged)
    assert [to_request(row) for row in logged] == records
