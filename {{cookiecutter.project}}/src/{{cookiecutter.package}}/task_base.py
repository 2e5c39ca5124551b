"""What a task's class may inherit instead of writing it (plugin.Task says what a task provides).

Kept apart from plugin.py, which loads the project's task: a task's module imports this one without importing itself.
"""

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel


class EncodingMembers:
    """The members of Task that a task hands straight to its own encoding module (its features.py, with functions of
    these names; `encoder` is passed on, None for a task without one), for the task's class to inherit: it sets
    `encoding` to that module."""

    encoding: ModuleType

    def encode(self, frame: pd.DataFrame, encoder: Any = None) -> np.ndarray:
        return self.encoding.encode(frame, encoder)

    def request_model(self, example: dict | None = None) -> type[BaseModel]:
        return self.encoding.request_model(example)

    def inputs(self, records: Sequence[BaseModel], encoder: Any = None) -> tuple[np.ndarray, list[dict]]:
        return self.encoding.inputs(records, encoder)

    def to_request(self, row: dict) -> dict:
        return self.encoding.to_request(row)

    def request_records(self, frame: pd.DataFrame, shift: dict[str, float] | None = None) -> list[dict]:
        return self.encoding.request_records(frame, shift)

    def monitored_frame(self, frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
        return self.encoding.monitored(frame, encoder)

    def loggable(self, frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
        return self.encoding.loggable(frame, encoder)

    def contract_for(self, frame: pd.DataFrame) -> pa.DataFrameSchema:
        return self.encoding.contract_for(frame)


class FixedEncoding:
    """The members of Task for a task whose encoding nothing learns (a table's, an image's): no encoder files, and the
    gate's baseline is the majority class."""

    def save_encoder(self, layer: Any, folder: Path) -> list[Path]:
        return []

    def load_encoder(self, folder: Path) -> Any:
        return None

    def baseline(self, train: pd.DataFrame, test: pd.DataFrame) -> tuple[str, np.ndarray]:
        from .gate import baseline_probabilities

        return "majority class (training frequencies)", baseline_probabilities(train, test)


class PlainService:
    """The members of Task for a task whose service answers POST /predict only (service.py): no extra endpoint, no
    extra middleware."""

    def service_routes(self) -> type:
        return NoRoutes

    def middleware(self, settings: BaseModel) -> list[tuple[type, dict[str, Any]]]:
        return []


class NoRoutes:
    """No endpoint besides the service's own."""
