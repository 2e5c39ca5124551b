"""What production is judged by, written into deploy/ from configs/serve.yaml and configs/drift.yaml.

`make monitoring` (and the bake) writes three files; edit the configs, never the files (a test checks they agree):

- deploy/overlays/production/analysis-template.yaml: the Argo Rollouts AnalysisTemplate that promotes or aborts a
  canary (or a shadow) by Prometheus: the canary's error rate, its p99 latency against the stable version's, and its
  class mix against the stable version's. Only where the production overlay runs a Rollout (`delivery`).
- deploy/monitoring/prometheus-rule.yaml: the alerts (a PrometheusRule for the Prometheus operator).
- deploy/monitoring/dashboard.yaml: the Grafana dashboard (a ConfigMap Grafana's sidecar provisions).

Thresholds have one place each: the SLO (p99, error rate) is serve.yaml's `loadtest.slo`, the one staging's load
test holds; the canary's and the alerts' own are serve.yaml's `production`; drift's is drift.yaml's `drift_share`.

Only the standard library and PyYAML: the bake's hook runs this file before the project has an environment.
"""

import json
import sys
from pathlib import Path

import yaml

ANALYSIS = Path("deploy/overlays/production/analysis-template.yaml")
RULES = Path("deploy/monitoring/prometheus-rule.yaml")
DASHBOARD = Path("deploy/monitoring/dashboard.yaml")
PRODUCTION = Path("deploy/overlays/production/kustomization.yaml")
HEADER = "# Written by `make monitoring` from configs/serve.yaml and configs/drift.yaml: edit those, not this file.\n"

PREDICT = 'endpoint="/predict"'
REQUESTS = "bentoml_service_request_total"
DURATION = "bentoml_service_request_duration_seconds_bucket"
PREDICTIONS = "model_predictions_total"  # signals.py
# The drift check's own series (drift.publish: a textfile, and the Pushgateway from the scheduled job).
DRIFT_SHARE = "model_drift_share"
DRIFT_METRICS = {
    DRIFT_SHARE: "Share of the checked columns that drifted",
    "model_drift_detected": "1 when the data drifted (columns or the prediction), else 0",
    "model_drift_column_drifted": "1 for each column that drifted, else 0",
    "model_drift_last_check_timestamp_seconds": "When the drift check ran (Unix time)",
}
# The pod label Argo Rollouts gives each ReplicaSet, copied onto every series by the PodMonitor.
HASH = "rollouts_pod_template_hash"
FAILED = 'http_response_code=~"5.."'
TWO_DECIMALS = ' $value | printf "%.2f" '  # an alert's value in its annotation (promtool's tests compare the text)


def template(text: str) -> str:
    """`text` in the double braces of Go's templates (Argo Rollouts' arguments, alert annotations) and Grafana's
    legends, written here in halves: the bake (Jinja) would read them as its own."""
    return "{" * 2 + text + "}" * 2


def rate(name: str, window: str, *matchers: str) -> str:
    """rate() of a series over `window`, selected by its label matchers."""
    return f"rate({name}{'{'}{','.join(matchers)}{'}'}[{window}])"


def _pods(namespace: str, which: str) -> str:
    """A label matcher for the canary's (or the stable version's) pods: the analysis argument holds its hash."""
    return f'namespace="{namespace}",{HASH}="{template(f"args.{which}-hash")}"'


def error_rate(match: str, window: str) -> str:
    """The share of /predict requests answered with a 5xx (none answered: no result, never a pass)."""
    failed = f"sum({rate(REQUESTS, window, PREDICT, FAILED, match)})"
    return f"({failed} or vector(0)) / sum({rate(REQUESTS, window, PREDICT, match)})"


def p99(match: str, window: str, by: str = "le") -> str:
    return f"histogram_quantile(0.99, sum by ({by}) ({rate(DURATION, window, PREDICT, match)}))"


def class_mix(match: str, window: str) -> str:
    """Each class's share of the predictions."""
    predicted = rate(PREDICTIONS, window, match)
    return f"(sum by (class) ({predicted}) / scalar(sum({predicted})))"


def mean(name: str, match: str, window: str, by: str = "model_version") -> str:
    """The live mean of a summary or histogram per `by`: rate of its sum over rate of its count."""
    return (
        f"sum by ({by}) ({rate(f'{name}_sum', window, match)}) / sum by ({by}) ({rate(f'{name}_count', window, match)})"
    )


