"""A served image model: pixels as rows or one list, and image files uploaded as a form (the image task's own)."""

import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.features import MONITORED, to_request
from {{ cookiecutter.package }}.local_server import call

from .client import known_answers, post_raw

pytestmark = pytest.mark.slow


def test_an_image_is_taken_as_rows_or_as_one_flat_list(server):
    grid = known_answers()["records"][0]["pixels"]
    flat = np.asarray(grid).reshape(-1).tolist()
    answers = [call(f"{server}/predict", {"records": [{"pixels": pixels}]}) for pixels in (grid, flat)]
    assert [status for status, _ in answers] == [200, 200]
    assert json.loads(answers[0][1]) == json.loads(answers[1][1])
    for ragged in (flat[:-1], [*grid[:-1], grid[-1][:-1]], grid[:-1]):  # a value short, a short row, a row short
        status, text = call(f"{server}/predict", {"records": [{"pixels": ragged}]})
        assert status == 400 and "pixels" in text, (status, text)


def _upload(url: str, content: bytes, filename: str, field: str = "image") -> tuple[int, str]:
    """POST one file as a multipart form, as `curl -F image=@file` does."""
    boundary = "a-boundary-for-the-tests"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_an_uploaded_png_or_jpeg_is_answered_as_its_pixels_are(server, packaged, tmp_path):
    from PIL import Image

    from {{ cookiecutter.package }}.data import load_split

    path = load_split(config.load(config.DataConfig).splits_dir, "test")["path"].iloc[0]
    status, body = _upload(f"{server}/predict_image", Path(path).read_bytes(), Path(path).name)
    assert status == 200, body
    answer = json.loads(body)
    _, as_pixels = call(f"{server}/predict", {"records": [to_request({"path": path})]})
    np.testing.assert_allclose(list(answer.values()), list(json.loads(as_pixels)[0].values()), atol=1e-5)
    jpeg = tmp_path / "image.jpg"
    Image.open(path).convert("RGB").resize((97, 61)).save(jpeg, quality=90)  # another size, colour, JPEG
    status, body = _upload(f"{server}/predict_image", jpeg.read_bytes(), "image.jpg")
    assert status == 200, body
    assert list(json.loads(body)) == list(answer) and abs(sum(json.loads(body).values()) - 1) < 1e-5
    log = packaged[0] / config.load(config.ServeConfig).request_log.path
    logged = json.loads(log.read_text().splitlines()[-1])["features"]
    assert set(logged) == set(MONITORED) and (logged["width"], logged["height"]) == (97, 61)


@pytest.mark.parametrize(
    ("content", "field", "status", "named"),
    [
        pytest.param(b"just text, no image", "image", 400, "not a PNG or JPEG", id="not-an-image"),
        pytest.param(b"\x89PNG\r\n\x1a\ntruncated", "image", 400, "not a readable", id="truncated-png"),
        pytest.param(b"\x89PNG", "photo", 400, "image", id="wrong-field"),
    ],
)
def test_a_bad_upload_is_a_4xx_naming_the_problem(server, content, field, status, named):
    answered, text = _upload(f"{server}/predict_image", content, "upload.png", field)
    assert answered == status and named in text, (answered, text)
    assert call(f"{server}/readyz")[0] == 200


def test_a_malformed_or_oversized_upload_is_a_4xx_not_a_5xx(server, packaged):
    url = f"{server}/predict_image"
    assert post_raw(url, b"garbage", "multipart/form-data; boundary=xyz") == 400
    assert post_raw(url, b'{"image": 1}', "application/json") == 415
    limit = config.load(config.ServeConfig).max_upload_bytes
    assert _upload(url, b"\0" * (limit + 100_000), "huge.png")[0] == 413
    assert call(f"{server}/readyz")[0] == 200
