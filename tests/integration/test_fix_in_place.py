"""A typo in what cannot change later is fixed in place while nothing exists
in InfluxDB: the operator picks up the new value, and the field freezes once
the object is created."""

from __future__ import annotations

from typing import Any

import pytest

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import KubectlError
from support.scenario import Setup


def test_local_bucket_typo_fixed_before_creation(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"typo-{setup.unique}"
    typo = setup.replication(name, localBucket={"name": f"metrcs-{setup.unique}"})
    setup.kubectl.apply(typo)
    blocked = setup.kubectl.wait_reason("replication", name, "BucketNotFound")
    # In the user's words: the bucket and the org by name.
    assert f"'metrcs-{setup.unique}'" in blocked["message"], blocked
    assert f"org {sandbox.edge.org!r}" in blocked["message"], blocked

    setup.kubectl.apply(setup.replication(name))
    ready = setup.ready("replication", name)
    message = next(c["message"] for c in ready["status"]["conditions"] if c["type"] == "Ready")
    assert message == f"replication {name!r} (ID {ready['status']['id']}) matches the spec"
    assert ready["status"]["localBucketID"] == setup.edge_bucket_id
    status, body = sandbox.edge.request("GET", f"/api/v2/replications/{ready['status']['id']}")
    assert status == 200, body
    assert body["localBucketID"] == setup.edge_bucket_id

    # Now InfluxDB holds a queue for that bucket: the field is frozen.
    with pytest.raises(KubectlError) as refused:
        setup.kubectl.apply(typo)
    assert "localBucket is immutable once the object exists in InfluxDB" in refused.value.stderr


def test_instance_org_typo_fixed_before_resolution(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    def instance(org: str) -> dict[str, Any]:
        return manifests.instance("edge2", setup.namespace, url=sandbox.edge.url, org=org, secret="edge-token")

    setup.kubectl.apply(instance(f"{sandbox.edge.org}-typo"))
    blocked = setup.kubectl.wait_reason("influxdbinstance", "edge2", "OrgNotFound")
    assert f"'{sandbox.edge.org}-typo'" in blocked["message"], blocked

    setup.kubectl.apply(instance(sandbox.edge.org))
    assert setup.ready("influxdbinstance", "edge2")["status"]["orgID"] == sandbox.edge.orgID
    with pytest.raises(KubectlError) as refused:
        setup.kubectl.apply(instance(f"{sandbox.edge.org}-typo"))
    assert "org is immutable once the organization is resolved" in refused.value.stderr


def test_an_instance_moved_to_a_server_without_its_org_finds_it_there_once_created(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    """A new URL may be a new server, so the org is looked up there, and while
    that edit is stuck (its generation observed, for kstatus) on every retry:
    never the ID from the old server."""
    org = f"moving-{setup.unique}"

    def instance(server: influx.Influx, secret: str) -> dict[str, Any]:
        return manifests.instance("edge2", setup.namespace, url=server.url, org=org, secret=secret)

    _, on_edge = sandbox.edge.request("POST", "/api/v2/orgs", {"name": org})
    setup.kubectl.apply(instance(sandbox.edge, "edge-token"))
    assert setup.ready("influxdbinstance", "edge2")["status"]["orgID"] == on_edge["id"]

    setup.kubectl.apply(instance(sandbox.cloud, "cloud-token"))
    setup.kubectl.wait_reason("influxdbinstance", "edge2", "OrgNotFound")
    _, on_cloud = sandbox.cloud.request("POST", "/api/v2/orgs", {"name": org})
    moved = setup.ready("influxdbinstance", "edge2")
    assert (moved["status"]["orgID"], moved["status"]["observedGeneration"]) == (on_cloud["id"], 2)


def test_instance_ref_typo_fixed_before_creation(setup: Setup) -> None:
    """The operator's indexes follow the reference to its new instance."""
    remote = manifests.remote(
        "cloud-typo",
        setup.namespace,
        instance="egde",
        url="http://127.0.0.1:1",
        org_id="0123456789abcdef",
        secret="cloud-token",
        name=f"cloud-typo-{setup.unique}",
    )
    replication = setup.replication(f"ref-{setup.unique}", instanceRef={"name": "egde"})
    setup.kubectl.apply(remote, replication)
    for kind, name in (("remoteconnection", "cloud-typo"), ("replication", f"ref-{setup.unique}")):
        blocked = setup.kubectl.wait_reason(kind, name, "InstanceNotFound")
        assert f"InfluxDBInstance {setup.namespace}/egde does not exist" in blocked["message"], blocked

    remote["spec"]["instanceRef"] = replication["spec"]["instanceRef"] = {"name": "edge"}
    setup.kubectl.apply(remote, replication)
    setup.ready("remoteconnection", "cloud-typo")
    setup.ready("replication", f"ref-{setup.unique}")
