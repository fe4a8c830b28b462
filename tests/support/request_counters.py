"""Who wrote what, from the servers' own counters rather than the client's word.

kube-apiserver counts requests per FlowSchema (API Priority and Fairness): a
FlowSchema that matches only the write verbs of one ServiceAccount makes
`apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}` the number of
writes that identity sent, whatever else the shared API server is doing.
influxd counts its HTTP API requests by method and path (`http_api_requests_total`):
on an influxd of the test's own, the write methods are the operators' writes.
"""

from __future__ import annotations

import re
import urllib.request
from typing import Any

from support.kubectl import Kubectl

WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"]
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# A priority level the API server creates itself (one of its suggested configurations).
PRIORITY_LEVEL = "workload-low"


def writes_flow_schema(name: str, service_account: str, namespace: str) -> dict[str, Any]:
    """A FlowSchema that catches every write of one ServiceAccount, and nothing else."""
    return {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "FlowSchema",
        "metadata": {"name": name},
        "spec": {
            # Before the suggested "service-accounts" schema (9000).
            "matchingPrecedence": 500,
            "priorityLevelConfiguration": {"name": PRIORITY_LEVEL},
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [
                {
                    "subjects": [
                        {"kind": "ServiceAccount", "serviceAccount": {"name": service_account, "namespace": namespace}}
                    ],
                    "resourceRules": [
                        {
                            "verbs": WRITE_VERBS,
                            "apiGroups": ["*"],
                            "resources": ["*"],
                            "namespaces": ["*"],
                            "clusterScope": True,
                        }
                    ],
                }
            ],
        },
    }


def apiserver_writes(kubectl: Kubectl, flow_schema: str) -> float:
    """Writes dispatched under `flow_schema` since the API server started."""
    text = kubectl("get", "--raw", "/metrics")
    total = 0.0
    for line in text.splitlines():
        if line.startswith("apiserver_flowcontrol_dispatched_requests_total{") and (
            f'flow_schema="{flow_schema}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


_METHOD = re.compile(r'method="([A-Z]+)"')


def influxd_writes(url: str) -> dict[str, float]:
    """influxd's write requests by method and path (its /metrics needs no token)."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("http_api_requests_total{"):
            continue
        method = _METHOD.search(line)
        path = re.search(r'path="([^"]*)"', line)
        if method and method.group(1) in WRITE_METHODS:
            key = f"{method.group(1)} {path.group(1) if path else '?'}"
            counts[key] = counts.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts
