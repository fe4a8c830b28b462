"""A ReplicationSet's selection, naming and diff, without a cluster."""

from __future__ import annotations

import re
from typing import Any

import pytest

from influxdb_operator.api import v1alpha1
from influxdb_operator.reconcile import fan_out


def spec(**fields: Any) -> v1alpha1.ReplicationSetSpec:
    base: dict[str, Any] = {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "cloud"}}}
    return v1alpha1.ReplicationSetSpec.model_validate({**base, **fields})


def buckets(*names: str, labels: dict[str, set[str]] | None = None) -> tuple[fan_out.Bucket, ...]:
    return tuple(fan_out.Bucket(n, frozenset((labels or {}).get(n, set()))) for n in names)


EDGE = buckets("sensor-a", "sensor-b", "sensor-c", "logs", "_monitoring", "_tasks")


def test_a_pattern_selects_only_its_buckets_and_never_the_system_ones() -> None:
    s = spec(buckets={"pattern": "^sensor-"})
    todo = fan_out.plan("s", s, {"edge": EDGE}, [])
    assert todo.matched == 3
    assert sorted(c["localBucket"]["name"] for c in todo.create.values()) == ["sensor-a", "sensor-b", "sensor-c"]
    everything = fan_out.plan("s", spec(), {"edge": EDGE}, [])
    assert sorted(c["localBucket"]["name"] for c in everything.create.values()) == [
        "logs",
        "sensor-a",
        "sensor-b",
        "sensor-c",
    ]
    assert not fan_out.selects_bucket(v1alpha1.BucketSelector(), None, fan_out.Bucket("x", system=True))


def test_names_pattern_and_labels_must_all_hold() -> None:
    listed = buckets("sensor-a", "sensor-b", "logs", labels={"sensor-a": {"prod", "eu"}, "logs": {"prod"}})
    s = spec(buckets={"names": ["sensor-a", "sensor-b", "logs"], "pattern": "sensor", "labels": ["prod"]})
    todo = fan_out.plan("s", s, {"edge": listed}, [])
    assert [c["localBucket"]["name"] for c in todo.create.values()] == ["sensor-a"]


def test_a_child_holds_the_template_and_the_named_remote() -> None:
    s = spec(
        remote={"connectionRef": {"name": "cloud-{instance}"}},
        remoteBucketName="{instance}-{bucket}",
        template={"maxQueueSizeBytes": 134217728, "deletionPolicy": "Orphan"},
    )
    (child,) = fan_out.plan("s", s, {"edge": buckets("metrics")}, []).create.values()
    assert child["instanceRef"] == {"name": "edge"}
    assert child["remote"] == {"connectionRef": {"name": "cloud-edge"}}
    assert child["remoteBucket"] == {"name": "edge-metrics"}
    assert child["maxQueueSizeBytes"] == 134217728
    assert child["deletionPolicy"] == "Orphan"
    assert child["maxAgeSeconds"] == v1alpha1.DEFAULT_MAX_AGE_SECONDS
    assert "heartbeat" not in child


@pytest.mark.parametrize(
    ("set_name", "instance", "bucket"),
    [("s", "edge", "Temp_A"), ("s", "edge", "temp-a"), ("a" * 60, "edge", "b" * 200), ("s", "edge", "x.y z/é")],
)
def test_child_names_are_dns_labels_and_deterministic(set_name: str, instance: str, bucket: str) -> None:
    name = fan_out.child_name(set_name, instance, bucket)
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name), name
    assert len(name) <= fan_out.NAME_MAX
    assert name == fan_out.child_name(set_name, instance, bucket)


def test_names_that_read_alike_do_not_collide() -> None:
    names = {fan_out.child_name("s", "edge", b) for b in ("Temp_A", "temp-a", "temp_a", "TEMP-A")}
    assert len(names) == 4
    long = "b" * 100
    assert fan_out.child_name("s", "edge", long + "1") != fan_out.child_name("s", "edge", long + "2")
    # The instance is in a child's name: the same bucket on two edges, two children.
    assert fan_out.child_name("s", "e1", "m") != fan_out.child_name("s", "e2", "m")


def existing(s: v1alpha1.ReplicationSetSpec, instance: str, bucket: str, **edits: Any) -> fan_out.Child:
    name = fan_out.child_name("s", instance, bucket)
    return fan_out.Child(name, instance, {**fan_out.child_spec(s, instance, bucket), **edits})


def test_children_in_step_need_nothing() -> None:
    s = spec(buckets={"pattern": "^sensor-"})
    children = [existing(s, "edge", b) for b in ("sensor-a", "sensor-b", "sensor-c")]
    todo = fan_out.plan("s", s, {"edge": EDGE}, children)
    assert (todo.create, todo.reset, todo.remove, todo.matched) == ({}, {}, [], 3)


