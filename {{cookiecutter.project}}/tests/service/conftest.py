"""One trained, gated and packaged model, and its bento served on a free port, for every test in this folder."""

import pytest

from {{ cookiecutter.package }}.local_server import running_bento


@pytest.fixture(scope="package")
def packaged(tmp_path_factory, make_trained):
    """Train, gate and package once, in a scratch project with its own bento store."""
    from {{ cookiecutter.package }}.bento import package

    root = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BENTOML_HOME", str(root / "bentoml"))
        make_trained(root, monkeypatch)
        yield root, package()


@pytest.fixture(scope="package")
def server(packaged):
    root, _ = packaged
    with running_bento(log=root / "serve.log") as url:  # the project's own helper, as `make smoke` uses it
        yield url
