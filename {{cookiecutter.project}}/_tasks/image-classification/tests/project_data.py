"""The data an image project's tests run on: its committed sample of images, or the bundled digits."""

import shutil
from pathlib import Path

from {{ cookiecutter.package }}.data import write_bundled_data

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A sample of the project's own images, written by `make adopt` and committed: the tests run on the project's data
# (in CI too, where data/raw/ may be absent). Without one, the project's data is the bundled digits.
SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "images"
_BUNDLED: list[Path] = []  # the bundled images, written once per session and copied into each workspace


def write_project_data(path: str | Path) -> Path:
    """The project's images for a test: the committed sample of its own, or the bundled digits."""
    path = Path(path)
    if not SAMPLE.is_dir():
        if not _BUNDLED:
            import tempfile

            _BUNDLED.append(write_bundled_data(Path(tempfile.mkdtemp(prefix="bundled-")) / "images"))
        return Path(shutil.copytree(_BUNDLED[0], path))
    return Path(shutil.copytree(SAMPLE, path))
