"""Configuration: overrides, clear errors, and no silent fallback to a store MLflow refuses."""

import pytest

from {{ cookiecutter.package }} import config, tracking


def test_override_sets_nested_values_parsed_as_yaml():
    settings = {"train": {"trainer": {"max_epochs": 200}}}
    config.override(settings, ["train.trainer.max_epochs=3", "train.trainer.devices=[0, 1]", "model.dropout=0.5"])
    assert settings == {"train": {"trainer": {"max_epochs": 3, "devices": [0, 1]}}, "model": {"dropout": 0.5}}


@pytest.mark.parametrize("bad", ["max_epochs", "=3"])
def test_override_without_a_key_is_refused(bad):
    with pytest.raises(config.ConfigError, match=r"key\.path=value"):
        config.override({}, [bad])


def test_missing_config_file_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(config.ConfigError, match=r"configs/train\.yaml"):
        config.load("train")


def test_missing_setting_is_named():
    with pytest.raises(config.ConfigError, match="missing setting 'seed'"):
        config.require({}, "seed", "train")


def test_file_store_uri_is_refused(workspace, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "./mlruns")
    with pytest.raises(config.ConfigError, match="sqlite"):
        tracking.settings()


FAKE_CREDENTIALS = "https://ann:hunter2@mlflow.example.com"  # pragma: allowlist secret


@pytest.mark.parametrize("uri", [FAKE_CREDENTIALS, "postgresql://ann@db.example.com/mlflow"])
def test_credentials_in_the_tracking_config_are_refused_without_echoing_them(workspace, monkeypatch, uri):
    path = workspace / "configs" / "tracking.yaml"
    path.write_text(path.read_text().replace("tracking_uri:", f"tracking_uri: {uri}  #", 1))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")  # the file is the leak, whatever is used
    with pytest.raises(config.ConfigError, match="MLFLOW_TRACKING_USERNAME") as refused:
        tracking.settings()
    message = str(refused.value)
    assert "tracking.yaml" in message and "hunter2" not in message and "ann@" not in message


def test_environment_overrides_the_configured_store(workspace, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert tracking.settings()["tracking_uri"] == "sqlite:///elsewhere.db"


def test_the_cluster_training_config_differs_only_in_the_trainer_placement(workspace):
    local, cluster = config.load("train"), config.load("train-cluster")
    placement = {"accelerator", "devices", "num_nodes", "strategy"}
    assert {key: value for key, value in cluster.items() if key != "trainer"} == {
        key: value for key, value in local.items() if key != "trainer"
    }
    for key in set(local["trainer"]) | set(cluster["trainer"]):
        if key not in placement:
            assert cluster["trainer"][key] == local["trainer"][key], key
    assert cluster["trainer"]["strategy"] == "ddp" and cluster["trainer"]["num_nodes"] >= 2
