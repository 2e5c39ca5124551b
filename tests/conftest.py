import pytest

from tests.baked import bake


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
def installed(baked):
    """Bake and `make setup` each slow combination once per session (into the one shared environment)."""
    done = {}

    def get(name: str):
        if name not in done:
            project = baked(name)
            project.install()
            done[name] = project
        return done[name]

    return get
