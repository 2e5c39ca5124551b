"""The template's Python as it stands, before any bake: shared code holds no template branch, every file parses and
is lint-clean, and every task provides the task interface (plugin.Task) in its own folder."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT = TEMPLATE / "{{cookiecutter.project}}"
SHARED = PROJECT / "src" / "{{cookiecutter.package}}"
TASKS = sorted(path for path in (PROJECT / "_tasks").iterdir() if path.is_dir())
# Modules a task brings (the hook lays them beside the shared ones): shared code reaches them through plugin.TASK.
TASK_MODULES = sorted(
    {path.stem for task in TASKS for path in (task / "src" / "{{cookiecutter.package}}").glob("*.py")}
)
PACKAGE = re.compile(r"\{\{\s*cookiecutter\.package\s*\}\}")  # tests import the package by its baked name


def python_files() -> list[Path]:
    return sorted(path for path in PROJECT.rglob("*.py") if "__pycache__" not in path.parts)


def test_shared_python_holds_no_template_branch():
    branched = [
        str(path.relative_to(PROJECT)) for path in SHARED.glob("*.py") if re.search(r"\{%|%\}", path.read_text())
    ]
    assert not branched, f"a task's difference belongs in _tasks/<task>/ behind plugin.Task: {branched}"


def test_every_python_file_parses_as_it_stands():
    """No Jinja in code: an editor, a linter and a type checker read the template as Python. A test may name the
    package in its imports (`from {{ cookiecutter.package }}.data import ...`): that name alone is replaced."""
    broken = []
    for path in python_files():
        text = path.read_text()
        if "tests" in path.relative_to(PROJECT).parts:
            text = PACKAGE.sub("package", text)
        try:
            ast.parse(text, filename=str(path))
        except SyntaxError as error:
            broken.append(f"{path.relative_to(PROJECT)}:{error.lineno}: {error.msg}")
    assert not broken


def test_package_source_is_lint_clean_and_formatted_unbaked():
    """ruff, with the baked projects' settings, on the shared package and every task's modules as they stand."""
    ruff = str(Path(sys.prefix) / "bin" / "ruff")
    sources = [str(SHARED), *(str(task / "src") for task in TASKS)]
    settings = ["--isolated", "--line-length", "120", "--target-version", "py311", "--no-cache"]
    checked = subprocess.run(
        [ruff, "check", *settings, "--select", "E,F,W,I,B,UP,SIM,RUF", *sources], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout[-3000:]
    formatted = subprocess.run([ruff, "format", "--check", *settings, *sources], capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout[-3000:]


def test_shared_modules_reach_a_task_through_the_interface_only():
    """No shared module imports a task's own modules (schema, features, network, ...): plugin.py imports the one
    task, everything else asks plugin.TASK."""
    reaching = []
    for path in SHARED.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                reaching += [
                    f"{path.name}: .{name}" for name in names if name in TASK_MODULES and path.name != "plugin.py"
                ]
    assert not reaching


def _members(cls: ast.ClassDef) -> dict[str, list[str] | None]:
    """A class's members: attribute name -> None, method name -> its parameter names."""
    members: dict[str, list[str] | None] = {}
    for node in cls.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            members[(node.targets[0] if isinstance(node, ast.Assign) else node.target).id] = None
        elif isinstance(node, ast.FunctionDef):
            kwargs = [f"**{node.args.kwarg.arg}"] if node.args.kwarg else []
            members[node.name] = [arg.arg for arg in node.args.args] + kwargs
    return members


def _classes(path: Path) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in ast.parse(path.read_text()).body if isinstance(node, ast.ClassDef)}


def _interface() -> dict[str, list[str] | None]:
    """plugin.Task's members."""
    return _members(_classes(SHARED / "plugin.py")["Task"])


@pytest.mark.parametrize("task", TASKS, ids=[task.name for task in TASKS])
def test_each_task_provides_the_interface_in_its_own_folder(task):
    """_tasks/<task>/src/<package>/task.py: a class with every member of plugin.Task (methods with the same
    parameters; those of task_base's classes it inherits count, and it sets what they need), its instance TASK, the
    task's name as cookiecutter.json lists it, and every module it serves."""
    source = task / "src" / "{{cookiecutter.package}}"
    tree = ast.parse((source / "task.py").read_text())
    (binding,) = [node for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "TASK"]
    implementation = _classes(source / "task.py")[binding.value.func.id]
    own = _members(implementation)
    values = {
        (node.targets[0] if isinstance(node, ast.Assign) else node.target).id: node.value
        for node in implementation.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
    }
    shared_bases = _classes(SHARED / "task_base.py")
    provided: dict[str, list[str] | None] = {}
    for base in implementation.bases:
        if isinstance(base, ast.Name) and base.id in shared_bases:
            inherited = _members(shared_bases[base.id])
            needed = [name for name, params in inherited.items() if params is None]
            assert set(needed) <= set(own), f"{task.name}/task.py inherits {base.id} but sets no {needed}"
            provided |= inherited
    provided |= own
    interface = _interface()
    missing = sorted(set(interface) - set(provided))
    assert not missing, f"{task.name}/task.py lacks {missing}"
    differing = {name: (provided[name], wanted) for name, wanted in interface.items() if provided[name] != wanted}
    assert not differing, differing
    assert ast.literal_eval(values["name"]) == task.name
    assert task.name in json.loads((TEMPLATE / "cookiecutter.json").read_text())["task"]
    served = ast.literal_eval(values["served_modules"])
    assert "task.py" in served and all((source / module).is_file() for module in served), served
