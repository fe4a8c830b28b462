"""The Helm chart and the plain manifests, proven on the real API server: lint,
server-side dry-run, and the operator running with the chart's own RBAC."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox as sandbox_module
from sandbox import binaries, processes
from support import manifests
from support.chart import CHART, RELEASE_NAMESPACE, ROOT, helm, render
from support.kubectl import Kubectl, KubectlError, eventually
from support.operator_process import OperatorProcess
from support.scenario import Setup


def test_helm_lint_is_clean_in_every_mode() -> None:
    for sets in (
        [],
        ["watchNamespaces={a,b}"],
        ["metrics.serviceMonitor.enabled=true"],
        ["crds.enabled=false"],
        ["metrics.prometheusRule.enabled=true", "metrics.dashboard.enabled=true"],
        ["global.foo=bar", "global.imageRegistry=registry.example.com"],
    ):
        out = helm("lint", "--strict", str(CHART), *[f"--set={s}" for s in sets])
        assert "0 chart(s) failed" in out


def test_the_chart_can_be_a_subchart_of_an_umbrella_chart(tmp_path: Path) -> None:
    # Helm hands a subchart the umbrella's `global` values, checked by the subchart's schema.
    umbrella = tmp_path / "umbrella"
    shutil.copytree(CHART, umbrella / "charts" / CHART.name)
    (umbrella / "Chart.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v2", "name": "umbrella", "version": "1.0.0", "type": "application"})
    )
    values = {"global": {"imageRegistry": "registry.example.com", "foo": "bar"}, CHART.name: {"verbose": True}}
    (umbrella / "values.yaml").write_text(yaml.safe_dump(values))
    out = helm("template", "umbrella", str(umbrella), f"--namespace={RELEASE_NAMESPACE}")
    deployment = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "Deployment")
    assert "--verbose" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    # The schema still holds there: only `global` is let through.
    with pytest.raises(AssertionError, match="values don't meet the specifications of the schema"):
        helm("template", "umbrella", str(umbrella), f"--set={CHART.name}.foo=1")


def test_values_schema_rejects_unknown_and_bad_values() -> None:
    for bad in ("foo=1", "leaderElection.enabled=false", "image.pullPolicy=Sometimes", "watchNamespaces={Not_A_Name}"):
        done = subprocess.run(
            [binaries.path("helm"), "lint", str(CHART), f"--set={bad}"], capture_output=True, text=True, check=False
        )
        assert done.returncode != 0, bad


def _value_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in ("resources",):
            yield from _value_paths(value, f"{path}.")
        else:
            yield path


def test_every_value_is_used_by_a_template() -> None:
    templates = "".join(p.read_text() for p in (CHART / "templates").iterdir())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    unused = [p for p in _value_paths(values) if f".Values.{p}" not in templates]
    assert unused == []
    commented = re.findall(r"^\s*# (\w+): ", (CHART / "values.yaml").read_text(), re.M)
    assert {"tag", "digest", "nameOverride", "fullnameOverride", "name", "priorityClassName"} <= set(commented)
    for name in ("image.tag", "image.digest", "nameOverride", "fullnameOverride", "priorityClassName"):
        assert f".Values.{name}" in templates


def without_blank_lines(text: str) -> list[str]:
    """Helm 4 keeps the blank line a template ends with, Helm 3 drops it: the same manifests."""
    return [line for line in text.splitlines() if line.strip()]


def test_plain_manifests_are_rendered_from_the_chart() -> None:
    committed = (ROOT / "deploy/manifests/operator.yaml").read_text().split("\n", 1)[1]
    rendered = helm("template", RELEASE_NAMESPACE, str(CHART), f"--namespace={RELEASE_NAMESPACE}")
    assert without_blank_lines(committed) == without_blank_lines(rendered), (
        "deploy/manifests/ is stale: run `make manifests`"
    )


def test_restricted_security_and_two_replicas_with_one_leader() -> None:
    docs = render()
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    args = spec["template"]["spec"]["containers"][0]["args"]
    assert "--leader-elect" in args
    assert "--standalone" not in args
    assert "--lease-name=influxdb-replication-operator" in args
    assert f"--lease-namespace={RELEASE_NAMESPACE}" in args
    assert {"--lease-duration=15", "--renew-deadline=10", "--retry-period=2"} <= set(args)
    pdb = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    assert pdb["spec"] == {"minAvailable": 1, "selector": spec["selector"]}
    spread = spec["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert spread[0]["podAffinityTerm"]["labelSelector"] == spec["selector"]
    # The Lease RBAC: create any (no name exists yet), read and renew only its own.
    role = next(d for d in docs if d["kind"] == "Role" and d["metadata"]["name"].endswith("-leader-election"))
    assert role["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["influxdb-replication-operator"],
            "verbs": ["get", "update"],
        },
    ]
    # Without election: one replica at most, Recreate, no PDB, no Lease.
    alone = render("leaderElection.enabled=false", "replicaCount=1")
    alone_spec = next(d for d in alone if d["kind"] == "Deployment")["spec"]
    assert alone_spec["strategy"]["type"] == "Recreate"
    assert "--standalone" in alone_spec["template"]["spec"]["containers"][0]["args"]
    assert not any(d["kind"] == "PodDisruptionBudget" for d in alone)
    assert not any(d["metadata"]["name"].endswith("-leader-election") for d in alone)
    with pytest.raises(AssertionError, match="replicaCount"):
        render("leaderElection.enabled=false")
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"] == container["livenessProbe"]["httpGet"]
    # kopf's identity comes from POD_ID, not from the passwd database (no entry for the UID).
    pod_id = {"name": "POD_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    assert pod_id in container["env"]
    assert "--metrics-port=9090" in container["args"]
    assert not any(d["kind"] == "ServiceMonitor" for d in render())
    assert any(d["kind"] == "ServiceMonitor" for d in render("metrics.serviceMonitor.enabled=true"))


@pytest.fixture(scope="module")
def release_namespace(kubectl: Kubectl, crds: None) -> str:
    if kubectl.get("namespace", RELEASE_NAMESPACE) is None:
        kubectl("create", "namespace", RELEASE_NAMESPACE)
    return RELEASE_NAMESPACE


def test_chart_and_manifests_pass_server_side_dry_run(kubectl: Kubectl, release_namespace: str) -> None:
    for sets in ([], ["watchNamespaces={default}", "metrics.enabled=false"]):
        docs = [d for d in render(*sets) if d["kind"] != "CustomResourceDefinition"]
        out = kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(docs))
        assert "Deployment" in out or "deployment" in out
    for path in sorted((ROOT / "deploy/manifests").glob("*.yaml")):
        out = kubectl("apply", "--server-side", "--dry-run=server", "-f", str(path))
        assert "serverside-applied (server dry run)" in out


def _grants_secrets(role: dict[str, Any]) -> bool:
    return any(
        {"", "*"} & set(rule.get("apiGroups", [])) and {"secrets", "*"} & set(rule.get("resources", []))
        for rule in role.get("rules", [])
    )


def test_secrets_are_granted_only_in_the_watched_namespaces() -> None:
    # The default watches all namespaces: a ClusterRole grants Secrets (the README says so and why).
    assert any(_grants_secrets(d) for d in render() if d["kind"] == "ClusterRole")
    docs = render("watchNamespaces={edge-a,edge-b}")
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "ClusterRole" and _grants_secrets(d)] == []
    # The leader election's Role, in the release namespace, grants its Lease alone.
    election = [d for d in docs if d["kind"] == "Role" and d["metadata"]["name"].endswith("-leader-election")]
    assert [(d["metadata"]["namespace"], _grants_secrets(d)) for d in election] == [(RELEASE_NAMESPACE, False)]
    loops = [d for d in docs if d["kind"] == "Role" and d not in election]
    roles = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in loops}
    assert {namespace for namespace, _ in roles} == {"edge-a", "edge-b"}
    assert all(_grants_secrets(d) for d in loops)
    bound = {
        (d["metadata"]["namespace"], d["roleRef"]["name"])
        for d in docs
        if d["kind"] == "RoleBinding" and d["roleRef"]["kind"] == "Role"
    }
    assert bound == roles | {(RELEASE_NAMESPACE, d["metadata"]["name"]) for d in election}


def test_monitoring_objects_pass_server_side_dry_run_against_their_crds(
    kubectl: Kubectl, release_namespace: str
) -> None:
    """The ServiceMonitor, PrometheusRule and dashboard ConfigMap, against the
    pinned prometheus-operator's CRDs: a field those do not know is refused."""
    kubectl("apply", "--server-side", "-f", binaries.path("prometheus-operator-crds"))
    for crd in ("servicemonitors", "prometheusrules"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}.monitoring.coreos.com", "--timeout=60s")
    sets = (
        "metrics.serviceMonitor.enabled=true",
        "metrics.prometheusRule.enabled=true",
        "metrics.dashboard.enabled=true",
    )
    docs = [d for d in render(*sets) if d["kind"] != "CustomResourceDefinition"]
    monitoring = {d["kind"] for d in docs if d["kind"] in ("ServiceMonitor", "PrometheusRule")}
    assert monitoring == {"ServiceMonitor", "PrometheusRule"}
    assert any(d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard") for d in docs)
    out = kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(docs))
    for kind in ("servicemonitor", "prometheusrule", "configmap"):
        assert re.search(
            rf"^{kind}(\.monitoring\.coreos\.com)?/\S+ serverside-applied \(server dry run\)$", out, re.M
        ), out
    # The dry run checks fields: one the CRD does not have is refused.
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["honourLabels"] = True
    with pytest.raises(KubectlError, match="honourLabels"):
        kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input=yaml.safe_dump(monitor))


