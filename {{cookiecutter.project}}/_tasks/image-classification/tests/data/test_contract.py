"""The data contract accepts the project's images and rejects each kind of bad folder or index, naming the problem."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.features import encode, monitored
from {{ cookiecutter.package }}.images import SHAPE, ImageError, decode, load, scan, stats
from {{ cookiecutter.package }}.schema import CLASSES, HEIGHT, LABEL, MODE, SCHEMA, WIDTH
from {{ cookiecutter.package }}.validate import ContractError, read_table, validate_frame


def test_project_images_pass(bundled):
    validated = validate_frame(bundled, "data/raw")
    assert sorted(validated.columns) == sorted(SCHEMA.columns)
    assert len(validated) == len(bundled) and validated[LABEL].nunique() == len(CLASSES)
    assert validated["sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def _missing_file(frame):
    frame.loc[3, "path"] = "data/raw/nowhere.png"
    return frame


def _unknown_class(frame):
    frame.loc[4, LABEL] = "not-a-class"
    return frame


def _unconvertible_mode(frame):
    frame.loc[5, "mode"] = "I;16"  # 16-bit grey: converting would clip it
    return frame


def _zero_width(frame):
    frame.loc[6, "width"] = 0
    return frame


@pytest.mark.parametrize(
    ("breaker", "named"),
    [
        pytest.param(lambda frame: frame.drop(columns=["sha256"]), "sha256", id="missing-column"),
        pytest.param(_missing_file, "no such image file", id="missing-file"),
        pytest.param(_unknown_class, "not-a-class", id="unknown-class"),
        pytest.param(_unconvertible_mode, "I;16", id="unconvertible-mode"),
        pytest.param(_zero_width, "below the minimum", id="zero-width"),
        pytest.param(lambda frame: frame.assign(extra=1), "extra", id="extra-column"),
        pytest.param(lambda frame: frame.iloc[0:0], "no images", id="no-images"),
    ],
)
def test_bad_index_fails_and_names_the_problem(bundled, breaker, named):
    with pytest.raises(ContractError) as caught:
        validate_frame(breaker(bundled.copy()), "incoming")
    message = str(caught.value)
    assert "incoming" in message and named in message


def test_validate_names_the_file_of_an_unknown_class(workspace, capsys):
    raw = Path(config.load(config.DataConfig).raw)
    stray = raw / "not-a-class" / "stray.png"
    stray.parent.mkdir()
    shutil.copyfile(next(raw.rglob("*.png")), stray)
    assert main(["validate"]) == 2
    error = capsys.readouterr().err
    assert str(stray) in error and "not one of" in error
    assert not (workspace / "data" / "splits").exists(), "a rejected folder must not produce a split"


@pytest.mark.parametrize(
    "content", [b"", b"\x89PNG\r\n\x1a\ntruncated", b"GIF89a not supported"], ids=["empty", "truncated", "gif"]
)
def test_validate_refuses_a_file_that_is_no_readable_image(workspace, content, capsys):
    raw = Path(config.load(config.DataConfig).raw)
    broken = raw / CLASSES[0] / "broken.png"
    broken.write_bytes(content)
    assert main(["validate"]) == 2
    error = capsys.readouterr().err
    assert str(broken) in error and "not a readable image" in error


def test_files_that_are_not_images_by_name_are_not_read(workspace):
    raw = Path(config.load(config.DataConfig).raw)
    (raw / CLASSES[0] / "notes.txt").write_text("not an image")
    (raw / CLASSES[0] / ".DS_Store").write_bytes(b"\x00\x01")
    frame, left_out = scan(raw)
    assert not frame["path"].str.endswith((".txt", ".DS_Store")).any()
    assert [line for line in left_out if "notes.txt" in line] and not [line for line in left_out if "DS_Store" in line]


def test_a_folder_without_class_subfolders_has_no_labels(tmp_path, bundled):
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for number, path in enumerate(bundled["path"].head(5)):
        shutil.copyfile(path, folder / f"{number}.png")
    frame = read_table(folder)
    assert LABEL not in frame and len(frame) == 5
    with pytest.raises(ContractError, match=f"column '{LABEL}' is missing"):
        validate_frame(frame, folder)


def test_train_refuses_images_changed_after_the_split(splits, capsys):
    raw = Path(config.load(config.DataConfig).raw)
    shutil.copyfile(next(raw.rglob("*.png")), raw / CLASSES[0] / "added.png")
    assert main(["train", "train.trainer.max_epochs=1"]) != 0
    assert "make validate" in capsys.readouterr().err


def test_any_size_and_mode_becomes_what_the_model_takes(tmp_path):
    """A colour image of another size, a grey one with transparency, a palette one: all become SHAPE, 0-255."""
    files = {
        "colour.jpg": Image.new("RGB", (WIDTH * 3 + 1, HEIGHT * 2), (200, 30, 90)),
        "alpha.png": Image.new("LA", (WIDTH, HEIGHT), (128, 255)),
        "palette.png": Image.new("P", (WIDTH + 5, HEIGHT + 5), 3),
    }
    for name, image in files.items():
        image.save(tmp_path / name)
    arrays, sizes = load([tmp_path / name for name in files])
    assert arrays.shape == (3, *SHAPE) and arrays.dtype == np.uint8
    assert sizes == [image.size for image in files.values()]  # the size before resizing, for the drift check
    assert 0 < arrays[0].mean() < 255
    assert np.ptp(arrays[0], axis=(1, 2)).max() <= 2, "a flat colour stays flat in each channel when resized"


def test_an_image_that_cannot_be_converted_is_refused_by_name(tmp_path):
    deep = tmp_path / "sixteen-bit.png"
    Image.fromarray(np.full((HEIGHT, WIDTH), 40000, dtype=np.uint16)).save(deep)
    with pytest.raises(ImageError, match="mode"):
        decode(deep)
    with pytest.raises(ImageError, match=str(deep)):
        load([deep])


def test_encode_gives_the_model_one_row_of_pixels_per_image(bundled):
    rows = encode(bundled.head(4))
    assert rows.shape == (4, int(np.prod(SHAPE))) and rows.dtype == np.float32
    assert rows.min() >= 0 and rows.max() <= 255


def test_monitored_statistics_follow_the_image(bundled):
    """What the drift check compares: a darker camera, a moved object and a blank image change what they should.

    Darker holds for any image. The moved object is built so the shift is exact whatever the project's images are
    (their edges need not be background): a block of ink on a flat background, one pixel further right.
    """
    arrays, sizes = load(bundled["path"].head(50).tolist())
    base = stats(arrays, sizes)
    darker = stats((arrays * 0.5).astype(np.uint8), sizes)
    np.testing.assert_allclose(darker["brightness"], base["brightness"] * 0.5, atol=1 / 255)
    pd.testing.assert_frame_equal(monitored(bundled.head(50)), base.set_axis(bundled.index[:50]))

    block = np.full((2, *SHAPE), 30, dtype=np.uint8)  # a flat background; ink in a third of the rows and columns
    rows, width = slice(0, max(1, HEIGHT // 3)), max(1, WIDTH // 3)
    block[0, :, rows, :width] = 220
    block[1, :, rows, 1 : width + 1] = 220  # the same object, one pixel right
    placed, moved = stats(block, [(WIDTH, HEIGHT)] * 2).to_dict("records")
    assert moved["centre_column"] == pytest.approx(placed["centre_column"] + 1 / (WIDTH - 1))
    assert moved["centre_row"] == pytest.approx(placed["centre_row"]) and moved["ink"] == placed["ink"] > 0

    blank = stats(np.zeros((1, *SHAPE), dtype=np.uint8), [(WIDTH, HEIGHT)]).iloc[0]
    assert blank[["brightness", "contrast", "ink", "centre_row", "centre_column"]].tolist() == [0.0] * 5
    assert blank[["width", "height"]].tolist() == [WIDTH, HEIGHT]


def test_the_contract_mode_is_grey_or_colour():
    assert MODE in {"L", "RGB"} and (len(MODE), HEIGHT, WIDTH) == SHAPE
