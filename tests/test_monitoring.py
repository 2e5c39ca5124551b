"""Production's signals, alerts and canary analysis, checked for real and offline.

Fast tier: promtool checks the baked alerting rules and runs one unit test per alert.
Slow tier: a real Prometheus scrapes two served bentos of two model versions behind a weighted splitter; the
AnalysisTemplate's queries, exactly as the rendered production overlay holds them, pass a healthy challenger and
fail a slowed one and one whose class mix collapsed. The dashboard's queries parse and name series the service
and the drift check (through a real Pushgateway) really export.
"""

import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.baked import free_port, wait_http
from tests.baked import need as _need

PROMTOOL, PROMETHEUS, PUSHGATEWAY = (
    shutil.which(name) for name in ("promtool", "prometheus", "prometheus-pushgateway")
)


def _rules(project) -> list[dict]:
    rule = yaml.safe_load((project.path / "deploy" / "monitoring" / "prometheus-rule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    return rule["spec"]["groups"]


def _annotations(rule: dict, value: str) -> dict:
    """The annotations as Prometheus renders them for an alert whose value prints as `value`."""
    return {key: re.sub(r"\{\{ \$value[^}]*\}\}", value, text) for key, text in rule["annotations"].items()}


def _unit_tests(project, namespace: str) -> list[dict]:
    """One promtool test per alert: series that break its threshold (read from the baked configs), the alert
    silent before its `for` has passed and firing after."""
    serve = yaml.safe_load((project.path / "configs" / "serve.yaml").read_text())
    drift = yaml.safe_load((project.path / "configs" / "drift.yaml").read_text())
    slo, production = serve["loadtest"]["slo"], serve["production"]
    here = f'namespace="{namespace}"'
    requests = f'bentoml_service_request_total{{endpoint="/predict",{here},http_response_code='
    bucket = f'bentoml_service_request_duration_seconds_bucket{{endpoint="/predict",{here},le='
    assert slo["max_error_rate"] < 0.5 and slo["p99_ms"] < 900 and drift["drift_share"] <= 0.5
    assert production["min_confidence"] > 0.3
    cases = {  # alert: (input series, minutes it fires at, labels it carries, the value as its text prints it)
        "ModelErrorRateHigh": ({f'{requests}"200"}}': "0+10x60", f'{requests}"500"}}': "0+10x60"}, 20, {}, "50%"),
        "ModelLatencyOverSLO": ({f'{bucket}"0.1"}}': "0x60", f'{bucket}"1"}}': "0+10x60",
                                 f'{bucket}"+Inf"}}': "0+10x60"}, 30, {}, "991ms"),
        "ModelDriftDetected": ({f'model_drift_share{{{here},model_version="3"}}': "_ _ 0.5x60"}, 5,
                               {"model_version": "3"}, "50%"),
        "ModelNoTraffic": ({f'{requests}"200"}}': "5x60"}, 40, {}, ""),
        "ModelConfidenceCollapsing": ({f'model_confidence_sum{{{here},model_version="3"}}': "0+3x120",
                                       f'model_confidence_count{{{here},model_version="3"}}': "0+10x120"}, 90,
                                      {"model_version": "3"}, "0.30"),
    }  # fmt: skip
    rules = {rule["alert"]: rule for group in _rules(project) for rule in group["rules"]}
    assert set(rules) == set(cases), "one unit test per alert"
    tests = []
    for alert, (series, fires_at, labels, value) in cases.items():
        rule = rules[alert]
        fired = {"exp_labels": {**rule["labels"], **labels}, "exp_annotations": _annotations(rule, value)}
        tests.append({
            "name": alert,
            "interval": "1m",
            "input_series": [{"series": name, "values": values} for name, values in series.items()],
            "alert_rule_test": [{"eval_time": "1m", "alertname": alert, "exp_alerts": []},
                                {"eval_time": f"{fires_at}m", "alertname": alert, "exp_alerts": [fired]}],
        })  # fmt: skip
    return tests


def test_alert_rules_pass_promtool_check_and_one_unit_test_each(baked, tmp_path):
    _need(PROMTOOL is not None, "promtool", "apt-get install prometheus")
    project = baked("defaults")
    namespace = f"{project.context['project']}-production"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": _rules(project)}))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = tmp_path / "rules-test.yaml"
    tests.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m",
                                     "tests": _unit_tests(project, namespace)}))  # fmt: skip
    tested = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # ... and a rule that does not fire is caught: the same tests against thresholds no series reaches fail
    groups = _rules(project)
    error_rule = next(rule for rule in groups[0]["rules"] if rule["alert"] == "ModelErrorRateHigh")
    error_rule["expr"] = re.sub(r"> [0-9.e-]+$", "> 0.99", error_rule["expr"])
    rules.write_text(yaml.safe_dump({"groups": groups}))
    lax = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, cwd=tmp_path)
    assert lax.returncode != 0 and "ModelErrorRateHigh" in lax.stdout + lax.stderr


