"""What an image service adds to POST /predict: POST /predict_image takes a PNG or JPEG file (task.py hands these
to service.py)."""

from pathlib import Path

import bentoml
import numpy as np
from bentoml.exceptions import InvalidArgument
from starlette.requests import Request

from .asgi import send_json
from .images import ImageError, decode, stats


class UploadOnly:
    """ASGI middleware: POST /predict_image must be a well-formed multipart form within the size limit, else a 4xx.

    BentoML answers a malformed multipart body with a 500; the body is parsed here first (as Starlette parses
    forms) and replayed to BentoML when it is sound.
    """

    def __init__(self, app, max_upload_bytes: int):
        self.app, self.max_upload_bytes = app, max_upload_bytes

    async def __call__(self, scope, receive, send):
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/predict_image"):
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"multipart/form-data":
            message = "send the image as a multipart form upload, field `image` (curl -F image=@photo.jpg)"
            await send_json(send, 415, {"error": message})
            return
        limit, chunks, size = self.max_upload_bytes + 65536, [], 0
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await send_json(send, 413, {"error": f"the upload is over {self.max_upload_bytes} bytes"})
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
            await send_json(send, 400, {"error": f"not a multipart form with an `image` file: {detail}"})
            return
        await self.app(scope, replay, send)


class ImageRoutes:
    """Mixed into service.PredictionService: its `_answer`, `_log` and `settings` are used here."""

    @bentoml.api
    def predict_image(self, image: Path) -> dict[str, float]:
        """Class probabilities for one PNG or JPEG file (multipart form field `image`), any size, grey or colour.

        It is converted and resized as the training images were (images.decode). The request log keeps its
        statistics (brightness, contrast, size before resizing, ...), not the image.
        """
        size = image.stat().st_size
        if size > self.settings.max_upload_bytes:
            raise InvalidArgument(f"image: the file is {size} bytes; the limit is {self.settings.max_upload_bytes}")
        try:
            array, original = decode(image)
        except ImageError as error:
            raise InvalidArgument(f"image: {error}") from None
        answer = self._answer(array.reshape(1, -1).astype(np.float32))[0]
        self._log([stats(array[None], [original]).to_dict("records")[0]], [answer])
        return answer
