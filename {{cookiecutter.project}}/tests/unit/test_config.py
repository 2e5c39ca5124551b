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


def _set(workspace, name: str, old: str, new: str) -> None:
    path = workspace / "configs" / f"{name}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        ("gate", "baseline_margin: 0.10", "baseline_margin: 1.5",
         "gate.yaml: baseline_margin = 1.5: Input should be less than or equal to 1"),
        ("serve", "port: 3000", "port: http", "serve.yaml: port = 'http': Input should be a valid integer"),
        ("gate", "samples: 2000", "samples: 0", "gate.yaml: bootstrap.samples = 0: Input should be greater than 0"),
        ("train", "  max_epochs: 200", "  max_epochs: 200\n  gradient_clip_val: 1", None),  # Lightning's to check
        ("train", "seed: 42", "seed: 42\nmax_epochs: 3",
         "train.yaml: unknown setting 'max_epochs' (allowed here: seed, datamodule, trainer, early_stopping"),
        ("serve", "  backups: 5", "  backups: 5\n  rotate: daily",
         "serve.yaml: unknown setting 'request_log.rotate' (allowed here: path, max_bytes, backups)"),
        ("data", "test_fraction: 0.2", "test_fraction: 0.9", "data.yaml: val_fraction + test_fraction = 1.05"),
        ("gate", "primary_metric:", "primary_metric: precision  #", "gate.yaml: primary_metric = 'precision': Input "
         "should be 'accuracy', 'balanced_accuracy', 'f1' or 'roc_auc'"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line_naming_the_file_key_value_and_what_is_allowed(workspace, name, old, new, message):
    _set(workspace, name, old, new)
    if message is None:  # the trainer section is Lightning's own: its keys are Lightning's to check
        config.load(name)
        return
    with pytest.raises(config.ConfigError) as refused:
        config.load(name)
    assert str(refused.value).startswith(f"configs/{message}"), str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_command_line_override_is_checked_as_the_file_is(workspace):
    settings = config.override({"model": config.load("model")}, ["model.dropout=1.5"])
    with pytest.raises(config.ConfigError, match=r"model\.yaml: dropout = 1\.5: Input should be less than 1"):
        config.check("model", settings["model"])


def test_every_setting_is_described(workspace):
    for name, schema in config.SCHEMAS.items():
        config.load(name)  # the project's own files pass
        sections = [schema]
        while sections:
            section = sections.pop()
            for field_name, field in section.model_fields.items():
                annotation = field.annotation
                if isinstance(annotation, type) and issubclass(annotation, config.Section):
                    sections.append(annotation)
                else:
                    assert field.description, f"{name}.yaml: {field_name} has no description"


def test_a_whole_number_stays_whole(workspace):
    """Checked settings keep the YAML's numbers as written: `250 ms` in a message, not `250.0 ms`."""
    slo, retrain = config.load("serve")["loadtest"]["slo"], config.load("drift")["retrain"]
    assert isinstance(slo["p99_ms"], int) and isinstance(retrain["max_champion_age_days"], int)
