"""Slow tier: `make adopt DATA=<folder>` makes a user's own images the project's data, and the loop runs on them.

The folder is made here, unlike the bundled digits in every way a user's images differ: colour, 32x32 (a few
40x40, resized), PNG and JPEG, three named classes, one corrupt file, one exact duplicate and a stray text file.
One image project adopts it, runs the pipeline, serves uploaded PNG and JPEG files and pixel arrays, refuses a
non-image upload with a 4xx, checks drift on the request log and runs its own tests on the adopted images. Bad input
is refused in one line and changes nothing.
"""

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.baked import COMBINATIONS, BakedProject, assert_adopt_refused, bake, call, serving

pytestmark = pytest.mark.slow

SHAPES = ["circle", "square", "triangle"]
PER_CLASS = 80
REQUEST_LOG = "logs/requests.jsonl"


def draw_shapes(folder: Path, per_class: int = PER_CLASS, seed: int = 0) -> Path:
    """Seeded colour shapes on dark backgrounds: every 10th image 40x40 (the rest 32x32), every 3rd a JPEG."""
    from PIL import Image, ImageDraw  # installed with the project: the template's environment may lack it

    rng = random.Random(seed)
    for shape in SHAPES:
        (folder / shape).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            side = 40 if index % 10 == 0 else 32
            image = Image.new("RGB", (side, side), tuple(rng.randrange(0, 70) for _ in range(3)))
            radius = rng.randrange(side // 4, side // 3)
            x, y = rng.randrange(radius, side - radius), rng.randrange(radius, side - radius)
            colour = tuple(rng.randrange(140, 256) for _ in range(3))
            draw = ImageDraw.Draw(image)
            if shape == "circle":
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
            elif shape == "square":
                draw.rectangle([x - radius, y - radius, x + radius, y + radius], fill=colour)
            else:
                draw.polygon([(x, y - radius), (x - radius, y + radius), (x + radius, y + radius)], fill=colour)
            image.save(folder / shape / (f"{index:03d}.jpg" if index % 3 == 0 else f"{index:03d}.png"))
    (folder / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"cut short")
    shutil.copyfile(folder / "square" / "001.png", folder / "square" / "001-copy.png")
    (folder / "square" / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory, environments) -> BakedProject:
    """An image project of this module's own (adoption rewrites its files), baked and `make setup` once."""
    with pytest.MonkeyPatch.context() as patch:
        answers = {"project_name": "Adopted Images", "task": "image-classification"}
        patch.setitem(COMBINATIONS, "adopted-images", answers)
        baked = bake(tmp_path_factory.mktemp("adopt-images"), "adopted-images")
    baked.install(environments)
    return baked


def contract(project: BakedProject) -> dict:
    code = (
        f"import json; from {project.package} import schema; print(json.dumps({{'size': [schema.WIDTH, "
        "schema.HEIGHT], 'mode': schema.MODE, 'classes': schema.CLASSES, 'bundled': schema.BUNDLED}))"
    )
    return json.loads(project.run(project.python, "-c", code).stdout.strip().splitlines()[-1])


def upload(url: str, content: bytes, filename: str) -> tuple[int, str]:
    """POST one file as the multipart field `image`, as `curl -F image=@file` does."""
    import urllib.error
    import urllib.request

    boundary = "adopt-images-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n\r\n'
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_folder_of_colour_shapes_is_adopted_and_the_whole_loop_runs_on_it(project, tmp_path):
    shapes = draw_shapes(tmp_path / "shapes")
    completed = project.make("adopt", DATA=str(shapes))
    printed = completed.stdout
    readable = 3 * PER_CLASS + 1  # + the duplicate; the corrupt file is left out
    shares = f"circle {PER_CLASS}, square {PER_CLASS + 1}, triangle {PER_CLASS}"
    assert f"{readable} images in 3 classes ({shares})" in printed
    assert "size: 32x32: the most common size" in printed and "mode: RGB" in printed
    assert "broken.png: not a readable image" in printed and "notes.txt" in printed
    assert "duplicates: 2 files are copies of 1 image(s)" in printed
    assert contract(project) == {"size": [32, 32], "mode": "RGB", "classes": SHAPES, "bundled": None}
    raw = project.path / yaml.safe_load((project.path / "configs/data.yaml").read_text())["raw"]
    assert raw == project.path / "data/raw/shapes"
    copied = sorted(path.relative_to(raw).as_posix() for path in raw.rglob("*") if path.is_file())
    assert len(copied) == readable and "circle/broken.png" not in copied and "square/notes.txt" not in copied
    assert len(list((project.path / "tests/fixtures/images").rglob("*.*"))) == 3 * 50  # the tests' sample

    project.make("pipeline")
    metrics = json.loads((project.path / "reports/metrics.json").read_text())["metrics"]
    assert metrics["accuracy"] >= 0.8, metrics  # three balanced classes: a majority baseline scores 0.33
    manifest = json.loads((project.path / "data/splits/manifest.json").read_text())
    assert sum(part["rows"] for part in manifest["parts"].values()) == readable

    for stale in project.path.glob(f"{REQUEST_LOG}*"):
        stale.unlink()
    jpeg, png = raw / "circle/030.jpg", raw / "triangle/002.png"  # 40x40 (resized to 32x32) and 32x32
    with serving(project, tmp_path / "serve.log") as url:
        answers = {}
        for path in (jpeg, png):
            status, body = upload(f"{url}/predict_image", path.read_bytes(), path.name)
            assert status == 200, body
            answers[path.parent.name] = json.loads(body)
            assert list(answers[path.parent.name]) == SHAPES
        assert max(answers["circle"], key=answers["circle"].get) == "circle", answers
        assert max(answers["triangle"], key=answers["triangle"].get) == "triangle", answers
        status, body = upload(f"{url}/predict_image", b"name,value\nnot,an image\n", "table.csv")
        assert status == 400 and "not a PNG or JPEG" in body, (status, body)
        smoke = json.loads((project.path / "artifacts/smoke.json").read_text())
        status, body = call(f"{url}/predict", {"records": smoke["records"]})
        assert status == 200, body
        for answer, expected in zip(json.loads(body), smoke["expected"], strict=True):
            assert list(answer.values()) == pytest.approx(expected, abs=1e-5)
        assert call(f"{url}/readyz")[0] == 200
    logged = [json.loads(line) for line in (project.path / REQUEST_LOG).read_text().splitlines()]
    assert len(logged) == 2 + len(smoke["records"])  # the refused upload is not logged
    assert (logged[0]["features"]["width"], logged[0]["features"]["height"]) == (40, 40)  # 030.jpg, before resizing
    assert "pixels" not in json.dumps(logged[0])  # statistics, not the image

    drift = project.run(project.python, "-m", project.package, "drift", REQUEST_LOG, check=False)
    assert drift.returncode in {0, 1}, drift.stdout + drift.stderr  # a verdict, not invalid data or an error
    assert json.loads((project.path / "reports/drift.json").read_text())["current"]["rows"] == len(logged)
    project.make("test")  # the pull request's tier; the thorough one runs in the defaults project


def _file(folder: Path) -> Path:
    (folder / "images.zip").write_bytes(b"PK\x03\x04 not a folder")
    return folder / "images.zip"


def _flat(folder: Path) -> Path:
    draw_shapes(folder / "drawn", per_class=3)
    flat = folder / "flat"
    flat.mkdir()
    for number, path in enumerate(sorted((folder / "drawn").rglob("*.png"))):
        shutil.copyfile(path, flat / f"{number}.png")
    return flat


def _one_class(folder: Path) -> Path:
    draw_shapes(folder / "drawn", per_class=3)
    shutil.rmtree(folder / "drawn" / "square")
    shutil.rmtree(folder / "drawn" / "triangle")
    return folder / "drawn"


def _no_image(folder: Path) -> Path:
    for name in ("cats", "dogs"):
        (folder / "junk" / name).mkdir(parents=True)
        (folder / "junk" / name / "1.png").write_bytes(b"not a png")
    return folder / "junk"


# case -> (writes the input and returns its path, extra make variables, what the error line must name)
BAD_INPUT: dict[str, tuple[Callable[[Path], Path], dict, str]] = {
    "missing-folder": (lambda folder: folder / "nowhere", {}, "nowhere"),
    "a-file": (_file, {}, "images.zip"),
    "no-class-subfolders": (_flat, {}, "no class subfolders"),
    "one-class": (_one_class, {}, "one class only"),
    "no-readable-image": (_no_image, {}, "no readable PNG or JPEG"),
    "bad-size": (lambda folder: draw_shapes(folder / "drawn", per_class=3), {"SIZE": "large"}, "SIZE=large"),
}


@pytest.mark.parametrize("case", [pytest.param(case, id=case) for case in BAD_INPUT])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(project, tmp_path, case):
    write, variables, named = BAD_INPUT[case]
    assert_adopt_refused(project, write(tmp_path), variables, named)
