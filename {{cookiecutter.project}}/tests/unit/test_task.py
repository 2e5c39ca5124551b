"""The project's task provides the interface every step uses (plugin.Task), and a task that does not is refused."""

import types

import pytest

from {{ cookiecutter.package }} import plugin, task
from {{ cookiecutter.package }}.data import datamodule
from {{ cookiecutter.package }}.plugin import TASK, Task


def test_the_task_provides_the_interface_and_agrees_with_its_contract():
    assert isinstance(TASK, Task)
    assert TASK.label in TASK.schema.columns
    assert TASK.class_names == [str(value) for value in TASK.classes] and len(TASK.classes) >= 2
    assert TASK.monitored and set(TASK.monitored.values()) <= {"numerical", "categorical", "text"}
    assert TASK.source_kind in {"file", "folder"} and "make adopt" in TASK.adopt_usage


def test_encoded_rows_are_as_wide_as_the_model_takes(splits, bundled, tmp_path):
    """Rows encoded with the encoder as it travels with a model (saved by the fitted input layer, read back)."""
    layer = TASK.input_layer(TASK.num_inputs)
    layer.fit(datamodule(str(splits)).train_features())
    written = TASK.save_encoder(layer, tmp_path)
    assert all(path.parent == tmp_path and path.is_file() for path in written)
    encoded = TASK.encode(bundled.head(5), TASK.load_encoder(tmp_path))
    assert encoded.shape == (min(5, len(bundled)), TASK.num_inputs)
    assert str(encoded.dtype) in {"float32", "int64"}


def test_a_task_without_a_member_of_the_interface_is_refused_naming_it(monkeypatch):
    partial = types.SimpleNamespace(**{name: getattr(TASK, name) for name in plugin._members() if name != "encode"})
    monkeypatch.setattr(task, "TASK", partial)
    with pytest.raises(TypeError, match=r"does not provide the Task interface .*: missing encode$"):
        plugin._load()
