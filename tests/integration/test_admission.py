"""Bad manifests are refused by the API server itself, naming the field."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import manifests
from support.kubectl import Kubectl, KubectlError

ROOT = Path(__file__).resolve().parents[2]
NS = "admission"
ID = "0123456789abcdef"


replication = functools.partial(
    manifests.replication, "r", NS, instance="edge", local_bucket="metrics", connection="cloud", remote_bucket="metrics"
)
remote = functools.partial(
    manifests.remote, "c", NS, instance="edge", url="http://cloud:8086", org_id=ID, secret="cloud-token"
)
instance = functools.partial(
    manifests.instance, "edge", NS, url="http://edge:8086", org="edge-org", secret="edge-token"
)


def replication_set(**spec: Any) -> dict[str, Any]:
    return manifests.replication_set(
        "s", NS, **{"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "cloud"}}, **spec}
    )


def without(doc: dict[str, Any], *path: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return doc


# A case, its manifest, and what the refusal must say: the field, and a rule's message where a rule refuses it.
INVALID: list[tuple[str, dict[str, Any], str | tuple[str, ...]]] = [
    ("queue below InfluxDB's minimum", replication(maxQueueSizeBytes=1024), "spec.maxQueueSizeBytes"),
    ("queue negative", replication(maxQueueSizeBytes=-1), "spec.maxQueueSizeBytes"),
    ("age below a minute", replication(maxAgeSeconds=30), "maxAgeSeconds must be 0 or between 60 and 5184000"),
    ("age above two months", replication(maxAgeSeconds=5184001), "spec.maxAgeSeconds"),
    ("age negative", replication(maxAgeSeconds=-5), "spec.maxAgeSeconds"),
    (
        "local bucket name and id",
        replication(localBucket={"name": "m", "id": ID}),
        ("spec.localBucket", "exactly one of name or id must be set"),
    ),
    ("local bucket neither", replication(localBucket={}), "spec.localBucket"),
    ("local bucket id not hex", replication(localBucket={"id": "not-an-id"}), "spec.localBucket.id"),
    ("remote bucket name and id", replication(remoteBucket={"name": "m", "id": ID}), "spec.remoteBucket"),
    ("remote bucket neither", replication(remoteBucket={}), "spec.remoteBucket"),
    (
        "remote both",
        replication(remote={"connectionRef": {"name": "c"}, "id": ID}),
        ("spec.remote", "exactly one of connectionRef or id must be set"),
    ),
    ("remote neither", replication(remote={}), "spec.remote"),
    ("remote id too short", replication(remote={"id": "abc"}), "spec.remote.id"),
    ("deletion policy unknown", replication(deletionPolicy="Keep"), "spec.deletionPolicy"),
    ("observed id of a managed replication", replication(id=ID), "id is only for managementPolicy: Observe"),
    (
        "validation without the remote bucket's id",
        replication(validateBeforeCreate=True),
        "validateBeforeCreate needs remoteBucket.id",
    ),
    ("queue size not a number", replication(maxQueueSizeBytes="big"), "spec.maxQueueSizeBytes"),
    ("drop flag not a boolean", replication(dropNonRetryableData="yes"), "spec.dropNonRetryableData"),
    ("empty replication name", replication(name=""), "spec.name"),
    ("no instanceRef", without(replication(), "spec", "instanceRef"), "spec.instanceRef"),
    ("no localBucket", without(replication(), "spec", "localBucket"), "spec.localBucket"),
    ("no remoteBucket", without(replication(), "spec", "remoteBucket"), "spec.remoteBucket"),
    ("remote URL without scheme", remote(remoteURL="cloud.example.com:8086"), "spec.remoteURL"),
    (
        "remote URL ftp",
        remote(remoteURL="ftp://cloud.example.com"),
        ("spec.remoteURL", "must be an http:// or https://"),
    ),
    ("remote org id not hex", remote(remoteOrgID="cloud-org"), "spec.remoteOrgID"),
    (
        "remote without token",
        without(remote(), "spec", "remoteTokenSecretRef"),
        "exactly one of remoteTokenSecretRef or remoteInstanceRef must be set",
    ),
    (
        "remote with token and instance",
        remote(remoteInstanceRef={"name": "cloud"}),
        "exactly one of remoteTokenSecretRef or remoteInstanceRef must be set",
    ),
    (
        "minted remote with an org ID",
        without(remote(remoteInstanceRef={"name": "cloud"}), "spec", "remoteTokenSecretRef"),
        "remoteOrgID is the org of remoteInstanceRef",
    ),
    (
        "remote token without URL",
        without(remote(), "spec", "remoteURL"),
        "remoteURL is required with remoteTokenSecretRef",
    ),
    (
        "rotation of a user's token",
        remote(tokenRotation={"period": "24h"}),
        "tokenRotation needs remoteInstanceRef",
    ),
    ("rotation period not a duration", remote(tokenRotation={"period": "daily"}), "spec.tokenRotation.period"),
    ("remote deletion policy", remote(deletionPolicy="delete"), "spec.deletionPolicy"),
    ("observed id of a managed remote", remote(id=ID), "id is only for managementPolicy: Observe"),
    ("remote token secret nameless", remote(remoteTokenSecretRef={"key": "t"}), "spec.remoteTokenSecretRef.name"),
    ("instance URL scheme", instance(url="influxdb:8086"), ("spec.url", "must be an http:// or https:// URL")),
    ("instance org and orgID", instance(orgID=ID), "exactly one of org or orgID"),
    ("instance neither org", without(instance(), "spec", "org"), "exactly one of org or orgID"),
    ("instance resync period", instance(resyncPeriod="soon"), "spec.resyncPeriod"),
    ("instance token secret missing", without(instance(), "spec", "tokenSecretRef"), "spec.tokenSecretRef"),
    ("set with instance and selector", replication_set(instanceSelector={"matchLabels": {"a": "b"}}), "exactly one of"),
    ("set with neither instance", without(replication_set(), "spec", "instanceRef"), "exactly one of"),
    ("set pattern not a regex", replication_set(buckets={"pattern": "("}), "must be a regular expression"),
]


@pytest.fixture(scope="module")
def admission(kubectl: Kubectl, crds: None) -> Kubectl:
    if kubectl.get("namespace", NS) is None:
        kubectl("create", "namespace", NS)
    return kubectl.in_namespace(NS)


@pytest.mark.parametrize(("case", "doc", "names"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_manifest_is_rejected(
    admission: Kubectl, case: str, doc: dict[str, Any], names: str | tuple[str, ...]
) -> None:
    with pytest.raises(KubectlError) as rejected:
        admission.apply(doc)
    for text in (names,) if isinstance(names, str) else names:
        assert text in rejected.value.stderr, rejected.value.stderr
    assert admission.get(doc["kind"].lower(), doc["metadata"]["name"]) is None


def test_the_cases_start_from_manifests_the_server_accepts(admission: Kubectl) -> None:
    # Else a case would be refused for the base's fault, not for what it changed.
    for doc in (replication(), remote(), instance()):
        admission("apply", "--dry-run=server", "-f", "-", input=json.dumps(doc))


def _rules(schema: Any) -> list[str]:
    """The messages of every CEL rule in a CRD's schema."""
    if isinstance(schema, list):
        return [message for item in schema for message in _rules(item)]
    if not isinstance(schema, dict):
        return []
    own = [rule["message"] for rule in schema.get("x-kubernetes-validations", [])]
    return own + [message for value in schema.values() for message in _rules(value)]


