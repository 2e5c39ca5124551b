"""`make smoke URL=...`: health, readiness and a known answer from any running service, local or staging."""

import json

from .bento import SMOKE
from .local_server import call, running_bento

TOLERANCE = 1e-5


def smoke(url: str) -> list[str]:
    """Every problem found (empty: the service is healthy and answers as the packaged model does)."""
    url = url.rstrip("/")
    problems = [f"GET {url}{path} -> {status} {body[:200]}" for path in ("/livez", "/readyz")
                for status, body in [call(url + path)] if status != 200]  # fmt: skip
    if not SMOKE.is_file():
        return [*problems, f"{SMOKE}: no known answers; run `make package` first"]
    known = json.loads(SMOKE.read_text())
    status, body = call(f"{url}/predict", {"records": known["records"]}, traffic="smoke")
    if status != 200:
        return [*problems, f"POST {url}/predict -> {status} {body[:300]}"]
    answers = json.loads(body)
    for index, (answer, expected) in enumerate(zip(answers, known["expected"], strict=True)):
        got = list(answer.values())
        if any(abs(a - b) > TOLERANCE for a, b in zip(got, expected, strict=True)):
            problems.append(f"record {index}: got {got}, the packaged model {known['model']} gives {expected}")
    return problems


def serve_and_smoke() -> tuple[list[str], str]:
    """Start the built bento on a free port, smoke it, stop it: the demo's last step."""
    with running_bento() as url:
        return smoke(url), url