# --- the slow tier: a real Prometheus, real bentos, a real Pushgateway ------------------------------------------

# Run in the project's environment: the challenger's model, broken two ways, re-exported into a copy of the bento
# store the canary serves from (the service, the bento and its settings stay as `make package` built them).
SABOTAGE = r'''
import sys
from pathlib import Path

import torch

home, how = Path(sys.argv[1]), sys.argv[2]


class Collapsed(torch.nn.Module):
    """Every answer the first class, with certainty: a model whose class mix collapsed."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        p = self.model(x)
        first = torch.zeros(p.shape[1], dtype=p.dtype)
        first[0] = 1.0
        return p * 0 + first


class Slow(torch.nn.Module):
    """The same answers after a few hundred milliseconds of extra work: a model too heavy for its budget."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.register_buffer("w", torch.randn(768, 768) / 28)

    def forward(self, x):
        h = self.w
        for _ in range(12):
            h = torch.tanh(h @ self.w)
        return self.model(x) + 0 * h.sum()


for path in home.glob("models/*/*/model.pt2"):
    program = torch.export.load(path)
    user = [n for n in program.graph.nodes if n.op == "placeholder" and n.name in program.graph_signature.user_inputs]
    shape, dtype = user[0].meta["val"].shape, user[0].meta["val"].dtype
    example = torch.zeros((8, *[int(size) for size in shape[1:]]), dtype=dtype)
    wrapped = {"collapsed": Collapsed, "slow": Slow}[how](program.module())
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.export.save(torch.export.export(wrapped, (example,), dynamic_shapes=({0: batch},)), path)
    print(f"{how}: {path}")
'''


class Splitter:
    """A weighted HTTP splitter (what a canary's share of the pods is to a Service): POST /predict goes to the
    canary with probability `weight`, else to the stable version; seeded, so every run sends the same."""

    def __init__(self, stable: str, weight: float) -> None:
        self.stable, self.canary, self.weight, self.random = stable, None, weight, random.Random(0)
        splitter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                target = splitter.canary if splitter.random.random() < splitter.weight else splitter.stable
                request = urllib.request.Request(f"{target}{self.path}", data=body,
                                                 headers={"Content-Type": "application/json"})  # fmt: skip
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, answer = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, answer = error.code, error.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@contextlib.contextmanager
def _process(command: list[str], ready: str, log: Path, **env: str):
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **env},
                                   start_new_session=True)  # fmt: skip
        try:
            wait_http(ready, process, log, timeout=180)
            yield process
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            if process.poll() is None:
                process.kill()


def _serve(project, tag: str, port: int, home: Path, log: Path, request_log: Path):
    command = [project.python, "-m", "bentoml", "serve", tag, "--host", "127.0.0.1", "--port", str(port)]
    variable = f"{project.package.upper()}_REQUEST_LOG"
    return _process(command, f"http://127.0.0.1:{port}/readyz", log, BENTOML_HOME=str(home),
                    **{variable: str(request_log)})  # fmt: skip


def _query(prometheus: str, expr: str) -> list[float]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["status"] == "success", answer
    data = answer["data"]
    return (
        [float(data["result"][1])] if data["resultType"] == "scalar" else [float(s["value"][1]) for s in data["result"]]
    )