def test_every_rule_of_the_crds_is_shown_refusing() -> None:
    expected = [text for *_, names in INVALID for text in ((names,) if isinstance(names, str) else names)]
    expected += [message for *_, message in IMMUTABLE]
    rules = {
        message
        for path in sorted((ROOT / "crds").glob("*.yaml"))
        for message in _rules(yaml.safe_load(path.read_text()))
    }
    assert rules, "no rules found in crds/"
    untested = {message for message in rules if not any(message.startswith(text) for text in expected)}
    assert untested == set(), f"rules no case here shows refusing: {sorted(untested)}"


def test_defaults_are_applied(admission: Kubectl) -> None:
    doc = replication()
    out = admission("apply", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(doc))
    spec = json.loads(out)["spec"]
    assert spec["maxQueueSizeBytes"] == 67108860
    assert spec["maxAgeSeconds"] == 604800
    assert spec["dropNonRetryableData"] is False
    assert spec["deletionPolicy"] == "Delete"


def test_a_minted_remote_needs_neither_url_nor_org(admission: Kubectl) -> None:
    doc = remote(remoteInstanceRef={"name": "cloud"}, tokenRotation={"period": "720h"})
    for key in ("remoteURL", "remoteOrgID", "remoteTokenSecretRef"):
        del doc["spec"][key]
    out = admission("apply", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(doc))
    assert json.loads(out)["spec"]["remoteInstanceRef"] == {"name": "cloud"}


