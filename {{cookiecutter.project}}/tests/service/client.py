"""What the service tests send besides valid JSON, and the known answers they compare with."""

import json
import urllib.error
import urllib.request

from {{ cookiecutter.package }}.bento import SMOKE


def known_answers() -> dict:
    """artifacts/smoke.json: test rows as requests, and what the packaged model answers for them."""
    return json.loads(SMOKE.read_text())


def post_raw(url: str, data: bytes, content_type: str) -> int:
    """POST bytes as they are (the smoke helper always sends valid JSON); returns the HTTP status."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
