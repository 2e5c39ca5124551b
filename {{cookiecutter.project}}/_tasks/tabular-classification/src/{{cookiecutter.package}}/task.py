"""The tabular-classification task: a table with a label column (plugin.Task says what a task provides).

Its contract is schema.py (written by `make adopt`), features.py makes model inputs and request records of it and
network.py holds the model; this module hands them to the shared steps and states this task's own settings.
"""

import argparse
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from . import features as encoding
from . import schema as data_contract
from .config import Count, DataModuleConfig, TrainConfig
from .task_base import EncodingMembers, FixedEncoding, PlainService


class TableDataModuleConfig(DataModuleConfig):
    buffer_rows: Count = Field(262_144, description="rows the training stream shuffles among (shards are shuffled too)")


class TableTrainConfig(TrainConfig):
    datamodule: TableDataModuleConfig = Field(description="the LightningDataModule's keyword arguments")


class TabularClassification(EncodingMembers, FixedEncoding, PlainService):
    encoding = encoding  # features.py: encode, request records, what drift monitors (task_base.EncodingMembers)
    name = "tabular-classification"
    schema = data_contract.SCHEMA
    contract = data_contract.__name__
    label = data_contract.LABEL
    classes = data_contract.CLASSES
    class_names = encoding.CLASS_NAMES
    positive = data_contract.POSITIVE
    bundled = data_contract.BUNDLED
    csv_dialect = getattr(data_contract, "CSV", {})
    source_kind = "file"
    adopt_usage = "make adopt DATA=<file> LABEL=<column>"
    current_kind = "a CSV with the contract's columns"
    group = encoding.GROUP
    features = encoding.FEATURES
    num_inputs = encoding.NUM_INPUTS
    description = encoding.DESCRIPTION
    monitored = encoding.MONITORED
    reference_split = "train"
    served_modules = ("features.py", "schema.py", "task.py")

    def add_adopt_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("data", help="a CSV or Parquet file")
        parser.add_argument("--label", required=True, help="the column to predict")
        parser.add_argument(
            "--sep", help="a CSV file's separator, one character or `tab` (default: detected: , ; tab |)"
        )
        parser.add_argument("--decimal", choices=[".", ","], help="a CSV file's decimal mark (default: detected)")
        parser.add_argument("--encoding", help="a CSV file's encoding, e.g. utf-8 or cp1252 (default: detected)")

    def adopt(self, args: argparse.Namespace) -> list[str]:
        from .adopt import adopt

        dialect = {"delimiter": args.sep, "decimal": args.decimal, "encoding": args.encoding}
        return adopt(args.data, args.label, dialect=dialect)

    def write_bundled(self, path: Path) -> Path:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, str(self.bundled))(as_frame=True)
        frame = bunch.frame
        frame.columns = [column.replace(" ", "_") for column in frame.columns]
        frame[self.label] = bunch.target_names[bunch.target]  # the label in its own values (names, not codes)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame[[*self.features, self.label]].to_csv(path, index=False)
        return path

    def describe(self, frame: pd.DataFrame) -> str:
        return f"{len(frame)} rows x {frame.shape[1]} columns"

    def read_folder(self, path: Path) -> tuple[pd.DataFrame, list[str]]:
        raise ValueError(f"{path} is a folder; this project's contract is a table: pass a CSV or Parquet")

    def datamodule(self, splits_dir: str, **settings: Any) -> Any:
        from .data import ShardDataModule

        return ShardDataModule(splits_dir, **settings)

    def input_layer(self, num_inputs: int, **settings: Any) -> Any:
        from .network import Inputs

        return Inputs(num_inputs)

    def network(self, num_inputs: int, num_classes: int, **settings: Any) -> Any:
        from .network import build

        return build(num_inputs, num_classes, **settings)

    def config_models(self) -> dict[str, type[BaseModel]]:
        return {"train": TableTrainConfig}


TASK = TabularClassification()
