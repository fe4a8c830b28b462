"""A replication that would loop (its remote bucket already streams back into
its local bucket, through an instance the operator knows) is refused before
anything is created in InfluxDB."""

from __future__ import annotations

import sandbox as sandbox_module
from support import manifests
from support.kubectl import condition
from support.scenario import Setup


def test_a_loop_between_the_two_influxds_is_refused_before_anything_is_created(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    edge, cloud, u = sandbox.edge, sandbox.cloud, setup.unique
    # cloud -> edge, made out of band: cloud bucket into the edge bucket.
    status, remote = cloud.request(
        "POST",
        "/api/v2/remotes",
        {
            "orgID": cloud.orgID,
            "name": f"back-{u}",
            "remoteURL": edge.url,
            "remoteAPIToken": edge.token,
            "remoteOrgID": edge.orgID,
        },
    )
    assert status == 201, (status, remote)
    _, cloud_bucket = cloud.request("GET", f"/api/v2/buckets?orgID={cloud.orgID}&name={setup.cloud_bucket}")
    status, back = cloud.request(
        "POST",
        "/api/v2/replications",
        {
            "orgID": cloud.orgID,
            "name": f"back-{u}",
            "remoteID": remote["id"],
            "localBucketID": cloud_bucket["buckets"][0]["id"],
            "remoteBucketName": setup.edge_bucket,
            "maxQueueSizeBytes": 67108860,
        },
    )
    assert status == 201, (status, back)
    try:
        # The cloud as an InfluxDBInstance: the operator now knows it (and lists it).
        setup.kubectl.apply(
            manifests.instance("cloudinst", setup.namespace, url=cloud.url, org=cloud.org, secret="cloud-token")
        )
        setup.ready("influxdbinstance", "cloudinst")
        name = f"forth-{u}"
        setup.kubectl.apply(setup.replication(name))  # edge bucket -> cloud bucket: the loop's other half
        refused = setup.kubectl.wait_reason("replication", name, "ReplicationLoop", timeout=60)
        assert f"back-{u}" in refused["message"]
        assert edge.replications(name=name) == []
        assert condition(setup.kubectl.get("replication", name), "Ready")["status"] == "False"
        events = [e for e in setup.kubectl.events(name) if e["reason"] == "ReplicationLoop"]
        assert events
        assert events[0]["type"] == "Warning"
    finally:
        cloud.request("DELETE", f"/api/v2/replications/{back['id']}")
        cloud.request("DELETE", f"/api/v2/remotes/{remote['id']}")
