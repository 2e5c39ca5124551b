"""What a task's class may inherit instead of writing it (plugin.Task says what a task provides).

Kept apart from plugin.py, which loads the project's task: a task's module imports this one without importing itself.
"""

from collections.abc import Sequence
from types import ModuleType

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel


class EncodingMembers:
    """The members of Task that a task hands straight to its own encoding module (its features.py, with functions of
    these names), for the task's class to inherit: it sets `encoding` to that module."""

    encoding: ModuleType

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        return self.encoding.encode(frame)

    def request_model(self, example: dict | None = None) -> type[BaseModel]:
        return self.encoding.request_model(example)

    def inputs(self, records: Sequence[BaseModel]) -> tuple[np.ndarray, list[dict]]:
        return self.encoding.inputs(records)

    def to_request(self, row: dict) -> dict:
        return self.encoding.to_request(row)

    def request_records(self, frame: pd.DataFrame, shift: dict[str, float] | None = None) -> list[dict]:
        return self.encoding.request_records(frame, shift)

    def monitored_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.encoding.monitored(frame)

    def loggable(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.encoding.loggable(frame)

    def contract_for(self, frame: pd.DataFrame) -> pa.DataFrameSchema:
        return self.encoding.contract_for(frame)
