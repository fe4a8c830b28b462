"""The chart's alerts and dashboard: the PrometheusRule checked and unit-tested
by the real promtool (alerts_test.yaml beside this file), the dashboard's
queries parsed by it, and both held to what a scrape of the running operator
serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox import binaries
from support.chart import CHART, ROOT, render
from support.kubectl import eventually
from support.operator_process import OperatorProcess

ENABLED = ("metrics.prometheusRule.enabled=true", "metrics.dashboard.enabled=true")
ALERTS = (
    "ReplicationStalled",
    "ReplicationLosingData",
    "ReplicationQueueFillingUp",
    "ReplicationRemoteErrors",
    "ReplicationNotReady",
    "OperatorAbsent",
    "OperatorNoLeader",
)

# Prometheus' own, for every target.
STANDARD = {"up"}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count")}  # the series of a family of that type; else its name

# The values Grafana puts in for its variables, so that promtool can parse a query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "6h", "$namespace": ".*", "$replication": ".*", "$job": ".*"}


def promtool(*args: str, cwd: Path) -> str:
    done = subprocess.run([binaries.path("promtool"), *args], capture_output=True, text=True, check=False, cwd=cwd)
    if done.returncode != 0:
        raise AssertionError(f"promtool {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects: what is left once strings,
    label matchers, ranges, label lists, functions and keywords are taken out."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\boffset\s+\S+", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][\w:]*", expr):
        followed_by_call = expr[match.end() :].lstrip().startswith("(")
        if not followed_by_call and match.group() not in {"and", "or", "unless", "bool", "Inf", "NaN"}:
            names.add(match.group())
    return names


def test_metric_names_sees_selectors_only() -> None:
    expr = (
        'sum by (le, kind) (rate(a_bucket{job=~"$job", x="by(y)"}[$__rate_interval])) / on(kind) b'
        " or c offset 15m unless d > bool 0 and e < +Inf"
    )
    assert metric_names(expr) == {"a_bucket", "b", "c", "d", "e"}


@pytest.fixture(scope="module")
def exported(operator: OperatorProcess) -> dict[str, set[str]]:
    """The operator's own metric families, from a scrape of the running
    operator, each with the series names Prometheus stores for it."""
    url = operator.metrics_url
    assert url is not None

    def scrape() -> str | None:
        # The endpoint opens once the operator has started up.
        try:
            return str(urllib.request.urlopen(url, timeout=5).read().decode())
        except urllib.error.URLError:
            return None

    text = eventually(scrape, timeout=30, what="the operator's /metrics")
    families = re.findall(r"^# TYPE (influxdb_\w+) (\w+)$", text, re.M)
    assert families, text[:2000]
    return {name: {name + suffix for suffix in SUFFIXES.get(kind, ("",))} for name, kind in families}


def test_the_scrape_names_the_families_a_list_here_once_missed(exported: dict[str, set[str]]) -> None:
    # A family is declared (# TYPE) whether or not any of its series has a value
    # yet, so `exported` is the whole list, not what other tests left behind.
    assert "influxdb_replication_heartbeat_lag_seconds" in exported
    assert exported["influxdb_operator_refresh_duration_seconds"] == {
        f"influxdb_operator_refresh_duration_seconds_{suffix}" for suffix in ("bucket", "sum", "count")
    }


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render(*ENABLED, "metrics.serviceMonitor.enabled=true")


@pytest.fixture(scope="module")
def rule(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in rendered if d["kind"] == "PrometheusRule")


@pytest.fixture(scope="module")
def alerts(rule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r}


@pytest.fixture(scope="module")
def dashboard(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    config_map = next(d for d in rendered if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard"))
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    (text,) = config_map["data"].values()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_both_are_opt_in() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in render()}
    assert ("PrometheusRule", "influxdb-replication-operator") not in kinds
    assert ("ConfigMap", "influxdb-replication-operator-dashboard") not in kinds
    # Without the metrics endpoint there is nothing to alert on or to show.
    assert not any(d["kind"] in ("PrometheusRule", "ConfigMap") for d in render(*ENABLED, "metrics.enabled=false"))


def test_rules_pass_promtool_check_and_unit_tests(rule: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    checked = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked
    shutil.copy(Path(__file__).with_name("alerts_test.yaml"), tmp_path / "alerts_test.yaml")
    tested = promtool("test", "rules", "alerts_test.yaml", cwd=tmp_path)
    assert "SUCCESS" in tested


def test_the_unit_tests_show_every_alert_firing_and_quiet() -> None:
    cases = yaml.safe_load(Path(__file__).with_name("alerts_test.yaml").read_text())["tests"]
    evaluations = [e for case in cases for e in case["alert_rule_test"]]
    for alert in ALERTS:
        outcomes = {bool(e["exp_alerts"]) for e in evaluations if e["alertname"] == alert}
        assert outcomes == {True, False}, alert


def test_every_alert_names_its_resource_and_its_runbook(alerts: dict[str, dict[str, Any]]) -> None:
    assert set(alerts) == set(ALERTS)
    headings = set(re.findall(r"^## (\w+)$", (ROOT / "docs" / "runbook.md").read_text(), re.M))
    for name, alert in alerts.items():
        assert alert["labels"]["severity"] in ("critical", "warning"), name
        assert alert["annotations"]["summary"], name
        if not name.startswith("Operator"):
            assert "{{ $labels.namespace }}/{{ $labels.name }}" in alert["annotations"]["description"], name
        url = alert["annotations"]["runbook_url"]
        assert url.endswith(f"docs/runbook.md#{name.lower()}"), name
        assert name in headings, f"docs/runbook.md has no section for {name}"


def test_the_docs_state_each_alerts_defaults() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["metrics"]["prometheusRule"]["alerts"]
    assert set(defaults) == set(ALERTS)
    page = (ROOT / "docs" / "operating.md").read_text()
    for alert, values in defaults.items():
        row = rf"^\| \[{alert}\]\(runbook\.md#{alert.lower()}\) \|.* \| {values['for']} \| {values['severity']} \|$"
        assert re.search(row, page, re.M), f"docs/operating.md's alerts table is stale for {alert}"


def test_operator_absent_watches_the_service_monitors_job(rendered: list[dict[str, Any]]) -> None:
    service = next(d for d in rendered if d["kind"] == "Service")
    monitor = next(d for d in rendered if d["kind"] == "ServiceMonitor")
    # A ServiceMonitor without jobLabel names its targets' job after the Service.
    assert "jobLabel" not in monitor["spec"]
    job = service["metadata"]["name"]

    def absent_expr(*sets: str) -> str:
        rules = next(d for d in render(*sets) if d["kind"] == "PrometheusRule")["spec"]["groups"][0]["rules"]
        expr: str = next(r for r in rules if r.get("alert") == "OperatorAbsent")["expr"]
        return expr

    namespace = service["metadata"]["namespace"]
    assert absent_expr(*ENABLED) == f'absent(up{{job="{job}",namespace="{namespace}"}} == 1)'
    renamed = next(d for d in render(*ENABLED, "fullnameOverride=repl-op") if d["kind"] == "Service")
    assert renamed["metadata"]["name"] in absent_expr(*ENABLED, "fullnameOverride=repl-op")
    assert absent_expr(*ENABLED, "metrics.prometheusRule.job=influxdb-operator") == (
        'absent(up{job="influxdb-operator"} == 1)'
    )


def test_service_monitor_keeps_the_replications_labels(rendered: list[dict[str, Any]]) -> None:
    # Else `namespace` and `instance` would be the operator pod's, and the
    # Replication's would be renamed exported_namespace / exported_instance.
    monitor = next(d for d in rendered if d["kind"] == "ServiceMonitor")
    assert all(endpoint["honorLabels"] is True for endpoint in monitor["spec"]["endpoints"])


def test_alert_tunables_reach_the_rules() -> None:
    sets = (
        *ENABLED,
        "metrics.prometheusRule.alerts.ReplicationStalled.for=7m",
        "metrics.prometheusRule.alerts.ReplicationStalled.severity=page",
        "metrics.prometheusRule.labels.release=kube-prometheus-stack",
        "metrics.prometheusRule.runbookURL=https://wiki.example.com/influxdb/",
    )
    rule = next(d for d in render(*sets) if d["kind"] == "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    stalled = next(r for r in rule["spec"]["groups"][0]["rules"] if r.get("alert") == "ReplicationStalled")
    assert (stalled["for"], stalled["labels"]["severity"]) == ("7m", "page")
    assert stalled["annotations"]["runbook_url"] == "https://wiki.example.com/influxdb#replicationstalled"


def test_dashboard_placement_is_configurable() -> None:
    sets = (
        *ENABLED,
        "metrics.dashboard.label=dashboards",
        "metrics.dashboard.labelValue=influxdb",
        "metrics.dashboard.namespace=grafana",
        "metrics.dashboard.annotations.grafana_folder=InfluxDB",
    )
    config_map = next(d for d in render(*sets) if d["kind"] == "ConfigMap")
    metadata = config_map["metadata"]
    assert (metadata["namespace"], metadata["labels"]["dashboards"]) == ("grafana", "influxdb")
    assert metadata["annotations"] == {"grafana_folder": "InfluxDB"}


def test_values_schema_rejects_unknown_and_bad_monitoring_values() -> None:
    for bad in (
        "metrics.prometheusRule.severity=critical",
        "metrics.prometheusRule.alerts.ReplicationSlow.for=5m",
        "metrics.prometheusRule.alerts.ReplicationStalled.for=soon",
        "metrics.prometheusRule.runbookURL=README.md",
        "metrics.dashboard.labels.grafana_dashboard=1",
    ):
        with pytest.raises(AssertionError, match="values don't meet the specifications of the schema"):
            render(*ENABLED, bad)


def _queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_dashboard_and_alerts_query_only_exported_series(
    dashboard: dict[str, Any], alerts: dict[str, dict[str, Any]], exported: dict[str, set[str]]
) -> None:
    used = _selected(dashboard) | {name for a in alerts.values() for name in _names(a["expr"])}
    assert used - STANDARD - set().union(*exported.values()) == set()


def test_dashboard_shows_every_exported_family(dashboard: dict[str, Any], exported: dict[str, set[str]]) -> None:
    # A histogram is shown by any of its series; prometheus_client's `_created`
    # timestamps are no family of the operator's.
    shown = _selected(dashboard)
    missing = {family for family, series in exported.items() if not series & shown and not family.endswith("_created")}
    assert missing == set(), f"not on the dashboard: {sorted(missing)}"


def _names(expr: str) -> set[str]:
    names = metric_names(expr)
    assert names, expr
    return names


def _selected(dashboard: dict[str, Any]) -> set[str]:
    """The series the dashboard's panels and variables query."""
    used = {name for expr in _queries(dashboard) for name in _names(expr)}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            selector = re.fullmatch(r"label_values\((\w+)[{,].*", variable["query"]["query"])
            assert selector, variable["query"]
            used.add(selector[1])
    return used


def test_dashboard_queries_parse(dashboard: dict[str, Any], tmp_path: Path) -> None:
    rules = []
    for number, expr in enumerate(_queries(dashboard)):
        for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda item: -len(item[0])):
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in promtool("check", "rules", "queries.yaml", cwd=tmp_path)


def test_dashboard_panels_are_laid_out_and_unique(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "influxdb-replication-operator"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
