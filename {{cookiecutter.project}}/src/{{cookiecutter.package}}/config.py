"""Read the YAML files under configs/: every knob lives there, none in code."""

import os
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR_ENV = "{{ cookiecutter.package | upper }}_CONFIG_DIR"
SERVE_SETTINGS_ENV = "{{ cookiecutter.package | upper }}_SERVE_SETTINGS"  # the service's settings file
REQUEST_LOG_ENV = "{{ cookiecutter.package | upper }}_REQUEST_LOG"  # where the service logs requests


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or lacks a key."""


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_DIR_ENV, "configs"))


def load(name: str) -> dict[str, Any]:
    """Load configs/<name>.yaml as a dict."""
    path = config_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file (run from the project root, or set {CONFIG_DIR_ENV})")
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(content).__name__}")
    return content


def require(config: dict[str, Any], key: str, name: str) -> Any:
    if key not in config:
        raise ConfigError(f"{config_dir() / name}.yaml: missing setting '{key}'")
    return config[key]


def override(config: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply command-line overrides such as `trainer.max_epochs=3`; values are parsed as YAML."""
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {assignment!r}: expected key.path=value")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {assignment!r}: '{part}' is not a section")
        node[leaf] = yaml.safe_load(raw)
    return config
