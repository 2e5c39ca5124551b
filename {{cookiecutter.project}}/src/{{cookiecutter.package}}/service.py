"""The prediction service: the registered model behind one adaptive-batching API, validated by the contract.

Built into a bento by `make package` (see package.py) and served with `make serve`. A record is a raw row as the
contract describes it (strings for categories, null where a column may be missing); it is checked by a pydantic model
derived from the pandera contract (features.request_model), so a value the contract refuses is an HTTP 400 naming
the field, never a 500, and never reaches the model or the request log.
"""

import json
import logging
import logging.handlers
import os
from pathlib import Path
from typing import Annotated

import bentoml
import pandas as pd
import torch
import yaml
from pydantic import Field

from .config import REQUEST_LOG_ENV, SERVE_SETTINGS_ENV
from .features import CLASS_NAMES, FEATURES, encode, request_model

# Written by `make package` beside this module in the bento's build context (package.py); the variable lets
# tests and `bentoml serve` from a checkout point at one elsewhere.
SETTINGS_FILE = Path(os.environ.get(SERVE_SETTINGS_ENV, Path(__file__).with_name("serve.yaml")))
SETTINGS = yaml.safe_load(SETTINGS_FILE.read_text())
MODEL_TAG = SETTINGS["model_tag"]  # the bento model imported from the registry
SERVED_BY = SETTINGS["served_model"]  # its registry name and version: the drift check's reference follows it
BENTO = SETTINGS["bento"]  # <name>:<git sha>-m<model version> (r<run id> for a pull request's build)


Record = request_model(SETTINGS.get("example"))  # the OpenAPI schema shows a row of the training data
Records = Annotated[list[Record], Field(min_length=1, max_length=SETTINGS["max_records_per_request"])]


def _request_logger() -> logging.Logger:
    settings = SETTINGS["request_log"]
    # A served bento runs in its own folder; `make serve` points the log back into the project.
    path = Path(os.environ.get(REQUEST_LOG_ENV, settings["path"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"{__package__}.requests")
    logger.propagate = False
    if not logger.handlers:
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=settings["max_bytes"], backupCount=settings["backups"]
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger


async def _send_json(send, status: int, payload: dict) -> None:
    """Answer an ASGI request from a middleware with a JSON body."""
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class JsonOnly:
    """ASGI middleware: a prediction body that is not declared as JSON gets HTTP 415, before BentoML parses it.

    BentoML answers a malformed multipart body with a 500 (found by the schemathesis test); a client error must
    be a 4xx that says what to send.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/predict":
            content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
            if content_type != b"application/json":
                await _send_json(send, 415, {"error": "send the records as JSON (Content-Type: application/json)"})
                return
        await self.app(scope, receive, send)


class Version:
    """ASGI middleware: GET /version names the registry model and bento served, so CD can wait for a rollout."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/version":
            await _send_json(send, 200, {"model": SERVED_BY, "bento": BENTO})
            return
        await self.app(scope, receive, send)


@bentoml.service(
    name=SETTINGS["service_name"],
    workers=SETTINGS["workers"],
    traffic={"timeout": 30},
    image=bentoml.images.Image(python_version=SETTINGS["python_version"], lock_python_packages=False).python_packages(
        *SETTINGS["image_packages"]
    ),
)
class Classifier:
    bento_model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        # /readyz answers 200 only once this returns: the model is loaded before any request is taken.
        # Torch's spinning intra-op threads starve the server's event loop on a small CPU; for a small model
        # one thread serves more requests (bench/serve_throughput.py: 130 -> 209 requests/s on 2 cores).
        torch.set_num_threads(SETTINGS["torch_threads"])
        self.model = torch.export.load(self.bento_model.path_of("model.pt2")).module()
        self.requests = _request_logger()

    @bentoml.api(batchable=True, max_batch_size=SETTINGS["max_batch_size"], max_latency_ms=SETTINGS["max_latency_ms"])
    def predict(self, records: Records) -> list[dict[str, float]]:
        """Class probabilities for each record, in order."""
        rows = [record.features() for record in records]  # {feature: raw value}, the contract's columns
        features = encode(pd.DataFrame(rows, columns=FEATURES))
        with torch.no_grad():
            probabilities = self.model(torch.from_numpy(features)).numpy()
        answers = [dict(zip(CLASS_NAMES, map(float, row), strict=True)) for row in probabilities]
        for row, answer in zip(rows, answers, strict=True):
            self.requests.info(json.dumps({"model": SERVED_BY, "features": row, "prediction": answer}))
        return answers


Classifier.add_asgi_middleware(JsonOnly)
Classifier.add_asgi_middleware(Version)
