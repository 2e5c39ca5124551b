"""What a task provides: the one interface between the shared steps and the task the project was baked for.

Every step (validate, train, evaluate, gate, report, package, serve, drift) is shared code; what differs between a
table and a folder of images sits behind `Task` below. The project holds exactly one implementation, `TASK` in
task.py (the template keeps one per task under _tasks/<task>/src/), and shared modules reach the task through
`TASK` only: they never import the task's own modules (schema, features, network, adopt, ...).

A new task is a folder under the template's _tasks/ whose task.py defines a class with these members, and its name
in cookiecutter.json's task list.
"""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel


@runtime_checkable
class Task(Protocol):
    """One kind of data and model: its contract, how a source becomes training examples and a request a tensor, its
    network, what drift measures, its bundled data and its settings."""

    # --- the contract (schema.py, written by `make adopt`)
    name: str  # the cookiecutter answer: tabular-classification, image-classification, text-classification
    schema: pa.DataFrameSchema  # the data contract every step checks
    contract: str  # the module that defines it, named in every failure message
    label: str  # the label's column
    classes: list  # the label's values; the model's outputs follow this order
    class_names: list[str]  # how answers, reports and drift name the classes
    positive: Any  # the class ROC and precision-recall curves are drawn for (None: several classes)
    bundled: str | None  # the bundled data set `make data` writes: a scikit-learn loader, the reviews (None: adopted)
    csv_dialect: dict[str, str]  # how the project's own CSV files are written (separator, decimal, encoding)

    # --- the source and the split
    source_kind: str  # what `make validate` reads: "file" or "folder"
    adopt_usage: str  # how to adopt one's own data, named in "no such ..." messages
    current_kind: str  # what the drift check takes as current data, named when it is missing
    group: str | None  # rows sharing this column's value share one part of the split (None: no such column)

    # --- the model's input
    features: list[str]  # the columns the model reads
    num_inputs: int  # one encoded row's width
    description: str  # the input in a few words, for the model card and the report

    # --- drift
    monitored: dict[str, str]  # column -> "numerical" | "categorical" | "text": what the drift check compares
    # The split the drift reference is sampled from: "train", or "val" where the model's input layer learned from the
    # training split in a way a drift statistic sees (a text's words are all in a vocabulary learned on them).
    reference_split: str

    # --- the bento
    served_modules: tuple[str, ...]  # the task's modules the service imports (besides the shared ones)

    def add_adopt_arguments(self, parser: argparse.ArgumentParser) -> None:
        """`make adopt`'s arguments for this kind of data."""

    def adopt(self, args: argparse.Namespace) -> list[str]:
        """Copy the user's data into the project and write the contract from it; the lines to print."""

    def write_bundled(self, path: Path) -> Path:
        """Write the bundled example data (no download) to `path`; the path written."""

    def describe(self, frame: pd.DataFrame) -> str:
        """What passed the contract, in words: "569 rows x 31 columns", "1797 images in 10 classes"."""

    def read_folder(self, path: Path) -> tuple[pd.DataFrame, list[str]]:
        """A folder source's index (one row per file) and the lines about files left out."""

    def encode(self, frame: pd.DataFrame, encoder: Any = None) -> np.ndarray:
        """Contract rows as the model's input: one row per example (float32 values, or int64 token ids).

        `encoder` is what the model learned about its input outside its weights (load_encoder: a text model's
        tokenizer), read from the files that travel with the model; None for a task without one."""

    def datamodule(self, splits_dir: str, **settings: Any) -> Any:
        """The LightningDataModule over the saved split (settings: configs/train.yaml's datamodule section)."""

    def input_layer(self, num_inputs: int, **settings: Any) -> Any:
        """The model's first module: preprocessing fitted on the training split (`.fit(features)`), saved with it
        (settings: configs/model.yaml's keys; a task reads the ones its input takes)."""

    def save_encoder(self, layer: Any, folder: Path) -> list[Path]:
        """Write what encoding needs besides the rows (a tokenizer) from a fitted input layer; the files written,
        which travel with the model into MLflow and the bento. None written: a task whose encoding is fixed."""

    def load_encoder(self, folder: Path) -> Any:
        """The encoder `encode` and `inputs` take, read from the files save_encoder wrote (None: no such files)."""

    def baseline(self, train: pd.DataFrame, test: pd.DataFrame) -> tuple[str, np.ndarray]:
        """The gate's trivial model, fitted on the training split: its description and its test probabilities."""

    def network(self, num_inputs: int, num_classes: int, **settings: Any) -> Any:
        """The torch network after the input layer (settings: configs/model.yaml's network keys)."""

    def request_model(self, example: dict | None = None) -> type[BaseModel]:
        """The pydantic model of one record of POST /predict (`example` shown in the OpenAPI schema)."""

    def inputs(self, records: Sequence[BaseModel], encoder: Any = None) -> tuple[np.ndarray, list[dict]]:
        """Parsed request records as the model's input, and what the request log keeps of each."""

    def to_request(self, row: dict) -> dict:
        """A contract row as the JSON record POST /predict takes."""

    def request_records(self, frame: pd.DataFrame, shift: dict[str, float] | None = None) -> list[dict]:
        """Contract rows as request records, optionally shifted (`make simulate-traffic SHIFT=yes`)."""

    def monitored_frame(self, frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
        """What the drift check compares, from contract rows (`monitored`'s columns)."""

    def loggable(self, frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
        """Contract rows as the request log holds them."""

    def contract_for(self, frame: pd.DataFrame) -> pa.DataFrameSchema:
        """The schema a current data set is checked with: the contract, or the request log's own."""

    def service_routes(self) -> type:
        """A mixin of extra `@bentoml.api` methods for the service (an empty class for none)."""

    def middleware(self, settings: BaseModel) -> list[tuple[type, dict[str, Any]]]:
        """Extra ASGI middleware for the service, with their keyword arguments."""

    def config_models(self) -> dict[str, type[BaseModel]]:
        """This task's models of configs/<name>.yaml where they differ from the shared ones (config.py)."""


def _load() -> Task:
    from .task import TASK  # the project's one task (_tasks/<task>/src/<package>/task.py in the template)

    if not isinstance(TASK, Task):
        missing = [name for name in _members() if not hasattr(TASK, name)]
        raise TypeError(f"{TASK!r} does not provide the Task interface of {__name__}: missing {', '.join(missing)}")
    return TASK


def _members() -> list[str]:
    return sorted({*Task.__annotations__, *(name for name in vars(Task) if not name.startswith("_"))})


TASK: Task = _load()
