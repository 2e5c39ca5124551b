"""The built bento on this machine: started on a free port, waited for, stopped; and the HTTP call every check uses.

`make serve`, `make smoke` (without URL=), `make simulate-traffic` and the service tests start the bento here;
`call` is the one HTTP client of the project's own code (urllib: no client library to install).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from . import config
from .bento import last_build
from .config import ServeConfig


def call(url: str, body: dict | None = None, timeout: float = 10, traffic: str | None = None) -> tuple[int, str]:
    """GET url (POST the JSON body when one is given): the HTTP status and the answer's text; 0 when unreachable.

    `traffic` names a check's own requests (smoke, loadtest): the service logs them as such, and drift leaves them out.
    """
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({config.TRAFFIC_HEADER: traffic} if traffic else {})}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode} before it was ready")
        if call(f"{url}/readyz", timeout=2)[0] == 200:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{url}/readyz was not 200 after {timeout:.0f} s")


def serve_env(request_log: str | Path | None = None) -> dict[str, str]:
    """The served bento runs in its own folder: send its request log to this project's logs/."""
    path = Path(request_log or config.load(ServeConfig).request_log.path).resolve()
    return {**os.environ, config.REQUEST_LOG_ENV: str(path)}


def serve_command(port: int) -> list[str]:
    bento = last_build().bento
    return [sys.executable, "-m", "bentoml", "serve", bento, "--host", "127.0.0.1", "--port", str(port)]


@contextlib.contextmanager
def running_bento(request_log: str | Path | None = None, log: Path = Path("logs/serve.log")) -> Iterator[str]:
    """The built bento serving on a free port for the duration of the block; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        command = serve_command(port)
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=serve_env(request_log))
        try:
            wait_ready(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
