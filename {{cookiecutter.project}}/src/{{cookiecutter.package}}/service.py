"""The prediction service: the registered model behind one adaptive-batching API, validated by the contract.

Built into a bento by `make package` (see bento.py) and served with `make serve`. A record is a raw row as the
contract describes it (strings for categories, null where a column may be missing); it is checked by a pydantic model
derived from the pandera contract (features.request_model), so a value the contract refuses is an HTTP 400 naming
the field, never a 500, and never reaches the model or the request log.
"""

import contextvars
import gc
import json
import logging
import logging.handlers
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import bentoml
import torch
import yaml
from pydantic import Field, PrivateAttr, ValidationError

from . import config
from .asgi import send_json
from .config import REQUEST_LOG_ENV, SERVE_SETTINGS_ENV, TRAFFIC_HEADER, ServiceSettings
from .plugin import TASK
from .signals import ModelSignals

# Written by `make package` beside this module in the bento's build context (bento.py); the variable lets
# tests and `bentoml serve` from a checkout point at one elsewhere.
SETTINGS_FILE = Path(os.environ.get(SERVE_SETTINGS_ENV, Path(__file__).with_name("service.yaml")))
SETTINGS = config.parse("service", yaml.safe_load(SETTINGS_FILE.read_text()), ServiceSettings, SETTINGS_FILE)
SERVED_BY = SETTINGS.served_model.model_dump(exclude_none=True)  # the drift check's reference follows it


# The X-Traffic header of the request being parsed (Traffic, below, sets it): "smoke", "loadtest", or None.
TRAFFIC = contextvars.ContextVar("traffic", default=None)


class Record(TASK.request_model(SETTINGS.example)):  # the OpenAPI schema shows a row of the training data
    # Which traffic the record came in with, taken as the request is parsed (a batch mixes requests).
    _traffic: str | None = PrivateAttr(default_factory=TRAFFIC.get)


Records = Annotated[list[Record], Field(min_length=1, max_length=SETTINGS.max_records_per_request)]

# The model's own metrics on /metrics (signals.py): class mix, confidence, refusals, input statistics.
SIGNALS = ModelSignals(SERVED_BY["version"], TASK.class_names, Record.model_fields)


class RefusedRequests(logging.Filter):
    """A request the contract refuses is the client's error: one WARNING line naming each field and why, not BentoML's
    ERROR with a traceback (a 5xx keeps its traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = getattr(getattr(error, "error_code", None), "value", 500)
        if isinstance(error, ValidationError) or (error is not None and status < 500):
            problems = error.errors(include_url=False) if isinstance(error, ValidationError) else [{"msg": str(error)}]
            SIGNALS.refused(problem.get("loc", ()) for problem in problems)
            where = [".".join(map(str, problem.get("loc", ()))) for problem in problems]
            reasons = "; ".join(f"{at}: {problem['msg']}" for at, problem in zip(where, problems, strict=True))
            record.levelno, record.levelname, record.exc_info, record.exc_text = logging.WARNING, "WARNING", None, None
            record.msg, record.args = "refused %s: %s", (record.args[0], reasons)
        return True


logging.getLogger("bentoml._internal.server.http_app").addFilter(RefusedRequests())


def _request_logger() -> logging.Logger:
    settings = SETTINGS.request_log
    # A served bento runs in its own folder; `make serve` points the log back into the project.
    path = Path(os.environ.get(REQUEST_LOG_ENV, settings.path))
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"{__package__}.requests")
    logger.propagate = False
    if not logger.handlers:
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=settings.max_bytes, backupCount=settings.backups)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger


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
                await send_json(send, 415, {"error": "send the records as JSON (Content-Type: application/json)"})
                return
        await self.app(scope, receive, send)


class Traffic:
    """ASGI middleware: the X-Traffic header of a request, for the records parsed from it (Record._traffic)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(TRAFFIC_HEADER.lower().encode())
            TRAFFIC.set(header.decode("latin-1")[:32] if header else None)
        await self.app(scope, receive, send)


class Version:
    """ASGI middleware: GET /version names the registry model and bento served, so CD can wait for a rollout."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/version":
            await send_json(send, 200, {"model": SERVED_BY, "bento": SETTINGS.bento})
            return
        await self.app(scope, receive, send)


# What a prediction does not need, measured with bench/serve_throughput.py (docs/serving.md): BentoML's access
# line per request (the request log keeps every record) and an OpenTelemetry span per prediction, which costs a
# third of a small model's throughput even when no exporter is set. configs/serve.yaml turns either back on.
@bentoml.service(
    name=SETTINGS.service_name,
    workers=SETTINGS.workers,
    traffic={"timeout": 30},
    logging={"access": {"enabled": SETTINGS.access_log}},
    tracing={} if SETTINGS.trace_predictions else {"excluded_urls": ["/predict"]},
    image=bentoml.images.Image(python_version=SETTINGS.python_version, lock_python_packages=False).python_packages(
        *SETTINGS.image_packages
    ),
)
class PredictionService(TASK.service_routes()):  # the task's own endpoints, if any (plugin.Task.service_routes)
    bento_model = bentoml.models.BentoModel(SETTINGS.model_tag)
    settings = SETTINGS

    def __init__(self) -> None:
        # /readyz answers 200 only once this returns: the model is loaded before any request is taken.
        # Torch's spinning intra-op threads starve the server's event loop on a small CPU; for a small model
        # one thread serves more requests (bench/serve_throughput.py: 130 -> 209 requests/s on 2 cores).
        torch.set_num_threads(SETTINGS.torch_threads)
        self.model = torch.export.load(self.bento_model.path_of("model.pt2")).module()
        # What the model learned about its input besides its weights (a text model's tokenizer), saved with it.
        self.encoder = TASK.load_encoder(Path(self.bento_model.path))
        self.requests = _request_logger()
        # The objects loaded so far (torch, bentoml, the model) live as long as the worker: frozen, the garbage
        # collector stops walking them on every full collection, which under load stalled the worker for tens of
        # milliseconds at a time (p99 374 -> 60 ms with the thresholds below; bench/serve_throughput.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)

    @bentoml.api(batchable=True, max_batch_size=SETTINGS.max_batch_size, max_latency_ms=SETTINGS.max_latency_ms)
    def predict(self, records: Records) -> list[dict[str, float]]:
        """Class probabilities for each record, in order."""
        # The model's rows, and what the request log keeps of each record.
        features, logged = TASK.inputs(records, self.encoder)
        answers = self._answer(features)
        self._log(logged, answers, [record._traffic for record in records])
        return answers

    # BentoML works out an answer's media type from its JSON schema on every response (a fifth of the worker's
    # time for a small model); declared once, it is not.
    predict.output_spec.media_type = "application/json"

    def _answer(self, features) -> list[dict[str, float]]:
        """{class name: probability} for each row of the model's input."""
        with torch.no_grad():
            probabilities = self.model(torch.from_numpy(features)).numpy()
        return [dict(zip(TASK.class_names, map(float, row), strict=True)) for row in probabilities]

    def _log(self, logged: list[dict], answers: list[dict], traffic: list[str | None] | None = None) -> None:
        """The request-log records of a batch, in one write (up to max_batch_size requests), not one per record; and
        the batch's signals on /metrics."""
        now, traffic = _now(), traffic or [TRAFFIC.get()] * len(logged)
        lines = [json.dumps(_entry(now, row, answer, marked))
                 for row, answer, marked in zip(logged, answers, traffic, strict=True)]  # fmt: skip
        self.requests.info("\n".join(lines))
        SIGNALS.answered(answers, logged)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _entry(time: str, features: dict, answer: dict, traffic: str | None) -> dict:
    """A request-log record: when, which model version, the features, its answer, and the traffic a check marked."""
    entry = {"time": time, "model": SERVED_BY, "features": features, "prediction": answer}
    return {**entry, "traffic": traffic} if traffic else entry


PredictionService.add_asgi_middleware(JsonOnly)
PredictionService.add_asgi_middleware(Traffic)
for middleware, options in TASK.middleware(SETTINGS):
    PredictionService.add_asgi_middleware(middleware, **options)
PredictionService.add_asgi_middleware(Version)
