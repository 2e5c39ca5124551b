import os

import pytest

from tests import zoo
from tests.baked import bake

# Slow tests share a baked, installed project per combination (session fixtures are per test worker): each project's
# tests run in one worker (`pytest -n 2 --dist loadgroup`, as `make test` runs them), the projects side by side.
# Modules with a project of their own; the other slow ones use `defaults`. The workflow and platform tests take a
# second project with the defaults' answers (`gitops`): a group that can run beside `defaults` on the other worker.
MODULE_GROUPS = {
    "test_adopt": "adopt",
    "test_adopt_images": "adopt-images",
    "test_adopt_texts": "adopt-texts",
    "test_workflows": "gitops",
    "test_platform": "gitops",
    "test_monitoring": "gitops",
    "test_template_update": "template-update",
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        if "slow" not in item.keywords:
            continue
        params = getattr(item, "callspec", None)
        name = params.params.get("name") if params else None
        module = item.module.__name__.rsplit(".", 1)[-1]
        group = name if isinstance(name, str) else MODULE_GROUPS.get(module, "defaults")
        if module == "test_zoo":  # two projects, one per worker: each adopts half of the tables in turn
            case = params.params.get("shape") or params.params.get("name")
            group = f"zoo-{zoo.HALF[case]}"
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def baked(tmp_path_factory):
    """Bake each named combination once per session, on first use."""
    projects = {}

    def get(name: str):
        if name not in projects:
            projects[name] = bake(tmp_path_factory.mktemp(name), name)
        return projects[name]

    return get


@pytest.fixture(scope="session")
def environments(tmp_path_factory):
    """One folder for every test worker: an environment per set of dependencies (BakedProject.install)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "environments"


# Made in the project's own .venv, as a user's `make setup` makes it; the other slow projects share environments.
OWN_ENVIRONMENT = {"defaults"}


@pytest.fixture(scope="session")
def installed(tmp_path_factory, environments):
    """Bake and `make setup` each slow combination once per session."""
    done = {}

    def get(name: str):
        if name not in done:
            # A bake of its own: the slow tests run the pipeline in it, while the fast tier (maybe later, in the same
            # worker) checks the `baked` copy exactly as cookiecutter left it.
            project = bake(tmp_path_factory.mktemp(f"{name}-installed"), name)
            project.install(None if name in OWN_ENVIRONMENT else environments)
            done[name] = project
        return done[name]

    return get
