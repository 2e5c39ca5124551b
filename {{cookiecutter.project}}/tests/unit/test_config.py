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
        config.load(config.TrainConfig)


def test_missing_setting_is_named(workspace):
    _set(workspace, "train", "seed: 42\n", "")
    with pytest.raises(config.ConfigError, match=r"configs/train\.yaml: missing setting 'seed'"):
        config.load(config.TrainConfig)


def test_settings_are_read_as_their_typed_model(workspace):
    """A step gets attributes, not a dict: the task's own model where it has one (task.py), else the shared one."""
    for kind in (config.DataConfig, config.ModelConfig, config.TrainConfig, config.ServeConfig, config.GateConfig):
        settings = config.load(kind)
        assert isinstance(settings, kind) and type(settings) is config.model_for(kind)
    with pytest.raises(Exception, match="frozen"):
        config.load(config.DataConfig).seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kind", "where", "added"),
    [
        (config.ModelConfig, "weight_decay:", "channels: [8]\nweight_decay:"),
        (config.ServeConfig, "port:", "max_upload_bytes: 1000\nport:"),
        (config.TrainConfig, "  batch_size:", "  num_workers: 2\n  batch_size:"),
    ],
)
def test_a_setting_of_another_task_is_refused(workspace, kind, where, added):
    """The image task's settings in a project of another task: refused, naming the file, the key and what is
    allowed, not silently ignored."""
    key = added.split(":")[0].strip()
    own = config.model_for(kind)
    declared = set(own.model_fields) | {
        name for field in own.model_fields.values() if hasattr(field.annotation, "model_fields")
        for name in field.annotation.model_fields  # type: ignore[union-attr]
    }  # fmt: skip
    if key in declared:
        pytest.skip(f"{key} is this task's own setting")
    _set(workspace, kind.FILE, where, added)
    with pytest.raises(config.ConfigError, match=rf"{kind.FILE}\.yaml: unknown setting '(datamodule\.)?{key}'"):
        config.load(kind)


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
    assert tracking.settings().tracking_uri == "sqlite:///elsewhere.db"


def test_the_cluster_training_config_differs_only_in_the_trainer_placement(workspace):
    local, cluster = config.load(config.TrainConfig), config.load(config.TrainConfig, "train-cluster")
    placement = {"accelerator", "devices", "num_nodes", "strategy"}
    assert local.model_dump(exclude={"trainer"}) == cluster.model_dump(exclude={"trainer"})
    for key in set(local.trainer) | set(cluster.trainer):
        if key not in placement:
            assert cluster.trainer[key] == local.trainer[key], key
    assert cluster.trainer["strategy"] == "ddp" and cluster.trainer["num_nodes"] >= 2


def _set(workspace, name: str, old: str, new: str) -> None:
    path = workspace / "configs" / f"{name}.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        ("gate", "baseline_margin:", "baseline_margin: 1.5  #",
         "gate.yaml: baseline_margin = 1.5: Input should be less than or equal to 1"),
        ("gate", "baseline_margin:", "baseline_margin: 0  #",
         "gate.yaml: baseline_margin = 0: Input should be greater than 0"),
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
    kind = config.SHARED[name]
    if message is None:  # the trainer section is Lightning's own: its keys are Lightning's to check
        config.load(kind)
        return
    with pytest.raises(config.ConfigError) as refused:
        config.load(kind)
    assert str(refused.value).startswith(f"configs/{message}"), str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_command_line_override_is_checked_as_the_file_is(workspace):
    with pytest.raises(config.ConfigError, match=r"model\.yaml: dropout = 1\.5: Input should be less than 1"):
        config.load(config.ModelConfig, overrides=["dropout=1.5"])
    assert config.load(config.ModelConfig, overrides=["dropout=0.5"]).dropout == 0.5


def test_every_setting_is_described(workspace):
    for name, kind in config.SHARED.items():
        if kind is config.ServiceSettings:  # the bento's own file, written by `make package`: not under configs/
            continue
        config.load(kind)  # the project's own files pass
        sections = [config.model_for(kind)]
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
    slo, retrain = config.load(config.ServeConfig).loadtest.slo, config.load(config.DriftConfig).retrain
    assert isinstance(slo.p99_ms, int) and isinstance(retrain.max_champion_age_days, int)
