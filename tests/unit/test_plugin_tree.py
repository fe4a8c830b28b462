"""The plugin's pure parts: the status tree from listed objects, and when a
validate request counts as answered."""

from __future__ import annotations

from typing import Any

import pytest

from influxdb_operator.kubectl import cli, tree
from influxdb_operator.kubectl.api_calls import PluginError, kind_of


def obj(kind: str, name: str, spec: dict[str, Any], *conds: tuple[str, str, str], **extra: Any) -> dict[str, Any]:
    conditions = [{"type": t, "status": s, "reason": r, "message": f"{r} message"} for t, s, r in conds]
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": "ns", **extra.pop("metadata", {})},
        "spec": spec,
        "status": {"conditions": conditions, **extra},
    }


READY = ("Ready", "True", "Available")


def test_orphans_hang_from_stand_ins_and_count_as_unhealthy() -> None:
    replications = [
        obj(
            "Replication",
            "by-id",
            {"instanceRef": {"name": "edge"}, "remote": {"id": "0123456789abcdef"}, "localBucket": {"name": "m"}},
            READY,
            ("Healthy", "Unknown", "NoWritesYet"),
        ),
        obj(
            "Replication",
            "lost",
            {"instanceRef": {"name": "gone"}, "remote": {"connectionRef": {"name": "nowhere"}}},
        ),
    ]
    instances = [obj("InfluxDBInstance", "edge", {"url": "http://e", "orgID": "0123456789abcdef"}, READY)]
    lines, unhealthy = tree.render(tree.build(instances, [], replications))
    assert lines == [
        "namespace ns",
        "InfluxDBInstance edge  ✔ Ready  http://e orgID 0123456789abcdef",
        "└─ Replication by-id  ✔ NoWritesYet  m → ? via remote 0123456789abcdef",
        "InfluxDBInstance gone  ✘ missing: referenced but does not exist",
        "└─ RemoteConnection nowhere  ✘ missing: referenced but does not exist",
        "   └─ Replication lost  ✘ Pending  ? → ?: the operator has not reported on it yet",
    ]
    assert unhealthy == 3


def test_a_ready_but_unhealthy_replication_shows_its_health_and_figures() -> None:
    replication = obj(
        "Replication",
        "r",
        {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "c"}}},
        READY,
        ("Healthy", "False", "QueueFillingUp"),
        currentQueueSizeBytes=2048,
        remainingBytesToBeSynced=1024,
        dataPlane={"queueFullIn": "12m", "lag": "3s"},
        metadata={"annotations": {"influxdb.replication.dev/paused": "true"}},
    )
    shown = tree.verdict(replication)
    assert shown == tree.Verdict(False, "QueueFillingUp", "QueueFillingUp message")
    assert tree.figures(replication) == ["queue 2 KiB", "to sync 1 KiB", "full in 12m", "lag 3s"]
    lines, _ = tree.render(tree.build([], [], [replication]), lambda text, style: f"<{style}>{text}</>")
    assert "<bad>✘ QueueFillingUp</>  <warn>paused</>" in lines[-1]


def test_validate_answered_once_status_records_a_result_for_the_value() -> None:
    value = "2026-01-01T10:00:00.123456Z"
    validated = ("Validated", "True", "StreamWorks")
    assert cli.answered(obj("Replication", "r", {}, READY), value) is None
    earlier = obj("Replication", "r", {}, validated, validation={"requested": "before", "result": "Succeeded"})
    assert cli.answered(earlier, value) is None
    running = obj("Replication", "r", {}, validated, validation={"requested": value, "result": "Validating"})
    assert cli.answered(running, value) is None
    done = obj("Replication", "r", {}, validated, validation={"requested": value, "result": "Succeeded"})
    assert cli.answered(done, value) == done["status"]["conditions"][0]


def test_kinds_as_kubectl_names_them() -> None:
    assert kind_of("IREP").plural == "replications"
    assert kind_of("remoteconnections").plural == "remoteconnections"
    assert kind_of("idbi").plural == "influxdbinstances"
    with pytest.raises(PluginError, match="unknown kind 'bucket'"):
        kind_of("bucket")


def test_a_set_folds_its_healthy_children_and_shows_the_others() -> None:
    spec = {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "c"}}, "localBucket": {"name": "b"}}
    label = {"influxdb.replication.dev/replication-set": "sensors"}
    owner = {"kind": "ReplicationSet", "name": "sensors", "controller": True}
    labels = {"metadata": {"labels": label, "ownerReferences": [owner]}}
    healthy = [
        obj("Replication", f"ok{i}", spec, READY, ("Healthy", "True", "Replicating"), **labels) for i in range(3)
    ]
    broken = obj("Replication", "bad", spec, ("Ready", "False", "BucketNotFound"), **labels)
    # Labelled by hand, not the set's: shown as any Replication.
    alone = obj("Replication", "alone", spec, READY, metadata={"labels": label})
    sets = [
        obj("ReplicationSet", "sensors", {}, ("Ready", "False", "ChildrenNotReady")),
        obj("ReplicationSet", "empty", {}, READY),
    ]
    instances = [obj("InfluxDBInstance", "edge", {"url": "http://e", "org": "o"}, READY)]
    remotes = [obj("RemoteConnection", "c", {"instanceRef": {"name": "edge"}, "remoteURL": "http://c"}, READY)]
    lines, unhealthy = tree.render(tree.build(instances, remotes, [*healthy, broken, alone], sets))
    assert lines == [
        "namespace ns",
        "InfluxDBInstance edge  ✔ Ready  http://e org 'o'",
        "└─ RemoteConnection c  ✔ Ready  http://c",
        "   ├─ Replication alone  ✔ Ready  b → ?",
        "   └─ ReplicationSet sensors  ✘ ChildrenNotReady  3 of 4 children healthy here: ChildrenNotReady message",
        "      └─ Replication bad  ✘ BucketNotFound  b → ?: BucketNotFound message",
        "ReplicationSet empty  ✔ Ready  no children",
    ]
    assert unhealthy == 2
