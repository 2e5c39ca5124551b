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
{%- if cookiecutter.task == "image-classification" %}
import numpy as np
{%- endif %}
import torch
import yaml
{%- if cookiecutter.task == "image-classification" %}
from bentoml.exceptions import InvalidArgument
{%- endif %}
from pydantic import Field, PrivateAttr, ValidationError
{%- if cookiecutter.task == "image-classification" %}
from starlette.requests import Request
{%- endif %}

from .config import REQUEST_LOG_ENV, SERVE_SETTINGS_ENV, TRAFFIC_HEADER
from .features import CLASS_NAMES, inputs, request_model
{%- if cookiecutter.task == "image-classification" %}
from .images import ImageError, decode, stats
{%- endif %}

# Written by `make package` beside this module in the bento's build context (bento.py); the variable lets
# tests and `bentoml serve` from a checkout point at one elsewhere.
SETTINGS_FILE = Path(os.environ.get(SERVE_SETTINGS_ENV, Path(__file__).with_name("serve.yaml")))
SETTINGS = yaml.safe_load(SETTINGS_FILE.read_text())
MODEL_TAG = SETTINGS["model_tag"]  # the bento model imported from the registry
SERVED_BY = SETTINGS["served_model"]  # its registry name and version: the drift check's reference follows it
BENTO = SETTINGS["bento"]  # <name>:<git sha>-m<model version> (r<run id> for a pull request's build)


# The X-Traffic header of the request being parsed (Traffic, below, sets it): "smoke", "loadtest", or None.
TRAFFIC = contextvars.ContextVar("traffic", default=None)


class Record(request_model(SETTINGS.get("example"))):  # the OpenAPI schema shows a row of the training data
    # Which traffic the record came in with, taken as the request is parsed (a batch mixes requests).
    _traffic: str | None = PrivateAttr(default_factory=TRAFFIC.get)


Records = Annotated[list[Record], Field(min_length=1, max_length=SETTINGS["max_records_per_request"])]


class RefusedRequests(logging.Filter):
    """A request the contract refuses is the client's error: one WARNING line naming each field and why, not BentoML's
    ERROR with a traceback (a 5xx keeps its traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = getattr(getattr(error, "error_code", None), "value", 500)
        if isinstance(error, ValidationError) or (error is not None and status < 500):
            problems = error.errors(include_url=False) if isinstance(error, ValidationError) else [{"msg": str(error)}]
            where = [".".join(map(str, problem.get("loc", ()))) for problem in problems]
            reasons = "; ".join(f"{at}: {problem['msg']}" for at, problem in zip(where, problems, strict=True))
            record.levelno, record.levelname, record.exc_info, record.exc_text = logging.WARNING, "WARNING", None, None
            record.msg, record.args = "refused %s: %s", (record.args[0], reasons)
        return True


logging.getLogger("bentoml._internal.server.http_app").addFilter(RefusedRequests())


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


{%- if cookiecutter.task == "image-classification" %}


class UploadOnly:
    """ASGI middleware: POST /predict_image must be a well-formed multipart form within the size limit, else a 4xx.

    BentoML answers a malformed multipart body with a 500; the body is parsed here first (as Starlette parses
    forms) and replayed to BentoML when it is sound.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/predict_image"):
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"multipart/form-data":
            message = "send the image as a multipart form upload, field `image` (curl -F image=@photo.jpg)"
            await _send_json(send, 415, {"error": message})
            return
        limit, chunks, size = SETTINGS["max_upload_bytes"] + 65536, [], 0
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await _send_json(send, 413, {"error": f"the upload is over {SETTINGS['max_upload_bytes']} bytes"})
                return
            if not message.get("more_body"):
                break
        body = b"".join(chunks)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            async with Request(scope, replay).form() as form:
                if not hasattr(form.get("image"), "read"):
                    raise ValueError("no file in the form field `image`")
        except Exception as error:  # Starlette raises several kinds for a malformed form
            detail = getattr(error, "detail", None) or str(error) or type(error).__name__
            await _send_json(send, 400, {"error": f"not a multipart form with an `image` file: {detail}"})
            return
        await self.app(scope, replay, send)
{%- endif %}


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
            await _send_json(send, 200, {"model": SERVED_BY, "bento": BENTO})
            return
        await self.app(scope, receive, send)


# What a prediction does not need, measured with bench/serve_throughput.py (docs/serving.md): BentoML's access
# line per request (the request log keeps every record) and an OpenTelemetry span per prediction, which costs a
# third of a small model's throughput even when no exporter is set. serve.yaml turns either back on.
@bentoml.service(
    name=SETTINGS["service_name"],
    workers=SETTINGS["workers"],
    traffic={"timeout": 30},
    logging={"access": {"enabled": SETTINGS["access_log"]}},
    tracing={} if SETTINGS["trace_predictions"] else {"excluded_urls": ["/predict"]},
    image=bentoml.images.Image(python_version=SETTINGS["python_version"], lock_python_packages=False).python_packages(
        *SETTINGS["image_packages"]
    ),
)
class PredictionService:
    bento_model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        # /readyz answers 200 only once this returns: the model is loaded before any request is taken.
        # Torch's spinning intra-op threads starve the server's event loop on a small CPU; for a small model
        # one thread serves more requests (bench/serve_throughput.py: 130 -> 209 requests/s on 2 cores).
        torch.set_num_threads(SETTINGS["torch_threads"])
        self.model = torch.export.load(self.bento_model.path_of("model.pt2")).module()
        self.requests = _request_logger()
        # The objects loaded so far (torch, bentoml, the model) live as long as the worker: frozen, the garbage
        # collector stops walking them on every full collection, which under load stalled the worker for tens of
        # milliseconds at a time (p99 374 -> 60 ms with the thresholds below; bench/serve_throughput.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)

    @bentoml.api(batchable=True, max_batch_size=SETTINGS["max_batch_size"], max_latency_ms=SETTINGS["max_latency_ms"])
    def predict(self, records: Records) -> list[dict[str, float]]:
        """Class probabilities for each record, in order."""
        features, logged = inputs(records)  # the model's rows, and what the request log keeps of each record
        answers = self._answer(features)
        # One write for the whole batch (up to max_batch_size requests), not one per record.
        now = _now()
        lines = [json.dumps(_entry(now, row, answer, record._traffic))
                 for record, row, answer in zip(records, logged, answers, strict=True)]  # fmt: skip
        self.requests.info("\n".join(lines))
        return answers

    # BentoML works out an answer's media type from its JSON schema on every response (a fifth of the worker's
    # time for a small model); declared once, it is not.
    predict.output_spec.media_type = "application/json"
{%- if cookiecutter.task == "image-classification" %}

    @bentoml.api
    def predict_image(self, image: Path) -> dict[str, float]:
        """Class probabilities for one PNG or JPEG file (multipart form field `image`), any size, grey or colour.

        It is converted and resized as the training images were (images.decode). The request log keeps its
        statistics (brightness, contrast, size before resizing, ...), not the image.
        """
        size = image.stat().st_size
        if size > SETTINGS["max_upload_bytes"]:
            raise InvalidArgument(f"image: the file is {size} bytes; the limit is {SETTINGS['max_upload_bytes']}")
        try:
            array, original = decode(image)
        except ImageError as error:
            raise InvalidArgument(f"image: {error}") from None
        answer = self._answer(array.reshape(1, -1).astype(np.float32))[0]
        logged = stats(array[None], [original]).to_dict("records")[0]
        self.requests.info(json.dumps(_entry(_now(), logged, answer, TRAFFIC.get())))
        return answer
{%- endif %}

    def _answer(self, features) -> list[dict[str, float]]:
        """{class name: probability} for each row of the model's input."""
        with torch.no_grad():
            probabilities = self.model(torch.from_numpy(features)).numpy()
        return [dict(zip(CLASS_NAMES, map(float, row), strict=True)) for row in probabilities]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _entry(time: str, features: dict, answer: dict, traffic: str | None) -> dict:
    """A request-log record: when, which model version, the features, its answer, and the traffic a check marked."""
    entry = {"time": time, "model": SERVED_BY, "features": features, "prediction": answer}
    return {**entry, "traffic": traffic} if traffic else entry


PredictionService.add_asgi_middleware(JsonOnly)
PredictionService.add_asgi_middleware(Traffic)
{%- if cookiecutter.task == "image-classification" %}
PredictionService.add_asgi_middleware(UploadOnly)
{%- endif %}
PredictionService.add_asgi_middleware(Version)
