"""The plugin's machine-readable status and its kubectl-style options."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from influxdb_operator.kubectl import cli, report, tree

READY = ("Ready", "True", "Available")


def obj(kind: str, name: str, spec: dict[str, Any], *conds: tuple[str, str, str], **extra: Any) -> dict[str, Any]:
    conditions = [{"type": t, "status": s, "reason": r, "message": f"{r} message"} for t, s, r in conds]
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": "ns", **extra.pop("metadata", {})},
        "spec": spec,
        "status": {"conditions": conditions, **extra},
    }


def test_the_report_lists_the_tree_in_order_with_parents_and_stand_ins() -> None:
    instance = obj("InfluxDBInstance", "edge", {"url": "http://e", "org": "o"}, READY, id="0" * 16)
    remote = obj("RemoteConnection", "cloud", {"instanceRef": {"name": "edge"}}, READY)
    stream = obj(
        "Replication",
        "s",
        {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "cloud"}}},
        READY,
        ("Healthy", "False", "RemoteError"),
        currentQueueSizeBytes=10,
        metadata={"annotations": {"influxdb.replication.dev/paused": "true"}},
    )
    lost = obj("Replication", "lost", {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "gone"}}})
    data = report.build(tree.build([instance], [remote], [stream, lost]))
    assert data["healthy"] is False
    shown = [(i["kind"], i["name"], i["instance"], i["remoteConnection"], i["reason"]) for i in data["items"]]
    assert shown == [
        ("InfluxDBInstance", "edge", None, None, "Ready"),
        ("RemoteConnection", "cloud", "edge", None, "Ready"),
        ("Replication", "s", "edge", "cloud", "RemoteError"),
        ("RemoteConnection", "gone", "edge", None, "Missing"),
        ("Replication", "lost", "edge", "gone", "Pending"),
    ]
    s = data["items"][2]
    assert (s["paused"], s["currentQueueSizeBytes"], s["message"]) == (True, 10, "RemoteError message")
    assert data["items"][3]["exists"] is False
    assert report.build(tree.build([instance], [], []))["healthy"] is True


@pytest.mark.parametrize(
    ("given", "seconds"), [("30", 30), ("30s", 30), ("1m30s", 90), ("2h", 7200), ("500ms", 0.5), ("0", None)]
)
def test_request_timeout_takes_kubectls_durations(given: str, seconds: float | None) -> None:
    assert cli._duration(given) == seconds


@pytest.mark.parametrize("given", ["", "soon", "1x", "-1s", "s"])
def test_a_bad_request_timeout_is_refused(given: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli._duration(given)