def _holds(condition: str, result: list[float]) -> bool:
    """An Argo Rollouts successCondition (expr syntax), for the `len(result) > 0 && result[0] <= x` form used."""
    assert re.fullmatch(r"len\(result\) > 0 && result\[0\] <= [0-9.e-]+", condition), condition
    limit = float(condition.rsplit("<=", 1)[1])
    return len(result) > 0 and result[0] <= limit  # NaN (no traffic) is no pass, as in Argo Rollouts


@pytest.fixture(scope="module")
def released(installed, tmp_path_factory):
    """Two registered model versions of one project, each in its own bento; held-out requests for both."""
    project = installed("gitops")
    project.make("pipeline")
    first = json.loads((project.path / "artifacts" / "bento.json").read_text())
    project.make("train", "evaluate", "gate", "package", ARGS="train.seed=7")
    second = json.loads((project.path / "artifacts" / "bento.json").read_text())
    assert first["mlflow_version"] != second["mlflow_version"]
    code = (f"import json\nfrom {project.package}.traffic import held_out_records\n"
            "print(json.dumps(held_out_records()))")  # fmt: skip
    records = json.loads(project.run(project.python, "-c", code).stdout)
    return project, first, second, records


@pytest.mark.slow
def test_canary_analysis_on_a_real_prometheus_passes_a_healthy_challenger_and_fails_sabotaged_ones(
    released, tmp_path_factory
):
    _need(None not in (PROMETHEUS, PUSHGATEWAY, shutil.which("kubectl")), "prometheus, its Pushgateway and kubectl",
          "apt-get install prometheus prometheus-pushgateway kubectl")  # fmt: skip
    project, first, second, records = released
    work = tmp_path_factory.mktemp("monitoring")
    home = project.path / ".bentoml-home"
    homes = {"healthy": home}
    for how in ("slow", "collapsed"):
        homes[how] = work / f"home-{how}"
        shutil.copytree(home, homes[how], ignore=shutil.ignore_patterns("bentos"))
        shutil.copytree(home / "bentos", homes[how] / "bentos")
        project.run(project.python, "-c", SABOTAGE, str(homes[how]), how)
    rendered = subprocess.run(["kubectl", "kustomize", str(project.path / "deploy/overlays/production")],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    documents = list(yaml.safe_load_all(rendered))
    namespace = documents[0]["metadata"]["namespace"]
    template = next(document for document in documents if document["kind"] == "AnalysisTemplate")
    ports = {name: free_port() for name in ("stable", *homes, "prometheus", "pushgateway")}
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "model-service", "static_configs": [  # the labels the PodMonitor gives each pod's series
                {"targets": [f"127.0.0.1:{ports[name]}"],
                 "labels": {"namespace": namespace, "rollouts_pod_template_hash": name}}
                for name in ("stable", *homes)]},
            {"job_name": "pushgateway", "honor_labels": True,
             "static_configs": [{"targets": [f"127.0.0.1:{ports['pushgateway']}"]}]},
        ],
    }  # fmt: skip
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    prometheus = f"http://127.0.0.1:{ports['prometheus']}"
    gateway = f"http://127.0.0.1:{ports['pushgateway']}"
    splitter = Splitter(f"http://127.0.0.1:{ports['stable']}", weight=0.3)
    verdicts = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            _process(
                [
                    PROMETHEUS,
                    f"--config.file={work / 'prometheus.yml'}",
                    f"--storage.tsdb.path={work / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                ],
                f"{prometheus}/-/ready",
                work / "prometheus.log",
            )
        )
        stack.enter_context(
            _process(
                [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{ports['pushgateway']}"],
                f"{gateway}/-/ready",
                work / "pushgateway.log",
            )
        )
        stack.enter_context(_serve(project, first["bento"], ports["stable"], home, work / "stable.log",
                                   work / "stable-requests.jsonl"))  # fmt: skip
        for how, canary_home in homes.items():
            with _serve(project, second["bento"], ports[how], canary_home, work / f"{how}.log",
                        work / f"{how}-requests.jsonl"):  # fmt: skip
                splitter.canary = f"http://127.0.0.1:{ports[how]}"
                # As Argo Rollouts measures: every `interval`, each metric once; the canary fails on a metric once
                # more than its failureLimit measurements failed (one slow request on a busy machine is not a verdict)
                measured = [_measure(prometheus, template, splitter, records, how, work) for _ in range(2)]
                verdicts[how] = {name: [m[name] for m in measured] for name in measured[0]}
        limits = {metric["name"]: metric["failureLimit"] for metric in template["spec"]["metrics"]}
        assert set(limits.values()) == {1}, "two measurements judge a limit of one failure"
        passed = {how: {name: sum(not ok for ok, _ in results) <= limits[name] for name, results in verdict.items()}
                  for how, verdict in verdicts.items()}  # fmt: skip
        print(json.dumps({how: {name: [result for _, result in results] for name, results in verdict.items()}
                          for how, verdict in verdicts.items()}))  # fmt: skip
        assert all(passed["healthy"].values()), verdicts
        assert not passed["slow"]["latency-ratio"] and passed["slow"]["class-shift"], verdicts["slow"]
        assert not passed["collapsed"]["class-shift"] and passed["collapsed"]["error-rate"], verdicts["collapsed"]
        _check_dashboard_and_drift(project, prometheus, gateway, namespace, work)


def _measure(prometheus: str, template: dict, splitter: Splitter, records: list[dict], how: str, work: Path) -> dict:
    """Traffic through the splitter, then one measurement of each of the analysis's metrics, its query as the
    rendered template holds it with the arguments filled in: {metric: (passed, result)}."""
    for start in range(0, 120 * 8, 8):
        batch = [records[(start + i) % len(records)] for i in range(8)]
        request = urllib.request.Request(f"{splitter.url}/predict", data=json.dumps({"records": batch}).encode(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    _scraped(prometheus, how, work / f"{how}-requests.jsonl")
    measured = {}
    for metric in template["spec"]["metrics"]:
        assert metric["provider"]["prometheus"]["address"].startswith("http")
        query = metric["provider"]["prometheus"]["query"]
        query = query.replace("{{args.canary-hash}}", how).replace("{{args.stable-hash}}", "stable")
        result = _query(prometheus, query)
        measured[metric["name"]] = (_holds(metric["successCondition"], result), result)
    return measured


def _scraped(prometheus: str, how: str, request_log: Path, timeout: float = 30) -> None:
    """Wait until Prometheus holds every prediction the canary logged."""
    logged = len(request_log.read_text().splitlines()) if request_log.exists() else 0
    assert logged > 0, f"the splitter sent the {how} canary nothing"
    expr = f'sum(model_predictions_total{{rollouts_pod_template_hash="{how}"}})'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _query(prometheus, expr) == [float(logged)]:
            time.sleep(2)  # a couple more scrapes, for the rates' last samples
            return
        time.sleep(1)
    raise AssertionError(f"Prometheus never saw the {how} canary's {logged} predictions: {_query(prometheus, expr)}")


def _check_dashboard_and_drift(project, prometheus: str, gateway: str, namespace: str, work: Path) -> None:
    """The drift check pushes its verdict (a real Pushgateway), and every dashboard query parses and names series
    Prometheus holds: BentoML's, the model's own and the drift check's."""
    project.make("drift", check=False, CURRENT=str(work / "stable-requests.jsonl"), PUSHGATEWAY_URL=gateway)
    verdict = json.loads((project.path / "reports" / "drift.json").read_text())
    expr = f'model_drift_share{{namespace="{namespace}",job="drift-check"}}'
    deadline = time.monotonic() + 30
    while not _query(prometheus, expr) and time.monotonic() < deadline:
        time.sleep(1)
    assert _query(prometheus, expr) == [pytest.approx(verdict["drift_share"]["share"] or 0.0)]
    with urllib.request.urlopen(f"{prometheus}/api/v1/label/__name__/values", timeout=10) as response:
        known = set(json.loads(response.read())["data"])
    board = yaml.safe_load((project.path / "deploy" / "monitoring" / "dashboard.yaml").read_text())
    panels = json.loads(next(iter(board["data"].values())))["panels"]
    for panel in panels:
        expr = panel["targets"][0]["expr"].replace("$__rate_interval", "1m")
        _query(prometheus, expr)  # parses (a 400 otherwise)
        names = set(re.findall(r"\b((?:bentoml|model)_[a-z_]+)\{", expr))  # a series name, then its matchers
        assert names and names <= known, (panel["title"], names - known)
