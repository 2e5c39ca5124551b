"""The benchmarks' way into a baked project: its package, imported from the environment it is installed in."""

import importlib
import os
from pathlib import Path
from types import ModuleType


def modules(project: Path, *names: str, chdir: bool = True) -> list[ModuleType]:
    """Import <package>.<name> for each name of the baked project at `project` (its configs/ read from there)."""
    project = project.resolve()
    if chdir:
        os.chdir(project)
    package = next(path.name for path in (project / "src").iterdir() if (path / "__init__.py").exists())
    return [importlib.import_module(f"{package}.{name}") for name in names]