def test_shards_install_side_by_side(kubectl: Kubectl, release_namespace: str) -> None:
    """The README's sharding: one release per namespace set, only the first with the
    CRDs. Nothing of one release names an object of the other, each grants access to
    its own namespaces only, and both pass a server-side dry run."""
    shards = {
        "shard-a": render("watchNamespaces={team-a,team-b}", release="shard-a"),
        "shard-b": render("watchNamespaces={team-c}", "crds.enabled=false", release="shard-b"),
    }

    def names(docs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in docs}

    assert not names(shards["shard-a"]) & names(shards["shard-b"])
    assert not [d for d in shards["shard-b"] if d["kind"] == "CustomResourceDefinition"]
    for release, watched in (("shard-a", {"team-a", "team-b"}), ("shard-b", {"team-c"})):
        roles = [d for d in shards[release] if d["kind"] == "RoleBinding"]
        assert {d["metadata"]["namespace"] for d in roles} - {RELEASE_NAMESPACE} == watched, release
        docs = [d for d in shards[release] if d["kind"] != "CustomResourceDefinition"]
        for namespace in watched:
            if kubectl.get("namespace", namespace) is None:
                kubectl("create", "namespace", namespace)
        out = kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(docs))
        assert "serverside-applied (server dry run)" in out


def test_operator_with_the_charts_rbac_runs_the_lifecycle_and_serves_metrics(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, release_namespace: str, unique: str, tmp_path: Path
) -> None:
    watched = f"w-{unique}"
    kubectl("create", "namespace", watched)
    fullname = f"rbac-{unique}"
    docs = render(f"watchNamespaces={{{watched}}}", f"fullnameOverride={fullname}")
    identity = [
        d for d in docs if d["kind"] in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
    ]
    assert {d["kind"] for d in identity} == {
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
    }
    kubectl.apply(*identity)
    token = kubectl("create", "token", fullname, f"--namespace={release_namespace}", "--duration=1h").strip()
    as_operator = Kubectl(sandbox.kube.kubeconfig_for_token(token, tmp_path / "operator-kubeconfig"))

    # RBAC takes effect once the authorizer's cache has the new bindings.
    eventually(
        lambda: (
            as_operator("auth", "can-i", "list", "secrets", f"--namespace={watched}", check=False).strip() == "yes"
            and as_operator("auth", "can-i", "list", "customresourcedefinitions", check=False).strip() == "yes"
        ),
        timeout=30,
        what="the chart's bindings in effect",
    )
    # Least privilege: Secrets in the watched namespace only.
    assert as_operator("auth", "can-i", "get", "secrets", "--namespace=default", check=False).strip() == "no"
    assert as_operator("auth", "can-i", "create", "secrets", "--namespace=default", check=False).strip() == "no"
    with pytest.raises(KubectlError, match=r"[Ff]orbidden"):
        as_operator("get", "secrets", "--namespace=default")
    # Replications are created and deleted only as a ReplicationSet's children; nothing else is.
    assert (
        as_operator("auth", "can-i", "delete", "replications", f"--namespace={watched}", check=False).strip() == "yes"
    )
    for kind in ("influxdbinstances", "remoteconnections", "replicationsets"):
        assert as_operator("auth", "can-i", "delete", kind, f"--namespace={watched}", check=False).strip() == "no"
        assert as_operator("auth", "can-i", "create", kind, f"--namespace={watched}", check=False).strip() == "no"

    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args = [
        a for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"] if not a.startswith("--liveness")
    ]
    metrics_port = processes.free_port()
    args = [f"--metrics-port={metrics_port}" if a.startswith("--metrics-port") else a for a in args]
    process = OperatorProcess(as_operator.kubeconfig, tmp_path / "operator.log", *args)
    process.start()
    try:
        edge = sandbox.edge
        setup = Setup.create(sandbox, kubectl.in_namespace(watched), unique)
        name = f"rbac-{unique}"
        setup.kubectl.apply(setup.replication(name))
        replication_id = setup.ready("replication", name, timeout=90)["status"]["id"]
        assert edge.request("GET", f"/api/v2/replications/{replication_id}")[0] == 200
        setup.kubectl.apply(setup.replication(name, maxQueueSizeBytes=40000000))
        eventually(
            lambda: edge.request("GET", f"/api/v2/replications/{replication_id}")[1]["maxQueueSizeBytes"] == 40000000,
            timeout=30,
            what="update applied by the chart's identity",
        )

        def scraped() -> str | None:
            body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
            line = f'influxdb_replication_queue_bytes{{instance="edge",name="{name}",namespace="{watched}"}}'
            return body if line in body else None

        metrics = eventually(scraped, timeout=30, what="queue gauge in /metrics")
        assert "influxdb_operator_influxdb_api_calls_total" in metrics
        assert "influxdb_operator_reconciles_total" in metrics
        assert "influxdb_replication_latest_response_code" in metrics

        # A minted remote token: its Secret written and deleted with the chart's identity.
        cloud = sandbox.cloud
        setup.kubectl.apply(
            manifests.instance("cloudinst", watched, url=cloud.url, org=cloud.org, secret="cloud-token"),
            manifests.minted_remote(
                "minted", watched, instance="edge", remote_instance="cloudinst", name=f"minted-{unique}"
            ),
        )
        setup.ready("remoteconnection", "minted", timeout=90)
        assert setup.kubectl.exists("secret", "minted-minted-token")
        setup.kubectl("delete", "remoteconnection", "minted", "--timeout=60s")
        assert not setup.kubectl.exists("secret", "minted-minted-token")
        setup.kubectl("delete", "influxdbinstance", "cloudinst", "--timeout=60s")

        setup.kubectl("delete", "replication", name, "--timeout=60s")
        assert edge.request("GET", f"/api/v2/replications/{replication_id}")[0] == 404
        for kind, obj in (("remoteconnection", "cloud"), ("influxdbinstance", "edge")):
            setup.kubectl("delete", kind, obj, "--timeout=60s")
        log_lines = process.tail(100000).splitlines()
        forbidden = [line for line in log_lines if "status=403" in line or "'reason': 'Forbidden'" in line]
        assert forbidden == [], forbidden[:5]
    finally:
        process.stop()


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if "properties" in sub:
            yield from _schema_paths(sub, f"{path}.")
        else:
            yield path


def test_values_schema_and_values_yaml_name_the_same_keys() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values_text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(values_text)
    in_values = set(_value_paths(values))
    in_schema = set(_schema_paths(schema))
    assert in_values - in_schema == set()
    # Keys only in the schema are the optional ones, present in values.yaml as comments.
    for path in in_schema - in_values:
        assert re.search(rf"^\s*# {re.escape(path.rsplit('.', 1)[-1])}: ", values_text, re.M), path