def analysis_queries(namespace: str, window: str, latency_floor_s: float) -> dict[str, str]:
    """The analysis's Prometheus queries, each giving one number for the canary."""
    canary, stable = _pods(namespace, "canary"), _pods(namespace, "stable")
    return {
        "error-rate": error_rate(canary, window),
        # Below the floor, a slower canary is not worth failing: a 2 ms model taking 4 ms is noise.
        "latency-ratio": f"{p99(canary, window)} / clamp_min({p99(stable, window)}, {latency_floor_s:g})",
        # Total variation distance: the share of predictions that would have to change class to match.
        "class-shift": f"sum(abs({class_mix(canary, window)} - {class_mix(stable, window)})) / 2",
    }


def analysis_template(serve: dict, namespace: str, project: str) -> dict:
    production, slo = serve["production"], serve["loadtest"]["slo"]
    queries = analysis_queries(namespace, production["window"], production["latency_floor_ms"] / 1000)
    limits = {
        "error-rate": slo["max_error_rate"],
        "latency-ratio": production["max_latency_ratio"],
        "class-shift": production["max_class_shift"],
    }
    metrics = [
        {
            "name": name,
            "interval": production["interval"],
            "failureLimit": production["failure_limit"],
            "successCondition": f"len(result) > 0 && result[0] <= {limits[name]:g}",
            "provider": {"prometheus": {"address": production["prometheus_url"], "query": query}},
        }
        for name, query in queries.items()
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": f"{project}-canary"},
        "spec": {"args": [{"name": "canary-hash"}, {"name": "stable-hash"}], "metrics": metrics},
    }


def alerts(serve: dict, drift: dict, namespace: str, project: str) -> list[dict]:
    production, slo = serve["production"], serve["loadtest"]["slo"]
    here = f'namespace="{namespace}"'
    quiet, confidence_window = production["no_traffic_minutes"], production["confidence_window"]
    docs = "docs/monitoring.md"
    return [
        {
            "alert": "ModelErrorRateHigh",
            "expr": f"{error_rate(here, '5m')} > {slo['max_error_rate']:g}",
            "for": "5m",
            "labels": {"severity": "page"},
            "annotations": {
                "summary": f"{project}: over {100 * slo['max_error_rate']:g}% of predictions failed (5xx) for 5 min",
                "description": f"Error share {template(' $value | humanizePercentage ')}. See {docs}#errors.",
            },
        },
        {
            "alert": "ModelLatencyOverSLO",
            "expr": f"{p99(here, '5m')} > {slo['p99_ms'] / 1000:g}",
            "for": "10m",
            "labels": {"severity": "page"},
            "annotations": {
                "summary": f"{project}: p99 of /predict over the {slo['p99_ms']:g} ms SLO for 10 minutes",
                "description": f"p99 {template(' $value | humanizeDuration ')}. See {docs}#latency.",
            },
        },
        {
            "alert": "ModelDriftDetected",
            "expr": f"max by (model_version) ({DRIFT_SHARE}{'{'}{here}{'}'}) >= {drift['drift_share']:g}",
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": f"{project}: the drift check found drift in served traffic",
                "description": f"{template(' $value | humanizePercentage ')} of the columns drifted. See {docs}#drift.",
            },
        },
        {
            "alert": "ModelNoTraffic",
            "expr": f"(sum({rate(REQUESTS, f'{quiet}m', PREDICT, here)}) or vector(0)) == 0",
            "for": f"{quiet}m",
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": f"{project}: no prediction requests for {quiet} minutes",
                "description": f"Clients may have lost the service, or it them. See {docs}#no-traffic.",
            },
        },
        {
            "alert": "ModelConfidenceCollapsing",
            "expr": f"{mean('model_confidence', here, confidence_window)} < {production['min_confidence']:g}",
            "for": "15m",
            "labels": {"severity": "ticket"},
            "annotations": {
                "summary": f"{project}: mean top-class probability under {production['min_confidence']:g}",
                "description": f"Mean confidence {template(TWO_DECIMALS)}. See {docs}#confidence.",
            },
        },
    ]


def prometheus_rule(serve: dict, drift: dict, namespace: str, project: str) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": f"{project}-alerts", "labels": {"release": "kube-prometheus-stack"}},
        "spec": {"groups": [{"name": f"{project}.rules", "rules": alerts(serve, drift, namespace, project)}]},
    }


