"""The text-classification task: texts with a label, from a folder of .txt files or a table (plugin.Task says what a
task provides).

Its contract is schema.py (written by `make adopt`); texts.py reads folders and the bundled reviews, tokenizer.py
holds the tokenizer that travels with the model, features.py makes model inputs and request records, network.py
the network (learned from scratch, or a pretrained transformer) and text_data.py the training loaders. This module
hands them to the shared steps and states this task's own settings, so another task's configuration refuses them.
"""

import argparse
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from . import features as encoding
from . import schema as data_contract
from .config import Count, ModelConfig
from .task_base import EncodingMembers, PlainService


class TextModelConfig(ModelConfig):
    embedding_dim: Count = Field(
        description="the width of each word's and word pair's embedding (learned from scratch)"
    )
    bigram_buckets: Count = Field(description="word pairs are hashed into this many embeddings")
    pretrained: str | None = Field(
        None,
        description="a transformer to fine-tune instead: a local folder, or a hub id already in the local cache "
        "(its own tokenizer comes with it); null: learn a tokenizer and a small network from the training split",
    )


class TextClassification(EncodingMembers, PlainService):
    encoding = encoding  # features.py: encode, request records, what drift monitors (task_base.EncodingMembers)
    name = "text-classification"
    schema = data_contract.SCHEMA
    contract = data_contract.__name__
    label = data_contract.LABEL
    classes = data_contract.CLASSES
    class_names = encoding.CLASS_NAMES
    positive = data_contract.POSITIVE
    bundled = data_contract.BUNDLED
    csv_dialect: ClassVar[dict[str, str]] = {}  # the project's table of texts is standard CSV
    source_kind = "file"
    adopt_usage = "make adopt DATA=<folder of class subfolders of .txt files>"
    current_kind = "a table with the text column, or a folder of .txt files"
    group = encoding.GROUP
    features = encoding.FEATURES
    num_inputs = encoding.NUM_INPUTS
    description = encoding.DESCRIPTION
    monitored = encoding.MONITORED
    reference_split = "val"  # held-out texts: the training texts' words are all in the vocabulary learned on them
    served_modules = ("features.py", "schema.py", "task.py", "texts.py", "tokenizer.py")

    def add_adopt_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("data", help="a folder with one subfolder of .txt files per class, or a CSV/Parquet table")
        parser.add_argument("--text", help="a table's text column")
        parser.add_argument("--label", help="a table's label column")

    def adopt(self, args: argparse.Namespace) -> list[str]:
        from .adopt import adopt

        return adopt(args.data, text=args.text, label=args.label)

    def write_bundled(self, path: Path) -> Path:
        from .texts import write_reviews

        return write_reviews(path)

    def describe(self, frame: pd.DataFrame) -> str:
        return f"{len(frame)} texts in {frame[self.label].nunique()} classes"

    def read_folder(self, path: Path) -> tuple[pd.DataFrame, list[str]]:
        from .texts import scan

        return scan(path)

    def datamodule(self, splits_dir: str, **settings: Any) -> Any:
        from .text_data import TextDataModule

        return TextDataModule(splits_dir, **settings)

    def input_layer(self, num_inputs: int, **settings: Any) -> Any:
        from .tokenizer import TextInputs

        keys = ("pretrained", "embedding_dim", "bigram_buckets")
        return TextInputs(num_inputs, **{key: settings[key] for key in keys if key in settings})

    def network(self, num_inputs: int, num_classes: int, **settings: Any) -> Any:
        from .network import build

        return build(num_inputs, num_classes, **settings)

    def save_encoder(self, layer: Any, folder: Path) -> list[Path]:
        return layer.encoder.save(folder)

    def load_encoder(self, folder: Path) -> Any:
        from .tokenizer import Encoder

        return Encoder.load(folder)

    def baseline(self, train: pd.DataFrame, test: pd.DataFrame) -> tuple[str, np.ndarray]:
        """TF-IDF of words and word pairs with logistic regression, fitted on the training split: a text model that
        cannot beat it should not ship."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from .metrics import label_codes

        model = make_pipeline(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2 if len(train) >= 1000 else 1),
            LogisticRegression(max_iter=1000),
        )
        model.fit(train[data_contract.TEXT].astype(str), label_codes(train[self.label]))
        probabilities = np.zeros((len(test), len(self.classes)))
        probabilities[:, model.classes_] = model.predict_proba(test[data_contract.TEXT].astype(str))
        return "TF-IDF (words and pairs) + logistic regression", probabilities

    def config_models(self) -> dict[str, type[BaseModel]]:
        return {"model": TextModelConfig}


TASK = TextClassification()
