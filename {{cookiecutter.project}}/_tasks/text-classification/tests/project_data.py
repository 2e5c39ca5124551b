"""The data a text project's tests run on: its committed sample of texts, or the bundled reviews."""

import shutil
from pathlib import Path

from {{ cookiecutter.package }}.data import write_bundled_data

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A sample of the project's own texts, written by `make adopt` and committed: the tests run on the project's data
# (in CI too, where data/raw/ may be absent). Without one, the project's data is the bundled reviews.
SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "texts.csv"
_BUNDLED: list[Path] = []  # the bundled reviews, written once per session and copied into each workspace


def write_project_data(path: str | Path) -> Path:
    """The project's texts for a test: the committed sample of its own, or the bundled reviews."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if SAMPLE.is_file():
        return Path(shutil.copyfile(SAMPLE, path))
    if not _BUNDLED:
        import tempfile

        _BUNDLED.append(write_bundled_data(Path(tempfile.mkdtemp(prefix="bundled-")) / "reviews.csv"))
    return Path(shutil.copyfile(_BUNDLED[0], path))
