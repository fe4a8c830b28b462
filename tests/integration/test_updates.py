"""Every mutable field, changed in the resource, reaches InfluxDB in place
(same ID: the queue is kept)."""

from __future__ import annotations

from typing import Any

import sandbox as sandbox_module
from influxdb_operator.influx import versions
from support import manifests
from support.kubectl import eventually
from support.scenario import Setup, cloud_remote


def _influx(sandbox: sandbox_module.Sandbox, path: str) -> dict[str, Any]:
    status, body = sandbox.edge.request("GET", path)
    assert status == 200, body
    return dict(body)


def test_every_mutable_replication_field_is_applied(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name = f"upd-{setup.unique}"
    setup.kubectl.apply(setup.replication(name))
    replication_id = setup.ready("replication", name)["status"]["id"]

    # A second remote and a second cloud bucket to switch to.
    other_bucket = f"other-{setup.unique}"
    other_bucket_id = sandbox.cloud.create_bucket(other_bucket)
    setup.kubectl.apply(cloud_remote(sandbox.cloud, setup.namespace, "cloud2", setup.unique))
    other_remote_id = setup.ready("remoteconnection", "cloud2")["status"]["id"]

    changed = setup.replication(
        name,
        name=f"renamed-{setup.unique}",
        description="now described",
        maxQueueSizeBytes=40000000,
        maxAgeSeconds=0,
        dropNonRetryableData=True,
    )
    changed["spec"]["remote"] = {"connectionRef": {"name": "cloud2"}}
    changed["spec"]["remoteBucket"] = {"id": other_bucket_id}
    setup.kubectl.apply(changed)

    def applied() -> dict[str, Any] | None:
        body = _influx(sandbox, f"/api/v2/replications/{replication_id}")
        return body if body["maxQueueSizeBytes"] == 40000000 else None

    body = eventually(applied, timeout=30, what="update applied")
    assert body["id"] == replication_id
    assert body["name"] == f"renamed-{setup.unique}"
    assert body["description"] == "now described"
    # 0 (falsy, yet sent) is a week: influxd 2.9+ holds 0 so, to 2.7 the operator sends the week.
    caps = versions.of(versions.parse(_influx(sandbox, "/health")["version"]))
    assert body["maxAgeSeconds"] == (0 if caps.max_age_zero_is_a_week else 604800)
    assert body["dropNonRetryableData"] is True
    assert body["remoteID"] == other_remote_id
    assert body["remoteBucketID"] == other_bucket_id
    resource = eventually(
        lambda: (
            (r := setup.kubectl.get("replication", name))
            and r["status"].get("observedGeneration") == r["metadata"]["generation"]
            and r
        ),
        timeout=30,
        what="observedGeneration caught up",
    )
    assert resource["status"]["id"] == replication_id
    assert resource["status"]["remoteID"] == other_remote_id
    assert "Updated" in [e["reason"] for e in setup.kubectl.events(name)]


def test_every_mutable_remote_field_is_applied(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    remote_id = setup.ready("remoteconnection", "cloud")["status"]["id"]
    _, org = sandbox.cloud.request("POST", "/api/v2/orgs", {"name": f"second-{setup.unique}"})
    localhost_url = sandbox.cloud.url.replace("127.0.0.1", "localhost")
    setup.kubectl.apply(
        manifests.remote(
            "cloud",
            setup.namespace,
            instance="edge",
            url=localhost_url,
            org_id=org["id"],
            secret="cloud-token",
            name=f"renamed-{setup.unique}",
            description="described",
            allowInsecureTLS=True,
        )
    )

    def applied() -> dict[str, Any] | None:
        body = _influx(sandbox, f"/api/v2/remotes/{remote_id}")
        return body if body["remoteURL"] == localhost_url else None

    body = eventually(applied, timeout=30, what="remote update applied")
    assert body["name"] == f"renamed-{setup.unique}"
    assert body["description"] == "described"
    assert body["remoteOrgID"] == org["id"]
    assert body["allowInsecureTLS"] is True
    assert setup.ready("remoteconnection", "cloud")["status"]["id"] == remote_id
