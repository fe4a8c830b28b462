"""Missing Secrets, keys, instances, buckets and remotes give a clear condition
and an Event, and the resource recovers by itself once the thing exists."""

from __future__ import annotations

from typing import Any

import sandbox as sandbox_module
from support import manifests
from support.kubectl import Kubectl


def _blocked(kubectl: Kubectl, kind: str, name: str, reason: str) -> dict[str, Any]:
    ready = kubectl.wait_reason(kind, name, reason, timeout=30)
    assert ready["status"] == "False"
    assert reason in [e["reason"] for e in kubectl.events(name) if e["type"] == "Warning"]
    return ready


def test_missing_secret_then_missing_key_then_recovery(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: object, namespace: str
) -> None:
    ns = kubectl.in_namespace(namespace)
    ns.apply(manifests.instance("edge", namespace, url=sandbox.edge.url, org=sandbox.edge.org, secret="edge-token"))
    ready = _blocked(ns, "influxdbinstance", "edge", "SecretNotFound")
    assert f"{namespace}/edge-token" in ready["message"]

    ns.apply(manifests.secret("edge-token", namespace, sandbox.edge.token, key="wrong-key"))
    ready = _blocked(ns, "influxdbinstance", "edge", "SecretKeyNotFound")
    assert "'token'" in ready["message"]

    ns.apply(manifests.secret("edge-token", namespace, sandbox.edge.token))
    ns.wait_ready("influxdbinstance", "edge", timeout=30)
    assert "Recovered" in [e["reason"] for e in ns.events("edge")]


def test_missing_instance_bucket_and_remote_then_recovery(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: object, namespace: str, unique: str
) -> None:
    ns = kubectl.in_namespace(namespace)
    edge_bucket, cloud_bucket = f"late-{unique}", f"late-cloud-{unique}"
    sandbox.cloud.create_bucket(cloud_bucket)
    name = f"waiting-{unique}"
    ns.apply(
        manifests.replication(
            name, namespace, instance="edge", local_bucket=edge_bucket, connection="cloud", remote_bucket=cloud_bucket
        )
    )
    _blocked(ns, "replication", name, "InstanceNotFound")

    ns.apply(
        manifests.secret("edge-token", namespace, sandbox.edge.token),
        manifests.instance("edge", namespace, url=sandbox.edge.url, org=sandbox.edge.org, secret="edge-token"),
    )
    ready = _blocked(ns, "replication", name, "RemoteConnectionNotFound")
    assert f"{namespace}/cloud" in ready["message"]

    ns.apply(
        manifests.secret("cloud-token", namespace, sandbox.cloud.token),
        manifests.remote(
            "cloud",
            namespace,
            instance="edge",
            url=sandbox.cloud.url,
            org_id=sandbox.cloud.orgID,
            secret="cloud-token",
            name=f"late-{unique}",
        ),
    )
    ready = _blocked(ns, "replication", name, "BucketNotFound")
    assert edge_bucket in ready["message"]

    sandbox.edge.create_bucket(edge_bucket)
    ns.wait_ready("replication", name)
    assert len(sandbox.edge.replications(name=name)) == 1


def test_org_by_id_or_unknown_name(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: object, namespace: str
) -> None:
    ns = kubectl.in_namespace(namespace)
    edge = sandbox.edge
    by_id = manifests.instance("by-id", namespace, url=edge.url, org=edge.org, secret="edge-token")
    del by_id["spec"]["org"]
    by_id["spec"]["orgID"] = edge.orgID
    ns.apply(
        manifests.secret("edge-token", namespace, edge.token),
        manifests.instance("unknown-org", namespace, url=edge.url, org="no-such-org", secret="edge-token"),
        by_id,
    )
    ready = _blocked(ns, "influxdbinstance", "unknown-org", "OrgNotFound")
    assert "'no-such-org'" in ready["message"]
    instance = ns.wait_ready("influxdbinstance", "by-id", timeout=30)
    assert instance["status"]["orgID"] == edge.orgID
