"""deploy/'s canary analysis, alerts and dashboard follow the configs (production.py, `make monitoring`)."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package }} import config, production
from {{ cookiecutter.package }}.cli import main

ROOT = Path.cwd()  # the project: `make test` runs here


def test_the_generated_files_are_current():
    """A changed threshold in the configs without `make monitoring` fails here, naming the file to regenerate."""
    assert production.stale(ROOT) == [], "run `make monitoring` and commit what it writes"
    assert main(["monitoring", "--check"]) == 0


def _scratch(tmp_path: Path) -> Path:
    for folder in ("configs", "deploy"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def _settings(root: Path, name: str) -> dict:
    return yaml.safe_load((root / "configs" / f"{name}.yaml").read_text())


def test_a_changed_threshold_reaches_the_analysis_and_the_alerts(tmp_path, monkeypatch):
    root = _scratch(tmp_path)
    serve = _settings(root, "serve")
    serve["loadtest"]["slo"]["p99_ms"] = 321
    serve["production"]["max_class_shift"] = 0.07
    (root / "configs" / "serve.yaml").write_text(yaml.safe_dump(serve))
    drift = _settings(root, "drift")
    drift["drift_share"] = 0.25
    (root / "configs" / "drift.yaml").write_text(yaml.safe_dump(drift))
    monkeypatch.chdir(root)
    assert main(["monitoring", "--check"]) == 1
    assert main(["monitoring"]) == 0 and main(["monitoring", "--check"]) == 0
    rules = {
        rule["alert"]: rule
        for rule in yaml.safe_load((root / production.RULES).read_text())["spec"]["groups"][0]["rules"]
    }
    assert rules["ModelLatencyOverSLO"]["expr"].endswith("> 0.321")
    assert rules["ModelDriftDetected"]["expr"].endswith(">= 0.25")
    analysis = root / production.ANALYSIS
    if analysis.is_file():  # a canary or shadow project
        metrics = {metric["name"]: metric for metric in yaml.safe_load(analysis.read_text())["spec"]["metrics"]}
        assert metrics["class-shift"]["successCondition"].endswith("<= 0.07")


def test_a_bad_threshold_is_refused_before_a_file_is_written(tmp_path, monkeypatch, capsys):
    root = _scratch(tmp_path)
    serve = _settings(root, "serve")
    serve["production"]["window"] = "two minutes"
    (root / "configs" / "serve.yaml").write_text(yaml.safe_dump(serve))
    before = {path: path.read_text() for path in (root / "deploy").rglob("*.yaml")}
    monkeypatch.chdir(root)
    assert main(["monitoring"]) == 2
    assert "production.window" in capsys.readouterr().err
    assert {path: path.read_text() for path in (root / "deploy").rglob("*.yaml")} == before


def test_every_alert_and_panel_reads_the_production_namespace():
    namespace = production.namespace(ROOT, config.load(config.TrackingConfig).registered_model)
    rules = yaml.safe_load((ROOT / production.RULES).read_text())["spec"]["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} == {
        "ModelErrorRateHigh",
        "ModelLatencyOverSLO",
        "ModelDriftDetected",
        "ModelNoTraffic",
        "ModelConfidenceCollapsing",
    }
    board = yaml.safe_load((ROOT / production.DASHBOARD).read_text())
    panels = json.loads(next(iter(board["data"].values())))["panels"]
    assert panels and board["metadata"]["labels"] == {"grafana_dashboard": "1"}
    for expr in [rule["expr"] for rule in rules] + [panel["targets"][0]["expr"] for panel in panels]:
        assert f'namespace="{namespace}"' in expr, expr


@pytest.mark.parametrize("field", ["loadtest", "production"])
def test_the_serving_config_without_its_thresholds_is_refused(field, tmp_path, monkeypatch):
    root = _scratch(tmp_path)
    serve = _settings(root, "serve")
    del serve[field]
    (root / "configs" / "serve.yaml").write_text(yaml.safe_dump(serve))
    monkeypatch.chdir(root)
    with pytest.raises(config.ConfigError, match=field):
        config.load(config.ServeConfig)