def dashboard_panels(namespace: str) -> list[tuple[str, str, str, str]]:
    """(title, query, legend, unit) of each panel: every query names a series the service or drift check exports."""
    here, window = f'namespace="{namespace}"', "$__rate_interval"
    requests = rate(REQUESTS, window, PREDICT, here)
    bento, model = template("service_version"), f"v{template('model_version')}"
    predicted = rate(PREDICTIONS, window, here)
    refused = rate("model_refused_total", window, here)
    return [
        ("Requests per second", f"sum by (service_version) ({requests})", bento, "reqps"),
        ("Errors (5xx share)", f"sum by (service_version) ({rate(REQUESTS, window, PREDICT, FAILED, here)}) / "
         f"sum by (service_version) ({requests})", bento, "percentunit"),
        ("p99 latency", p99(here, window, by="le, service_version"), bento, "s"),
        ("Class mix", f"sum by (model_version, class) ({predicted}) / ignoring(class) group_left "
         f"sum by (model_version) ({predicted})", f"{model} {template('class')}", "percentunit"),
        ("Mean confidence", mean("model_confidence", here, window), model, "percentunit"),
        ("Refused by the contract", f"sum by (model_version, field) ({refused})", f"{model} {template('field')}",
         "reqps"),
        ("Input means", mean("model_input", here, window, by="model_version, column"),
         f"{model} {template('column')}", "short"),
        ("Drift: share of columns drifted", f"max by (model_version) ({DRIFT_SHARE}{'{'}{here}{'}'})", model,
         "percentunit"),
        ("Drift: drifted columns", f"max by (model_version, column) (model_drift_column_drifted{'{'}{here}{'}'}) > 0",
         f"{model} {template('column')}", "short"),
    ]  # fmt: skip


def dashboard(namespace: str, project: str) -> dict:
    panels = [
        {
            "id": number,
            "type": "timeseries",
            "title": title,
            "gridPos": {"h": 8, "w": 12, "x": 12 * (number % 2), "y": 8 * (number // 2)},
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"refId": "A", "expr": query, "legendFormat": legend}],
        }
        for number, (title, query, legend, unit) in enumerate(dashboard_panels(namespace))
    ]
    board = {
        "uid": f"{project}-production"[:40],
        "title": f"{project} (production)",
        "tags": ["model-service", project],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": panels,
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{project}-dashboard", "labels": {"grafana_dashboard": "1"}},
        "data": {f"{project}.json": json.dumps(board, indent=1)},
    }


def namespace(root: Path, project: str) -> str:
    """Production's namespace, as its overlay sets it (`<project>-production` in a checkout without deploy/): every
    series the alerts and the analysis read carries it."""
    overlay = root / PRODUCTION
    return yaml.safe_load(overlay.read_text())["namespace"] if overlay.is_file() else f"{project}-production"


def rendered(root: Path) -> dict[Path, str]:
    """Each generated file's text, from the configs as they are under `root`."""
    serve = yaml.safe_load((root / "configs" / "serve.yaml").read_text())
    drift = yaml.safe_load((root / "configs" / "drift.yaml").read_text())
    overlay = yaml.safe_load((root / PRODUCTION).read_text())
    namespace = overlay["namespace"]
    project = namespace.removesuffix("-production")

    def text(document: dict) -> str:
        return HEADER + yaml.safe_dump(document, sort_keys=False, width=120)

    files = {
        RULES: text(prometheus_rule(serve, drift, namespace, project)),
        DASHBOARD: text(dashboard(namespace, project)),
    }
    if ANALYSIS.name in overlay.get("resources", []):  # a Rollout (canary or shadow), not a plain Deployment
        files[ANALYSIS] = text(analysis_template(serve, namespace, project))
    return files


def _differing(root: Path) -> dict[Path, str]:
    """The generated files that differ from what the configs give, with the text they should hold."""
    return {path: text for path, text in rendered(root).items()
            if not (root / path).is_file() or (root / path).read_text() != text}  # fmt: skip


def stale(root: Path) -> list[Path]:
    """The generated files that differ from what the configs give."""
    return list(_differing(root))


def write(root: Path) -> list[Path]:
    """Write the files that differ; returns them."""
    changed = _differing(root)
    for path, text in changed.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return list(changed)


if __name__ == "__main__":  # the bake's hook: python production.py <project root>
    write(Path(sys.argv[1]))
