"""What adopting your own data changes in the project, for a table and for a folder of images alike (adopt.py).

Each function edits one file in place and keeps every line it does not own, comments included.
"""

import re
from pathlib import Path

COMMIT_LIMIT = 50_000_000  # bytes: smaller adopted data is committed with the project, so CI trains on it
README_START, README_END = "<!-- adopt:data -->", "<!-- /adopt:data -->"


class AdoptionError(ValueError):
    """The data cannot be adopted; the message is one line saying why and what to do."""


def replace_line(path: Path, key: str, value: str) -> None:
    """Set a top-level (or indented) `key: value` line, keeping its comment and every other line as it is."""
    text = path.read_text()
    pattern = re.compile(rf"^(\s*{re.escape(key)}:)[^#\n]*?(\s*#.*)?$", re.MULTILINE)
    if not pattern.search(text):
        raise AdoptionError(f"{path}: no '{key}:' line to set")
    path.write_text(pattern.sub(lambda match: f"{match[1]} {value}{match[2] or ''}", text, count=1))


def write_readme(path: Path, text: str) -> None:
    """Replace the README's data section (between the adopt:data markers) with `text`."""
    if not path.is_file():
        return
    content = path.read_text()
    if README_START in content and README_END in content:
        before, rest = content.split(README_START, 1)
        after = rest.split(README_END, 1)[1]
        path.write_text(f"{before}{README_START}\n{text}\n{README_END}{after}")


def commit_with_project(path: Path, raw: Path, size: int) -> str:
    """Let git keep the adopted data (.gitignore) when it is small, so CI trains on it; else say what to do."""
    if size > COMMIT_LIMIT or not path.is_file():
        return f"{raw} is {size / 1e6:.0f} MB: not committed (data/raw/ is ignored); have `make data` fetch it in CI"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("!data/raw/")]
    lines = ["data/raw/*" if line.strip() == "data/raw/" else line for line in lines]
    lines.append(f"!{raw.as_posix()}")
    path.write_text("\n".join(lines) + "\n")
    return f"{raw} will be committed with the project (.gitignore): CI validates and trains on it"
