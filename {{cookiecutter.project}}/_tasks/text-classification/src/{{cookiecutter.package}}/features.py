"""What training, the service and the drift check make of the contract's texts (schema.py).

A text is its TEXT column; `encode` turns texts into the model's token ids with the model's own tokenizer (the
`encoder`, tokenizer.Encoder, read from the files saved with the model). The drift check compares per-text statistics
(length in characters and in tokens, words outside the vocabulary, non-letters) and the texts themselves.
"""

from typing import Annotated, Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .schema import CLASSES, LABEL, MAX_CHARS, MAX_TOKENS, MIN_CHARS, SCHEMA, TEXT
from .texts import STATS

FEATURES = [TEXT]
NUM_INPUTS = MAX_TOKENS  # token ids per text
DESCRIPTION = f"texts of up to {MAX_CHARS} characters, read as {MAX_TOKENS} tokens"
CLASS_NAMES = [str(value) for value in CLASSES]
GROUP = TEXT  # identical texts share one part of the split
KIND = {TEXT: "text"}
CATEGORIES: dict[str, list] = {}  # no column of categories: a record is its text
NULLABLE: list[str] = []
# What a drift check compares: numbers per text, and the texts themselves (Evidently's domain classifier).
MONITORED = dict.fromkeys(STATS, "numerical") | {TEXT: "text"}
# The service logs each text with its statistics: a request-log row is checked against this.
LOG_SCHEMA = pa.DataFrameSchema(
    {**{name: pa.Column(float, pa.Check.ge(0), nullable=False) for name in STATS}, TEXT: pa.Column(str)},
    name="Logged texts",
    coerce=True,
)


def _encoder(encoder: Any) -> Any:
    if encoder is None:
        raise ValueError("a text model reads its inputs with its own tokenizer: pass the encoder loaded with it")
    return encoder


def encode(frame: pd.DataFrame, encoder: Any = None) -> np.ndarray:
    """The texts as the model takes them: (rows, MAX_TOKENS) int64 token ids from the model's own tokenizer."""
    return _encoder(encoder).ids(frame[TEXT].astype(str).tolist())


def monitored(frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
    """Per-text statistics and the text: computed for contract rows, kept as they are for logged rows."""
    if set(STATS) <= set(frame.columns):
        return frame[[*STATS, TEXT]].astype({name: float for name in STATS}).astype({TEXT: str})
    texts = frame[TEXT].astype(str).tolist()
    return _encoder(encoder).stats(texts).assign(**{TEXT: texts}).set_axis(frame.index)


def loggable(frame: pd.DataFrame, encoder: Any = None) -> pd.DataFrame:
    """What a drift reference keeps of each row: the text and its statistics."""
    return monitored(frame, encoder)


def contract_for(frame: pd.DataFrame) -> pa.DataFrameSchema:
    """The schema current data is checked with: the table (with or without labels), or logged texts."""
    if set(STATS) <= set(frame.columns):
        return LOG_SCHEMA
    return SCHEMA if LABEL in frame else SCHEMA.remove_columns([LABEL])


class TextRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator(TEXT, mode="after", check_fields=False)
    @classmethod
    def not_blank(cls, value: str) -> str:
        if len(value.strip()) < MIN_CHARS:
            raise ValueError("the text is empty once stripped of whitespace")
        return value


def request_model(example: dict | None = None) -> type[BaseModel]:
    """The service's record type: {"text": "..."}, at most MAX_CHARS characters (the contract's limit)."""
    limited = Annotated[
        str, Field(min_length=MIN_CHARS, max_length=MAX_CHARS, description=f"1 to {MAX_CHARS} characters")
    ]

    class Record(TextRecord):
        model_config = ConfigDict(json_schema_extra={"example": example} if example else None)
        text: limited  # type: ignore[valid-type]

    return Record


def inputs(records: list[BaseModel], encoder: Any = None) -> tuple[np.ndarray, list[dict]]:
    """The model's token ids for a batch of records, and what the request log keeps of each (text and statistics)."""
    texts = [getattr(record, TEXT) for record in records]
    logged = _encoder(encoder).stats(texts).assign(**{TEXT: texts}).to_dict("records")
    return encode(pd.DataFrame({TEXT: texts}), encoder), logged


def to_request(row: dict) -> dict:
    return {TEXT: str(row[TEXT])}


def request_records(frame: pd.DataFrame, shift: dict[str, float] | None = None) -> list[dict]:
    """The frame's texts as requests; shift {"chars": share} keeps that share of each text (shorter texts)."""
    unknown = set(shift or {}) - {"chars"}
    if unknown:
        raise ValueError(f"configs/drift.yaml simulate.shift: {sorted(unknown)}; a text project shifts `chars`")
    share = (shift or {}).get("chars", 1.0)
    texts = frame[TEXT].astype(str)
    if share != 1.0:
        texts = texts.map(lambda text: text[: max(1, round(len(text) * share))].strip() or text)
    return [{TEXT: text} for text in texts]