def test_a_new_bucket_gets_a_child_and_a_gone_one_loses_it() -> None:
    s = spec(buckets={"pattern": "^sensor-"})
    children = [existing(s, "edge", b) for b in ("sensor-a", "sensor-b", "sensor-c")]
    now = buckets("sensor-a", "sensor-b", "sensor-d")
    todo = fan_out.plan("s", s, {"edge": now}, children)
    assert [c["localBucket"]["name"] for c in todo.create.values()] == ["sensor-d"]
    assert todo.remove == [children[2].name]


def test_an_unlisted_instance_keeps_its_children_and_an_unselected_one_loses_them() -> None:
    s = spec(instanceRef=None, instanceSelector={"matchLabels": {"role": "edge"}})
    children = [existing(s, "e1", "m"), existing(s, "e2", "m")]
    todo = fan_out.plan("s", s, {"e1": None}, children)  # e1 selected, not listed yet; e2 no longer selected
    assert todo.remove == [children[1].name]
    assert todo.create == {}
    assert todo.matched == 1  # e1's child counts as last known


def test_a_hand_edit_is_set_back_and_a_key_the_template_lacks_removed() -> None:
    s = spec()
    heartbeat = {"interval": "30s", "measurement": "replication_heartbeat"}
    child = existing(s, "edge", "m", maxQueueSizeBytes=99999999, heartbeat=heartbeat)
    todo = fan_out.plan("s", s, {"edge": buckets("m")}, [child])
    assert todo.reset == {child.name: {"maxQueueSizeBytes": v1alpha1.DEFAULT_QUEUE_BYTES, "heartbeat": None}}


def test_a_child_being_deleted_is_neither_recreated_nor_removed_again() -> None:
    s = spec()
    child = existing(s, "edge", "m")
    gone = fan_out.Child(child.name, "edge", child.spec, deleting=True)
    todo = fan_out.plan("s", s, {"edge": ()}, [gone])
    assert (todo.create, todo.remove) == ({}, [])


@pytest.mark.parametrize(
    ("selector", "labels", "selected"),
    [
        ({"matchLabels": {"role": "edge"}}, {"role": "edge", "x": "y"}, True),
        ({"matchLabels": {"role": "edge"}}, {"role": "cloud"}, False),
        ({"matchExpressions": [{"key": "site", "operator": "In", "values": ["a", "b"]}]}, {"site": "b"}, True),
        ({"matchExpressions": [{"key": "site", "operator": "NotIn", "values": ["a"]}]}, {"site": "a"}, False),
        ({"matchExpressions": [{"key": "site", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "site", "operator": "DoesNotExist"}]}, {}, True),
        ({}, {"anything": "x"}, True),
    ],
)
def test_instance_selection_follows_kubernetes_label_selectors(
    selector: dict[str, Any], labels: dict[str, str], selected: bool
) -> None:
    assert fan_out.selects_instance(v1alpha1.LabelSelector.model_validate(selector), labels) is selected


def test_summary_counts_ready_children_and_names_the_others() -> None:
    s = spec()
    ok = fan_out.Child("a", "edge", fan_out.child_spec(s, "edge", "a"), ready=("True", "Available", ""))
    bad = fan_out.Child("b", "edge", fan_out.child_spec(s, "edge", "b"), ready=("False", "BucketNotFound", "gone"))
    new = fan_out.Child("c", "edge", fan_out.child_spec(s, "edge", "c"))
    waiting = fan_out.Child("0", "edge", fan_out.child_spec(s, "edge", "0"), ready=("False", "InstanceNotReady", ""))
    ready, stuck, problems = fan_out.summary([new, waiting, bad, ok])
    assert (ready, stuck) == (1, 1)
    # The stuck first: what the set's message names, and what a 20-long list keeps.
    assert [(p.name, p.reason) for p in problems] == [
        ("b", "BucketNotFound"),
        ("0", "InstanceNotReady"),
        ("c", "Pending"),
    ]
    assert fan_out.summary([new, waiting, bad, ok], limit=1).problems == problems[:1]


def test_switching_to_a_selector_that_picks_the_same_instance_keeps_every_child() -> None:
    one = spec(buckets={"pattern": "^sensor-"})
    children = [existing(one, "edge", b) for b in ("sensor-a", "sensor-b", "sensor-c")]
    fleet = spec(instanceRef=None, instanceSelector={"matchLabels": {"role": "edge"}}, buckets={"pattern": "^sensor-"})
    todo = fan_out.plan("s", fleet, {"edge": EDGE}, children)
    assert (todo.create, todo.reset, todo.remove) == ({}, {}, [])
