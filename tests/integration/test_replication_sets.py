"""A ReplicationSet on the real sandbox: one child Replication per matching
edge bucket, cloud buckets provisioned, buckets that appear and go followed
within a refresh, no duplicates (also across a SIGKILL), and a fleet."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import Kubectl, KubectlError, condition, eventually
from support.scenario import Setup

SET_LABEL = "influxdb.replication.dev/replication-set"


def replication_set(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": manifests.API,
        "kind": "ReplicationSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def cloud_and_remote(kubectl: Kubectl, namespace: str, sandbox: sandbox_module.Sandbox, *edges: str) -> None:
    """The cloud as the InfluxDBInstance "cloudinst" and, per edge, a RemoteConnection
    "tocloud-<edge>" whose token the operator mints there."""
    kubectl.apply(
        manifests.secret("cloudinst-token", namespace, sandbox.cloud.token),
        manifests.instance(
            "cloudinst", namespace, url=sandbox.cloud.url, org=sandbox.cloud.org, secret="cloudinst-token"
        ),
        *(
            manifests.minted_remote(f"tocloud-{edge}", namespace, instance=edge, remote_instance="cloudinst")
            for edge in edges
        ),
    )


def children(kubectl: Kubectl, set_name: str) -> dict[str, dict[str, Any]]:
    listed = json.loads(kubectl("get", "replications", "-l", f"{SET_LABEL}={set_name}", "-o", "json"))["items"]
    return {c["metadata"]["name"]: c for c in listed}


def by_bucket(kubectl: Kubectl, set_name: str) -> dict[str, dict[str, Any]]:
    return {c["spec"]["localBucket"]["name"]: c for c in children(kubectl, set_name).values()}


def all_ready(kubectl: Kubectl, set_name: str, buckets: set[str]) -> dict[str, dict[str, Any]] | None:
    found = by_bucket(kubectl, set_name)
    ready = set(found) == buckets and all(condition(c, "Ready").get("status") == "True" for c in found.values())
    return found if ready else None


def one_replication_each(edge: influx.Influx, names: list[str]) -> bool:
    """InfluxDB holds exactly one replication per child name: no duplicates."""
    return all(len(edge.replications(name=name)) == 1 for name in names)


def status_of(kubectl: Kubectl, kind: str, name: str) -> dict[str, Any]:
    return dict((kubectl.get(kind, name) or {}).get("status") or {})


def delete_bucket(server: influx.Influx, bucket_id: str) -> None:
    status, body = server.request("DELETE", f"/api/v2/buckets/{bucket_id}")
    assert status == 204, (status, body)


def test_a_set_follows_the_edge_buckets_into_provisioned_cloud_buckets(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    kubectl, u, edge, cloud = setup.kubectl, setup.unique, sandbox.edge, sandbox.cloud
    prefix = f"sensor-{u}-"
    ids = {name: edge.create_bucket(name) for name in (f"{prefix}a", f"{prefix}b", f"{prefix}c", f"logs-{u}")}
    cloud_and_remote(kubectl, setup.namespace, sandbox, "edge")
    kubectl.apply(
        replication_set(
            "sensors",
            setup.namespace,
            instanceRef={"name": "edge"},
            remote={"connectionRef": {"name": "tocloud-{instance}"}},
            buckets={"pattern": f"^{prefix}"},
            provisionRemoteBuckets=True,
        )
    )
    matching = {f"{prefix}a", f"{prefix}b", f"{prefix}c"}
    found = eventually(lambda: all_ready(kubectl, "sensors", matching), timeout=90, what="three children Ready")
    the_set = setup.ready("replicationset", "sensors")
    assert the_set["status"]["matched"] == 3
    eventually(lambda: status_of(kubectl, "replicationset", "sensors").get("ready") == 3, timeout=30)

    # The cloud buckets were created by the operator, under the same names.
    for bucket in matching:
        assert cloud.request("GET", f"/api/v2/buckets?orgID={cloud.orgID}&name={bucket}")[1]["buckets"]
    now = time.time_ns()
    for n, bucket in enumerate(sorted(matching)):
        edge.write(bucket, "\n".join(f"temp,i={i} value={n} {now + i}" for i in range(5 + n)))
    expected = {bucket: 5 + n for n, bucket in enumerate(sorted(matching))}
    eventually(
        lambda: all(cloud.count(b, "temp") == k for b, k in expected.items()), timeout=60, what="points in the cloud"
    )
    names = [c["metadata"]["name"] for c in found.values()]
    assert one_replication_each(edge, names)
    # Children are owned by the set, and named for their bucket.
    for bucket, child in found.items():
        assert child["metadata"]["ownerReferences"][0]["kind"] == "ReplicationSet"
        assert child["spec"]["remoteBucket"] == {"name": bucket}

    # A fourth bucket gets its child within a refresh (2 s here) and its cloud bucket.
    fourth = f"{prefix}d"
    ids[fourth] = edge.create_bucket(fourth)
    eventually(lambda: all_ready(kubectl, "sensors", matching | {fourth}), timeout=60, what="the fourth child")

    # A child edited by hand is set back to the template.
    child_a = by_bucket(kubectl, "sensors")[f"{prefix}a"]["metadata"]["name"]
    kubectl("patch", "replication", child_a, "--type=merge", "-p", '{"spec": {"maxQueueSizeBytes": 99999999}}')
    eventually(
        lambda: (kubectl.get("replication", child_a) or {})["spec"]["maxQueueSizeBytes"] == 67108860,
        timeout=30,
        what="the hand edit set back",
    )

    # A deleted bucket loses its child, and InfluxDB its replication.
    delete_bucket(edge, ids[f"{prefix}b"])
    gone = by_bucket(kubectl, "sensors")[f"{prefix}b"]["metadata"]["name"]
    eventually(lambda: not kubectl.exists("replication", gone), timeout=60, what="the child of the deleted bucket gone")
    assert edge.replications(name=gone) == []
    remaining = [c["metadata"]["name"] for c in children(kubectl, "sensors").values()]
    assert len(remaining) == 3
    assert one_replication_each(edge, remaining)

    # Deleting the set deletes its children (deletionPolicy Delete) and their replications.
    kubectl("delete", "replicationset", "sensors", "--timeout=60s")
    eventually(lambda: not children(kubectl, "sensors"), timeout=60, what="children deleted with the set")
    eventually(lambda: all(edge.replications(name=n) == [] for n in remaining), timeout=60)


def test_invalid_sets_are_refused_by_the_api_server(kubectl: Kubectl, namespace: str, crds: None) -> None:
    ns = kubectl.in_namespace(namespace)
    remote = {"connectionRef": {"name": "c"}}
    both = replication_set(
        "both", namespace, instanceRef={"name": "e"}, instanceSelector={"matchLabels": {"a": "b"}}, remote=remote
    )
    neither = replication_set("neither", namespace, remote=remote)
    bad_regex = replication_set("badre", namespace, instanceRef={"name": "e"}, remote=remote, buckets={"pattern": "("})
    for doc, says in ((both, "exactly one of"), (neither, "exactly one of"), (bad_regex, "buckets.pattern")):
        with pytest.raises(KubectlError) as refused:
            ns.apply(doc)
        assert says in refused.value.stderr
        assert not ns.exists("replicationset", doc["metadata"]["name"])
