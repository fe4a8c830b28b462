"""kopf's diff-base as the operator stores it: the essence built from a lean
copy equals kopf's own, and an object handled by an earlier build (diff-base
in an annotation) reads as handled."""

from __future__ import annotations

import json
from typing import Any, cast

import kopf

from influxdb_operator.handlers.lifecycle import DIFFBASE, LEGACY_DIFFBASE

BODY: dict[str, Any] = {
    "apiVersion": "influxdb.replication.dev/v1alpha1",
    "kind": "Replication",
    "metadata": {
        "name": "r",
        "namespace": "n",
        "uid": "u",
        "generation": 3,
        "labels": {"team": "edge"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "influxdb.replication.dev/paused": "true",
            "example.com/note": "kept",
        },
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        "finalizers": ["influxdb.replication.dev/finalizer"],
    },
    "spec": {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "cloud"}}, "maxAgeSeconds": 60},
    "status": {"id": "0a", "conditions": [{"type": "Ready", "status": "True"}], "kopf": {"progress": {}}},
}


def test_the_lean_essence_is_kopfs_own() -> None:
    body = kopf.Body(cast(kopf.RawBody, BODY))
    own = kopf.StatusDiffBaseStorage(field="status.kopf.last-handled-configuration").build(body=body)
    assert DIFFBASE.build(body=body) == own
    assert "status" not in own
    assert own["spec"] == BODY["spec"]


def test_an_annotation_diffbase_of_an_earlier_build_is_read() -> None:
    handled = {"spec": BODY["spec"]}
    legacy = json.loads(json.dumps(BODY))
    del legacy["status"]["kopf"]
    legacy["metadata"]["annotations"][f"{LEGACY_DIFFBASE.prefix}/last-handled-configuration"] = json.dumps(handled)
    assert DIFFBASE.fetch(body=kopf.Body(cast(kopf.RawBody, legacy))) == handled
    current = json.loads(json.dumps(BODY))
    current["status"]["kopf"]["last-handled-configuration"] = json.dumps({"spec": {"maxAgeSeconds": 1}})
    assert DIFFBASE.fetch(body=kopf.Body(cast(kopf.RawBody, current))) == {"spec": {"maxAgeSeconds": 1}}
