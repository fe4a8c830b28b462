"""Each difference between influxd versions that the operator or its tests
depend on, pinned against the server the suite runs on: the version is read
from its /health, and the test asserts what `versions.Capabilities` says that
version does. Run on every version of the matrix (`INFLUXD=<version>`, or
`TESTBIN_DIR`), a release that changes one of them fails here, by name.

The raw tests speak HTTP to influxd directly (what the server does); the
others run the operator (what the user sees, the same on every version).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sandbox as sandbox_module
from influxdb_operator.api import v1alpha1
from influxdb_operator.influx import versions
from influxdb_operator.influx.client import parse_counters
from influxdb_operator.reconcile import tokens
from sandbox import influx
from support.kubectl import eventually
from support.scenario import Setup

PERIOD = 2  # the test instances' resyncPeriod, in seconds


def _version(server: influx.Influx) -> tuple[versions.Version, versions.Capabilities]:
    status, health = server.request("GET", "/health")
    assert status == 200, health
    version = versions.parse(health["version"])
    assert version is not None, f"influxd reports no release version: {health['version']!r}"
    assert versions.OLDEST <= version < versions.Version(versions.NEWEST.major, versions.NEWEST.minor + 1), (
        f"influxd {version} is outside the supported range {versions.SUPPORTED}: add it to versions.py first"
    )
    return version, versions.of(version)


@contextmanager
def _other_org(server: influx.Influx, unique: str) -> Iterator[tuple[str, str]]:
    """(org ID, bucket ID) of a fresh org with one bucket on `server`, deleted after."""
    status, org = server.request("POST", "/api/v2/orgs", {"name": f"other-{unique}"})
    assert status == 201, org
    try:
        status, bucket = server.request("POST", "/api/v2/buckets", {"orgID": org["id"], "name": f"b-{unique}"})
        assert status == 201, bucket
        yield org["id"], bucket["id"]
    finally:
        server.request("DELETE", f"/api/v2/orgs/{org['id']}")


@contextmanager
def _remote_to_cloud(sandbox: sandbox_module.Sandbox, unique: str) -> Iterator[str]:
    """The ID of a remote on the edge that points at the cloud, deleted after."""
    edge, cloud = sandbox.edge, sandbox.cloud
    body = {
        "orgID": edge.orgID,
        "name": f"r-{unique}",
        "remoteURL": cloud.url,
        "remoteAPIToken": cloud.token,
        "remoteOrgID": cloud.orgID,
    }
    status, remote = edge.request("POST", "/api/v2/remotes", body)
    assert status == 201, remote
    try:
        yield remote["id"]
    finally:
        for replication in edge.replications():
            if replication["remoteID"] == remote["id"]:
                edge.request("DELETE", f"/api/v2/replications/{replication['id']}")
        edge.request("DELETE", f"/api/v2/remotes/{remote['id']}")


def _replication(edge: influx.Influx, remote_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "orgID": edge.orgID,
        "name": name,
        "localBucketID": edge.bucketID,
        "remoteID": remote_id,
        "remoteBucketName": "unused",
        "maxQueueSizeBytes": v1alpha1.DEFAULT_QUEUE_BYTES,
    } | fields


def test_a_local_bucket_of_another_org_is_taken_as_the_version_says(
    sandbox: sandbox_module.Sandbox, unique: str
) -> None:
    """Raw: 2.10 refuses a replication whose local bucket is in another org;
    earlier versions take it (and would replicate that org's data)."""
    edge = sandbox.edge
    _, caps = _version(edge)
    with _other_org(edge, unique) as (_, bucket_id), _remote_to_cloud(sandbox, unique) as remote_id:
        body = _replication(edge, remote_id, f"x-{unique}", localBucketID=bucket_id)
        status, made = edge.request("POST", "/api/v2/replications", body)
        if caps.local_bucket_in_org:
            assert status == 400, made
            assert made["message"].startswith(f'local bucket "{bucket_id}" not found'), made
        else:
            assert status == 201, made
            assert (made["localBucketID"], made["orgID"]) == (bucket_id, edge.orgID)
        # Validate looks the bucket up the same way.
        status, answer = edge.request("POST", "/api/v2/replications?validate=true", body)
        if caps.local_bucket_in_org:
            assert status == 400, answer
            assert answer["message"].startswith(f'local bucket "{bucket_id}" not found'), answer


def test_a_replication_on_a_bucket_of_another_org_is_refused_on_every_version(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    """The operator: refused with its own reason and a Warning Event, before
    anything is created, whatever the version would have done."""
    edge, ns = sandbox.edge, setup.kubectl
    with _other_org(edge, setup.unique) as (org_id, bucket_id):
        name = f"foreign-{setup.unique}"
        ns.apply(setup.replication(name, localBucket={"id": bucket_id}))
        ready = ns.wait_reason("replication", name, "BucketInOtherOrg")
        assert ready["status"] == "False"
        assert bucket_id in ready["message"]
        assert org_id in ready["message"]
        assert edge.orgID in ready["message"]
        warnings = eventually(
            lambda: [e for e in ns.events(name) if e["reason"] == "BucketInOtherOrg"], timeout=30, what="the Event"
        )
        assert {e["type"] for e in warnings} == {"Warning"}
        assert edge.replications(name=name) == []
        # Fixed to a bucket of its own org (the spec's bucket may be changed until it is created): Ready.
        ns.apply(setup.replication(name, localBucket={"id": setup.edge_bucket_id}))
        ns.wait_ready("replication", name, timeout=60)
        [made] = edge.replications(name=name)
        assert made["localBucketID"] == setup.edge_bucket_id


def test_max_age_bounds_and_zero_as_the_version_says(sandbox: sandbox_module.Sandbox, unique: str) -> None:
    """Raw: 2.9+ refuses `maxAgeSeconds` outside 0 or 60..5184000, 2.7 stores
    anything; 0 is stored as 0 everywhere (its meaning differs: see the next test)."""
    edge = sandbox.edge
    _, caps = _version(edge)
    with _remote_to_cloud(sandbox, unique) as remote_id:
        for n, bad in enumerate((30, v1alpha1.MAX_MAX_AGE_SECONDS + 1)):
            status, made = edge.request(
                "POST", "/api/v2/replications", _replication(edge, remote_id, f"bad{n}-{unique}", maxAgeSeconds=bad)
            )
            if caps.max_age_validated:
                assert status == 400, made
                assert "maxAgeSeconds must be 0" in made["message"]
            else:
                assert status == 201, made
                assert made["maxAgeSeconds"] == bad
        status, made = edge.request(
            "POST", "/api/v2/replications", _replication(edge, remote_id, f"zero-{unique}", maxAgeSeconds=0)
        )
        assert status == 201, made
        status, held = edge.request("GET", f"/api/v2/replications/{made['id']}")
        assert status == 200
        assert held["maxAgeSeconds"] == 0
        # A PATCH is checked as a create is.
        status, patched = edge.request("PATCH", f"/api/v2/replications/{made['id']}", {"maxAgeSeconds": 30})
        assert status == (400 if caps.max_age_validated else 200), patched


def test_max_age_zero_is_a_week_on_every_version(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    """The operator: `maxAgeSeconds: 0` is a week (the CRD says so). 2.9+ reads
    a stored 0 so; 2.7 would never purge, so there the week itself is sent,
    and then held without drift."""
    edge, ns = sandbox.edge, setup.kubectl
    _, caps = _version(edge)
    name = f"age-{setup.unique}"
    ns.apply(setup.replication(name, maxAgeSeconds=0))
    ns.wait_ready("replication", name, timeout=60)
    [made] = edge.replications(name=name)
    expected = 0 if caps.max_age_zero_is_a_week else v1alpha1.DEFAULT_MAX_AGE_SECONDS
    assert made["maxAgeSeconds"] == expected
    # Set to 0 and its description changed by hand: one refresh puts the
    # description back, and 0 to the week where 0 would never purge.
    status, _ = edge.request(
        "PATCH", f"/api/v2/replications/{made['id']}", {"description": "by hand", "maxAgeSeconds": 0}
    )
    assert status == 200
    eventually(
        lambda: edge.replications(name=name)[0]["description"] != "by hand", timeout=10 * PERIOD, what="a refresh"
    )
    assert edge.replications(name=name)[0]["maxAgeSeconds"] == expected
    corrected = " ".join(e["message"] for e in ns.events(name) if e["reason"] == "DriftCorrected")
    assert "description" in corrected
    assert ("maxAgeSeconds" in corrected) is not caps.max_age_zero_is_a_week, corrected


def test_validate_checks_the_remote_bucket_by_id_only_on_every_version(
    sandbox: sandbox_module.Sandbox, unique: str
) -> None:
    """Raw: `?validate=true` ignores `remoteBucketName` (the CRD's reason for
    `validateBeforeCreate` to need `remoteBucket.id`); by ID it works."""
    edge, cloud = sandbox.edge, sandbox.cloud
    _, caps = _version(edge)
    with _remote_to_cloud(sandbox, unique) as remote_id:
        by_name = _replication(edge, remote_id, f"v-{unique}", remoteBucketName=cloud.bucket)
        status, answer = edge.request("POST", "/api/v2/replications?validate=true", by_name)
        if caps.validates_remote_bucket_by_name:
            assert status == 204, answer
        else:
            assert status == 400, answer
            assert "replication parameters fail validation" in answer["message"]
        by_id = _replication(edge, remote_id, f"v-{unique}", remoteBucketID=cloud.bucketID)
        del by_id["remoteBucketName"]
        status, answer = edge.request("POST", "/api/v2/replications?validate=true", by_id)
        assert status == 204, answer
        assert edge.replications(name=f"v-{unique}") == [], "a validate creates nothing"


def test_tokens_are_shown_once_as_the_version_says(sandbox: sandbox_module.Sandbox, unique: str) -> None:
    """Raw: from 2.9 a token is in the answer that creates it and never again;
    before, reading the authorization shows it. (The operator keeps a minted
    token from the create's answer on every version.)"""
    cloud = sandbox.cloud
    _, caps = _version(cloud)
    permissions = [p.model_dump(exclude_none=True) for p in tokens.permissions(cloud.orgID, [cloud.bucketID])]
    body = {"orgID": cloud.orgID, "description": f"shown-once {unique}", "permissions": permissions}
    status, made = cloud.request("POST", "/api/v2/authorizations", body)
    assert status == 201, made
    try:
        assert made["token"]
        status, read = cloud.request("GET", f"/api/v2/authorizations/{made['id']}")
        assert status == 200
        if caps.tokens_shown_once:
            assert not read.get("token")
        else:
            assert read["token"] == made["token"]
    finally:
        cloud.request("DELETE", f"/api/v2/authorizations/{made['id']}")


def test_authorization_permissions_are_checked_as_the_version_says(
    sandbox: sandbox_module.Sandbox, unique: str
) -> None:
    """Raw: 2.10 refuses an org named by ID with an orgID, and a bucket of
    another org; earlier versions take both. What the operator mints (no bucket
    yet, one, several) is taken by every version; no permission at all by none."""
    cloud = sandbox.cloud
    _, caps = _version(cloud)
    made: list[str] = []

    def create(permissions: list[dict[str, Any]]) -> tuple[int, Any]:
        body = {"orgID": cloud.orgID, "description": f"perm {unique}", "permissions": permissions}
        status, answer = cloud.request("POST", "/api/v2/authorizations", body)
        if status == 201:
            made.append(answer["id"])
        return status, answer

    try:
        with _other_org(cloud, unique) as (_, foreign_bucket):
            second = cloud.create_bucket(f"second-{unique}")
            for buckets in ([], [cloud.bucketID], [cloud.bucketID, second]):
                minted = [p.model_dump(exclude_none=True) for p in tokens.permissions(cloud.orgID, buckets)]
                status, answer = create(minted)
                assert status == 201, (buckets, answer)
            assert create([])[0] == 400

            org_with_org = {"action": "read", "resource": {"type": "orgs", "id": cloud.orgID, "orgID": cloud.orgID}}
            foreign = {"action": "write", "resource": {"type": "buckets", "id": foreign_bucket, "orgID": cloud.orgID}}
            for permission in (org_with_org, foreign):
                status, answer = create([permission])
                if caps.strict_authorization_permissions:
                    assert status == 403, answer
                    assert "is not allowed" in answer["message"]
                else:
                    assert status == 201, answer
    finally:
        for auth_id in made:
            cloud.request("DELETE", f"/api/v2/authorizations/{auth_id}")


def test_metrics_series_the_operator_reads_are_there_on_every_version(
    sandbox: sandbox_module.Sandbox, unique: str
) -> None:
    """Raw: after writes through a replication that works and one whose remote
    bucket is missing, influxd's /metrics has the `replications_queue_*` series
    the data plane reads, by the names the operator's parser knows, labelled
    with the replication's ID; no other series of that family."""
    edge, cloud = sandbox.edge, sandbox.cloud
    _, caps = _version(edge)
    assert caps.replication_metrics
    bucket = f"m-{unique}"
    bucket_id = edge.create_bucket(bucket)
    cloud.create_bucket(bucket)
    with _remote_to_cloud(sandbox, unique) as remote_id:
        ids = []
        for name, target in ((f"ok-{unique}", bucket), (f"lost-{unique}", f"missing-{unique}")):
            body = _replication(edge, remote_id, name, localBucketID=bucket_id, remoteBucketName=target)
            status, made = edge.request("POST", "/api/v2/replications", body)
            assert status == 201, made
            ids.append(made["id"])
        ok, lost = ids
        now = time.time_ns()
        edge.write(bucket, "\n".join(f"metrics,n={i} v={i} {now + i}" for i in range(5)))
        eventually(lambda: cloud.count(bucket, "metrics") == 5, timeout=30, what="points at the cloud")

        def exposition() -> str:
            with urllib.request.urlopen(f"{edge.url}/metrics", timeout=30) as response:
                return str(response.read().decode())

        def counted() -> dict[str, Any] | None:
            counters = parse_counters(exposition())
            if ok in counters and lost in counters and counters[ok].bytes_sent and counters[lost].write_errors:
                return {"ok": counters[ok], "lost": counters[lost]}
            return None

        counters = eventually(counted, timeout=30, what="both replications' counters")
        assert counters["ok"].points_queued == counters["lost"].points_queued == 5
        assert counters["ok"].bytes_queued > 0
        assert counters["ok"].write_errors == 0
        assert counters["lost"].bytes_sent == 0
        text = exposition()
        family = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE replications_queue_")}
        always = {
            "replications_queue_total_points_queued",
            "replications_queue_total_bytes_queued",
            "replications_queue_current_bytes_queued",
            "replications_queue_remote_write_bytes_sent",
            "replications_queue_remote_write_errors",
        }
        # Added at their first sample (data dropped, a full queue): named, not always there.
        known = always | {
            "replications_queue_remote_write_bytes_dropped",
            "replications_queue_points_failed_to_queue",
            "replications_queue_bytes_failed_to_queue",
        }
        assert always <= family, always - family
        assert family <= known, family - known
        assert f'replications_queue_current_bytes_queued{{replicationID="{lost}"}}' in text
