"""The data a table project's tests run on: its committed sample of rows, or the bundled table."""

import shutil
from pathlib import Path

from {{ cookiecutter.package }}.data import write_bundled_data
from {{ cookiecutter.package }}.validate import read_table

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A sample of the project's own rows, written by `make adopt` and committed: the tests run on the project's data
# (in CI too, where data/raw/ may be absent). Without one, the project's data is the bundled table.
SAMPLE = PROJECT_ROOT / "tests" / "fixtures" / "sample.csv"


def write_project_data(path: str | Path) -> Path:
    """The project's rows for a test: the committed sample of its own data, or the bundled table."""
    path = Path(path)
    if not SAMPLE.is_file():
        return write_bundled_data(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in {".parquet", ".pq"}:
        read_table(SAMPLE).to_parquet(path, index=False)
    else:
        shutil.copyfile(SAMPLE, path)
    return path
