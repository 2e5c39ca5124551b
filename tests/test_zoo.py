"""Slow tier: tables nobody designed the project's tests for (tests/zoo.py) each go green, as a user's would.

A project adopts each table in turn (two projects, one per test worker, each with half of the tables: zoo.HALF):
`make adopt`, `make pipeline` (validate, train, gate, package, smoke), then `make test`, the pull-request tier its
own CI runs. Every project test must hold for any table the contract accepts
(or skip, saying why it cannot apply); a red one here is a test that asserted what the demo data happens to do.
Two real public tables come from scikit-learn, which every project installs: its wine and iris data sets.
"""

import json
import re
from pathlib import Path

import pytest

from tests import zoo
from tests.baked import COMBINATIONS, BakedProject, bake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def projects(tmp_path_factory, environments):
    """A tabular project per half of the zoo (zoo.HALF: one per test worker), baked and installed on first use."""
    made = {}

    def get(case: str) -> BakedProject:
        half = zoo.HALF[case]
        if half not in made:
            with pytest.MonkeyPatch.context() as patch:
                patch.setitem(COMBINATIONS, f"table-zoo-{half}", {"project_name": f"Table Zoo {half.upper()}"})
                made[half] = bake(tmp_path_factory.mktemp(f"zoo-{half}"), f"table-zoo-{half}")
            made[half].install(environments)
        return made[half]

    return get


def write_real(project: BakedProject, name: str, folder: Path) -> tuple[Path, str]:
    loader, label = zoo.REAL[name]
    path = folder / f"{name}.csv"
    code = f"""
import sklearn.datasets
bunch = getattr(sklearn.datasets, {loader!r})(as_frame=True)
frame = bunch.frame.drop(columns="target")
frame[{label!r}] = bunch.target_names[bunch.target]
frame.to_csv({str(path)!r}, index=False)
"""
    project.run(project.python, "-c", code)
    return path, label


def adopt_and_go_green(project: BakedProject, data: Path, label: str) -> str:
    """adopt, the pipeline (its gate passes) and the pull-request tier; what adopt printed."""
    adopted = project.make("adopt", DATA=str(data), LABEL=label)
    project.make("pipeline")
    tests = project.make("test")
    summary = tests.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "error" not in summary, summary
    # The pipeline's model passed the gate: no test may skip for want of one (the project's -ra lists skips).
    assert "does not pass the gate" not in tests.stdout, tests.stdout[-3000:]
    return adopted.stdout


@pytest.mark.parametrize("shape", [pytest.param(name, id=name) for name in zoo.SHAPES])
def test_a_generated_table_goes_green(projects, tmp_path, shape):
    table, project = zoo.SHAPES[shape], projects(shape)
    printed = adopt_and_go_green(project, zoo.write(table, tmp_path), table.label)
    gate = json.loads((project.path / "reports" / "gate.json").read_text())
    assert gate["verdict"] == "passed", gate["rules"]
    classes = len(gate["contenders"]["challenger"]["recall"])
    if table.dialect:  # read as written, and said so
        assert f"separator {table.dialect['delimiter']!r}, decimal mark {table.dialect['decimal']!r}" in printed
    if classes > 2 or "warning: imbalanced" in printed:
        assert gate["primary_metric"] == "balanced_accuracy", printed


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in zoo.REAL])
def test_a_real_table_goes_green(projects, tmp_path, name):
    project = projects(name)
    data, label = write_real(project, name, tmp_path)
    adopt_and_go_green(project, data, label)
