"""What the service tests of an image project expect: the bento's modules, the field a bad request breaks, and what
the request log keeps of an image (its statistics, not its pixels)."""

import numpy as np
import pytest

from {{ cookiecutter.package }}.features import MONITORED, inputs, request_model

# The bento's modules: the service and the task's serving code, not the training code.
SHIPPED = {
    "__init__.py",
    "asgi.py",
    "config.py",
    "features.py",
    "image_service.py",
    "images.py",
    "plugin.py",
    "schema.py",
    "service.py",
    "signals.py",
    "task.py",
    "task_base.py",
}
MORE_ENDPOINTS = ["/predict_image"]  # fuzzed besides /predict
REQUIRED = CAPPED = "pixels"  # the one field of an image record
LOGGED = list(MONITORED)  # the request log's statistics columns, as the drift check reads them


def too_large(record: dict) -> dict:
    return {"pixels": (np.asarray(record["pixels"]) * 0 + 999).tolist()}  # every grey level far above 255


def check_logged(logged: list[dict], records: list[dict]) -> None:
    """Each logged row holds the image's statistics: what the drift check compares."""
    expected = inputs([request_model()(**record) for record in records])[1]
    assert logged == [pytest.approx(row) for row in expected]
