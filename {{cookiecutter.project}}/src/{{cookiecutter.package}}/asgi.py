"""What the service's ASGI middleware share (service.py, and a task's own in task.py)."""

import json


async def send_json(send, status: int, payload: dict) -> None:
    """Answer an ASGI request from a middleware with a JSON body."""
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
