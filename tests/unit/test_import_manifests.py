"""The import subcommand's pure part: names and manifests from what InfluxDB lists."""

from __future__ import annotations

from influxdb_operator.importer import Found, k8s_name, manifests, out_of_bounds
from influxdb_operator.influx import models


def test_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    names = [k8s_name(n, taken, "thing") for n in ["Cloud Primary", "cloud_primary", "CLOUD--primary!", "→", "x" * 90]]
    assert names[:4] == ["cloud-primary", "cloud-primary-2", "cloud-primary-3", "thing"]
    assert len(names[4]) == 63
    assert len(set(names)) == len(names)


def _replication(**fields: object) -> models.Replication:
    base = {"id": "b" * 16, "orgID": "o" * 16, "name": "r", "remoteID": "a" * 16, "localBucketID": "c" * 16}
    return models.Replication.model_validate(base | {"maxQueueSizeBytes": 67108860} | fields)


def test_unresolved_references_stay_ids_and_observe_pins_the_id() -> None:
    found = Found(remotes=[], replications=[_replication(remoteBucketID="d" * 16)], buckets={})
    (doc,) = manifests(found, instance="edge", namespace=None, manage=False)
    spec = doc["spec"]
    assert spec["localBucket"] == {"id": "c" * 16}
    assert spec["remote"] == {"id": "a" * 16}
    assert spec["remoteBucket"] == {"id": "d" * 16}
    assert (spec["managementPolicy"], spec["id"]) == ("Observe", "b" * 16)
    assert "namespace" not in doc["metadata"]


def test_manage_adopts_by_name_instead() -> None:
    remote = models.Remote(id="a" * 16, orgID="o" * 16, name="Cloud", remoteURL="https://cloud")
    found = Found(remotes=[remote], replications=[_replication(remoteBucketName="x")], buckets={"c" * 16: "metrics"})
    remote_doc, replication_doc = manifests(found, instance="edge", namespace="fleet", manage=True)
    assert remote_doc["spec"]["remoteTokenSecretRef"] == {"name": "cloud-token", "key": "token"}
    assert replication_doc["spec"]["remote"] == {"connectionRef": {"name": "cloud"}}
    assert replication_doc["spec"]["localBucket"] == {"name": "metrics"}
    for doc in (remote_doc, replication_doc):
        assert doc["spec"]["managementPolicy"] == "Manage"
        assert doc["spec"]["adoptExisting"] is True
        assert "id" not in doc["spec"]
        assert doc["metadata"]["namespace"] == "fleet"


def test_a_max_age_the_crd_refuses_is_kept_and_named() -> None:
    """influxd 2.7 and 2.8 hold any maxAgeSeconds; the manifest keeps InfluxDB's
    value (nothing changes silently) and the output names the streams to fix."""
    held = [_replication(name=n, maxAgeSeconds=age) for n, age in (("ok", 0), ("short", 30), ("long", 10**8))]
    found = Found(remotes=[], replications=[*held, _replication(name="fine", maxAgeSeconds=60)], buckets={})
    docs = manifests(found, instance="e", namespace=None, manage=False)
    ages = {d["spec"]["name"]: d["spec"]["maxAgeSeconds"] for d in docs}
    assert ages == {"ok": 0, "short": 30, "long": 10**8, "fine": 60}
    warning = out_of_bounds(found)
    assert warning.startswith("# maxAgeSeconds out of the CRD's bounds (0, or 60 to 5184000)")
    assert warning.endswith(': "long", "short"\n')
    assert out_of_bounds(Found(remotes=[], replications=held[:1], buckets={})) == ""
