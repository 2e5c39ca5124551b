"""The naive reference server for bench/text_scale.py: FastAPI, the same exported model and the same tokenizer file,
one tokenization and one forward pass per request, no batching, no contract.

Run as `python bench/naive_text_server.py <model folder with model.pt2 and tokenizer.json> <port>`.
"""

import sys
from pathlib import Path

import numpy as np
import torch
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from tokenizers import Tokenizer


class Body(BaseModel):
    records: list[dict[str, str]]


folder = Path(sys.argv[1])
program = torch.export.load(folder / "model.pt2").module()
tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))  # truncation and padding are saved inside it
app = FastAPI()


@app.post("/predict")
def predict(body: Body) -> list[list[float]]:
    ids = np.asarray([encoding.ids for encoding in tokenizer.encode_batch([r["text"] for r in body.records])])
    with torch.no_grad():
        return program(torch.from_numpy(ids.astype(np.int64))).tolist()


@app.get("/readyz")
def ready() -> str:
    return "ok"


if __name__ == "__main__":
    torch.set_num_threads(1)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False, log_level="warning")