# kind, manifest, a change, the status that makes the field immutable, the refusal.
IMMUTABLE = [
    ("replication", replication(), {"instanceRef": {"name": "other"}}, {"id": ID}, "instanceRef is immutable"),
    ("replication", replication(), {"localBucket": {"name": "other"}}, {"id": ID}, "localBucket is immutable"),
    ("remoteconnection", remote(), {"instanceRef": {"name": "other"}}, {"id": ID}, "instanceRef is immutable"),
    ("influxdbinstance", instance(), {"org": "other-org"}, {"orgID": ID}, "org is immutable"),
    (
        "influxdbinstance",
        without(instance(orgID=ID), "spec", "org"),
        {"orgID": "fedcba9876543210"},
        {"orgID": ID},
        "orgID is immutable",
    ),
]


def _set_status(admission: Kubectl, kind: str, name: str, status: dict[str, Any]) -> None:
    """What the operator does once the object exists: a write to the status subresource."""
    admission("patch", kind, name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))


@pytest.mark.parametrize(
    ("kind", "doc", "change", "status", "message"),
    IMMUTABLE,
    ids=[f"{c[0]}-{c[4]}-{next(iter(c[3]))}" for c in IMMUTABLE],
)
def test_field_is_mutable_until_the_object_exists_then_immutable(
    admission: Kubectl,
    kind: str,
    doc: dict[str, Any],
    change: dict[str, Any],
    status: dict[str, Any],
    message: str,
) -> None:
    doc = copy.deepcopy(doc)
    name = doc["metadata"]["name"] = f"immutable-{abs(hash((message, *status))) % 100000}"
    admission.apply(doc)
    try:
        # Nothing exists in InfluxDB yet: a typo is fixed in place.
        fixed = copy.deepcopy(doc)
        fixed["spec"].update(change)
        admission.apply(fixed)
        assert all(admission.get(kind, name)["spec"][k] == v for k, v in change.items())  # type: ignore[index]
        admission.apply(doc)  # and back

        _set_status(admission, kind, name, status)
        # The status write itself, and other spec changes, still pass the rule.
        _set_status(admission, kind, name, {"lastSyncTime": "2026-01-01T00:00:00Z"})
        admission("annotate", kind, name, "example/touched=yes")
        with pytest.raises(KubectlError) as rejected:
            admission.apply(fixed)
        assert message in rejected.value.stderr, rejected.value.stderr
        assert f"spec.{next(iter(change))}" in rejected.value.stderr, rejected.value.stderr
        stored = admission.get(kind, name)
        assert stored is not None
        assert all(stored["spec"][key] == value for key, value in doc["spec"].items())
        assert stored["status"] | status == stored["status"]
    finally:
        admission("delete", kind, name, "--wait=false")
