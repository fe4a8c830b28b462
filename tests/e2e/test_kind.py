"""Install with Helm on kind and run the lifecycle with InfluxDB in the cluster."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.kind

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/chart/influxdb-replication-operator"
INFLUX_IMAGE = "influxdb:2.7"

INFLUXDB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: e2e}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: influxdb
        image: {image}
        env:
        - {{name: DOCKER_INFLUXDB_INIT_MODE, value: setup}}
        - {{name: DOCKER_INFLUXDB_INIT_USERNAME, value: admin}}
        - {{name: DOCKER_INFLUXDB_INIT_PASSWORD, value: e2e-password}}
        - {{name: DOCKER_INFLUXDB_INIT_ORG, value: {name}-org}}
        - {{name: DOCKER_INFLUXDB_INIT_BUCKET, value: metrics}}
        - {{name: DOCKER_INFLUXDB_INIT_ADMIN_TOKEN, value: {name}-e2e-token}}
        readinessProbe: {{httpGet: {{path: /health, port: 8086}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: e2e}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 8086}}]
"""


def _run(kubeconfig: Path, *argv: str, input: str | None = None) -> str:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run(argv, input=input, env=env, capture_output=True, text=True, check=True).stdout


def _eventually(check, timeout: float = 180):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except subprocess.CalledProcessError:
            value = None
        if value:
            return value
        time.sleep(2)
    raise AssertionError("timed out")


def test_helm_install_and_replicate_in_cluster(kind_cluster: Path) -> None:
    kc = kind_cluster
    helm = shutil.which("helm") or str(Path.home() / ".cache/influxdb-replication-operator/testbin/bin/helm")
    image = os.environ["E2E_IMAGE"]
    repo, tag = image.rsplit(":", 1)
    _run(
        kc,
        helm,
        "install",
        "iro",
        str(CHART),
        "--namespace",
        "iro-system",
        "--create-namespace",
        f"--set=image.repository={repo}",
        f"--set=image.tag={tag}",
        "--set=image.pullPolicy=Never",
        "--wait",
    )
    # An upgrade with the same values is a no-op for the running operator.
    _run(kc, helm, "upgrade", "iro", str(CHART), "--namespace", "iro-system", "--reuse-values", "--wait")
    _run(kc, "kubectl", "create", "namespace", "e2e")
    for name in ("edge", "cloud"):
        _run(kc, "kubectl", "apply", "-f", "-", input=INFLUXDB.format(name=name, image=INFLUX_IMAGE))
    for name in ("edge", "cloud"):
        _run(kc, "kubectl", "-n", "e2e", "rollout", "status", f"deploy/{name}", "--timeout=180s")
    cloud_org = _run(
        kc,
        "kubectl",
        "-n",
        "e2e",
        "exec",
        "deploy/cloud",
        "--",
        "influx",
        "org",
        "list",
        "--name",
        "cloud-org",
        "--hide-headers",
        "-t",
        "cloud-e2e-token",
    ).split()[0]
    manifests = f"""
apiVersion: v1
kind: Secret
metadata: {{name: edge-token, namespace: e2e}}
stringData: {{token: edge-e2e-token}}
---
apiVersion: v1
kind: Secret
metadata: {{name: cloud-token, namespace: e2e}}
stringData: {{token: cloud-e2e-token}}
---
apiVersion: influxdb.replication.dev/v1alpha1
kind: InfluxDBInstance
metadata: {{name: edge, namespace: e2e}}
spec: {{url: "http://edge.e2e:8086", org: edge-org, tokenSecretRef: {{name: edge-token}}, resyncPeriod: 5s}}
---
apiVersion: influxdb.replication.dev/v1alpha1
kind: RemoteConnection
metadata: {{name: cloud, namespace: e2e}}
spec:
  instanceRef: {{name: edge}}
  remoteURL: "http://cloud.e2e:8086"
  remoteOrgID: "{cloud_org}"
  remoteTokenSecretRef: {{name: cloud-token}}
---
apiVersion: influxdb.replication.dev/v1alpha1
kind: Replication
metadata: {{name: metrics, namespace: e2e}}
spec:
  instanceRef: {{name: edge}}
  localBucket: {{name: metrics}}
  remote: {{connectionRef: {{name: cloud}}}}
  remoteBucket: {{name: metrics}}
"""
    _run(kc, "kubectl", "apply", "-f", "-", input=manifests)
    _run(kc, "kubectl", "-n", "e2e", "wait", "--for=condition=Ready", "replication/metrics", "--timeout=180s")
    _run(
        kc,
        "kubectl",
        "-n",
        "e2e",
        "exec",
        "deploy/edge",
        "--",
        "influx",
        "write",
        "-b",
        "metrics",
        "-o",
        "edge-org",
        "-t",
        "edge-e2e-token",
        "e2e,host=a value=1",
    )
    query = 'from(bucket:"metrics") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "e2e")'
    _eventually(
        lambda: (
            "e2e"
            in _run(
                kc,
                "kubectl",
                "-n",
                "e2e",
                "exec",
                "deploy/cloud",
                "--",
                "influx",
                "query",
                "-o",
                "cloud-org",
                "-t",
                "cloud-e2e-token",
                query,
            )
        )
    )
    status = _run(
        kc, "kubectl", "-n", "e2e", "get", "replication", "metrics", "-o", "jsonpath={.status.latestResponseCode}"
    )
    assert (
        _eventually(
            lambda: (
                _run(
                    kc,
                    "kubectl",
                    "-n",
                    "e2e",
                    "get",
                    "replication",
                    "metrics",
                    "-o",
                    "jsonpath={.status.latestResponseCode}",
                )
                == "204"
            )
        )
        or status
    )
    _run(kc, "kubectl", "-n", "e2e", "delete", "replication", "metrics", "--timeout=120s")
    _run(kc, "kubectl", "-n", "e2e", "delete", "remoteconnection", "cloud", "--timeout=120s")
    _run(kc, helm, "uninstall", "iro", "--namespace", "iro-system")


def test_plain_manifests_install_and_uninstall(kind_cluster: Path) -> None:
    manifests = ROOT / "deploy/manifests"
    image = os.environ["E2E_IMAGE"]
    text = (manifests / "operator.yaml").read_text()
    text = re.sub(r"image: .*influxdb-replication-operator:\S+", f"image: {image}", text)
    text = text.replace("imagePullPolicy: IfNotPresent", "imagePullPolicy: Never")
    _run(kind_cluster, "kubectl", "apply", "--server-side", "-f", str(manifests / "namespace.yaml"))
    _run(kind_cluster, "kubectl", "apply", "--server-side", "--force-conflicts", "-f", "-", input=text)
    _run(
        kind_cluster,
        "kubectl",
        "-n",
        "influxdb-replication-operator",
        "rollout",
        "status",
        "deploy/influxdb-replication-operator",
        "--timeout=180s",
    )
    _run(kind_cluster, "kubectl", "delete", "-f", "-", input=text)
