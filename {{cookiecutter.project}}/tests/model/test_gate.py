"""The metric gate, the registry aliases it moves, and the report a pull request shows."""

import json
import re
import shutil
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package }} import config, registry
from {{ cookiecutter.package }}.data import SPLITS, load_split, save_splits, split
from {{ cookiecutter.package }}.features import CLASS_NAMES
from {{ cookiecutter.package }}.gate import FAILED, PASSED, SKIPPED, gate
from {{ cookiecutter.package }}.report import report
from {{ cookiecutter.package }}.results import GateResult, Rule
from {{ cookiecutter.package }}.schema import CLASSES, LABEL, POSITIVE
from {{ cookiecutter.package }}.train import train
from {{ cookiecutter.package }}.validate import read_table

pytestmark = pytest.mark.slow
FIT = ["train.trainer.max_epochs=40"]


def _aliases() -> dict:
    return registry.aliases(MlflowClient(), registry.model_name())


def _versions() -> list[str]:
    return sorted(v.version for v in MlflowClient().search_model_versions(f"name='{registry.model_name()}'"))


def _rule(result: GateResult, name: str) -> Rule:
    return next(rule for rule in result.rules if rule.name == name)


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory, make_workspace):
    """One model trained on the saved split, in a scratch project of the module's: each test starts from a copy."""
    root = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as monkeypatch:
        make_workspace(root, monkeypatch)
        data_cfg = config.load(config.DataConfig)
        frame = read_table(data_cfg.raw)
        parts = split(frame, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
        save_splits(parts, data_cfg.splits_dir, data_cfg.raw)
        train(FIT)
    return root


@pytest.fixture
def trained(trained_once, tmp_path, monkeypatch) -> Path:
    """A copy of the trained project (its MLflow store and registry too: no version, no alias), the working directory.

    The store's artifacts stay in the module's folder (their URIs are absolute), read-only for what the copy reads.
    """
    root = tmp_path / "project"
    shutil.copytree(trained_once, root)
    monkeypatch.chdir(root)
    store = f"sqlite:///{root / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.set_tracking_uri(store)
    return root


@pytest.fixture
def champion(trained, passed_or_skip):
    """The trained model, passed by the gate and promoted to @production."""
    first = gate()
    passed_or_skip(first)
    registry.promote("production")
    return first


def test_first_run_has_no_champion_and_passes_on_floor_and_baseline(trained, passed_or_skip):
    result = gate()
    passed_or_skip(result)
    assert _rule(result, "champion").status == SKIPPED
    assert "no champion" in _rule(result, "champion").detail
    floor = PASSED if config.load(config.GateConfig).floor is not None else SKIPPED  # an adopted table has no floor
    assert (_rule(result, "floor").status, _rule(result, "baseline").status) == (floor, PASSED)
    assert _aliases() == {"staging": result.registered_version}
    saved = json.loads(Path("reports/gate.json").read_text())
    assert saved["verdict"] == PASSED and "champion" not in saved["contenders"]


def test_sabotaged_challenger_fails_and_moves_nothing(champion, trained):
    """A challenger trained on labels moved one class along (each class called the next) has learned the champion's
    signal and gives it the wrong name: it fails whichever of the gate's rules catches it first, on any data the
    champion passed on, and nothing is registered or moved."""
    before_aliases, before_versions = _aliases(), _versions()
    data_cfg = config.load(config.DataConfig)
    parts = {name: load_split(trained / data_cfg.splits_dir, name) for name in SPLITS}
    frame = parts["train"]
    frame[LABEL] = frame[LABEL].map({value: CLASSES[(index + 1) % len(CLASSES)] for index, value in enumerate(CLASSES)})
    assert frame[LABEL].notna().all(), "every label moved to the next class"
    save_splits(parts, trained / data_cfg.splits_dir, data_cfg.raw)  # as `make validate` saves a split
    train(FIT)
    result = gate()
    assert result.verdict == FAILED
    assert result.failed(), result.rules
    assert result.registered_version is None
    assert _aliases() == before_aliases == {"staging": "1", "production": "1"}
    assert _versions() == before_versions


def test_challenger_equal_to_champion_passes_within_tolerance_and_the_report_shows_it(champion):
    train(FIT)  # same seed, same data, deterministic: the same model again
    result = gate()
    assert result.verdict == PASSED
    rule = _rule(result, "champion")
    assert rule.status == PASSED and "no difference" in rule.detail
    assert result.champion_difference is not None
    assert result.champion_difference["low"] == result.champion_difference["high"] == 0.0
    assert _aliases() == {"production": "1", "staging": "2"}
    # The pull request's comment on this run: the three contenders side by side, small enough to post.
    path = report()
    text = path.read_text()
    assert len(text.encode()) < 60_000
    assert text.startswith("## ✅ Model gate PASSED")
    assert "| metric | challenger | champion | baseline |" in text and "**champion**: version 1" in text
    assert "Registered as version 2 with alias `@staging`" in text
    # Pictures a pull-request comment shows: no image by relative path (a comment cannot resolve one); the
    # confusion matrix as a table with a row per class; mermaid line charts for a binary label's curves.
    assert not re.search(r"!\[[^\]]*\]\((?!https?://)", text), "an image linked by relative path"
    assert "| true \\ predicted |" in text and all(f"| **{name}** |" in text for name in CLASS_NAMES)
    curves = ["roc_curve.png", "pr_curve.png"] if POSITIVE is not None and len(CLASSES) == 2 else []
    charts = re.findall(r"```mermaid\n.*?xychart-beta\n(.*?)```", text, re.DOTALL)
    assert len(charts) == len(curves)
    for chart in charts:  # one line per contender, one point per grid position, each a probability
        lines = re.findall(r"^  line \[(.*)\]$", chart, re.MULTILINE)
        assert len(lines) == 3 and all(len(values.split(",")) == 21 for values in lines)
        assert all(0.0 <= float(value) <= 1.0 for values in lines for value in values.split(","))
    for image in ["confusion_matrix.png", *curves]:  # written beside it, and named in the text
        assert f"`{image}`" in text
        data = (path.parent / image).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5_000
    assert curves or not (path.parent / "roc_curve.png").exists()


def test_an_error_while_registering_leaves_no_half_registered_version(trained, monkeypatch, passed_or_skip):
    passed_or_skip(gate(register=False))  # registering is tried only for a model the gate passes

    def broken(*args, **kwargs):
        raise ConnectionError("registry went away")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", broken)
    with pytest.raises(ConnectionError):
        gate()
    assert _versions() == [] and _aliases() == {}


def test_promote_without_staging_says_what_to_run(splits):
    with pytest.raises(ValueError, match="make gate"):
        registry.promote("production")
    with pytest.raises(ValueError, match="promotable"):
        registry.promote("qa")
