"""The load `make loadtest` sends: a closed loop of single-record predictions (locust imports this file alone)."""

import json
import os
import random

from locust import HttpUser, constant, task


class PredictUser(HttpUser):
    wait_time = constant(0)  # each user sends its next request as soon as the last one returns

    def on_start(self) -> None:
        with open(os.environ["LOADTEST_SAMPLES"]) as samples:
            self.records = json.load(samples)["records"]

    @task
    def predict(self) -> None:
        # Marked (config.TRAFFIC_HEADER; locust loads this file alone): logged as load-test requests, left out of drift.
        self.client.post("/predict", json={"records": [random.choice(self.records)]}, headers={"X-Traffic": "loadtest"})
