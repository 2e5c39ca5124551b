"""The naive reference server for bench/serve_throughput.py: FastAPI, one forward pass per request, no batching.

Run as `python bench/naive_server.py <model.pt2> <port>`; the benchmark starts and stops it.
"""

import sys

import numpy as np
import torch
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class Body(BaseModel):
    records: list[dict[str, float]]


program = torch.export.load(sys.argv[1]).module()
app = FastAPI()


@app.post("/predict")
def predict(body: Body) -> list[list[float]]:
    features = np.array([list(record.values()) for record in body.records], dtype=np.float32)
    with torch.no_grad():
        return program(torch.from_numpy(features)).tolist()


@app.get("/readyz")
def ready() -> str:
    return "ok"


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False, log_level="warning")
