"""What ten thousand objects hold alike is held once: the snapshots' keys and
short values, the listing's repeated IDs and pydantic's field sets."""

from __future__ import annotations

import json
from typing import Any

import kopf

from influxdb_operator import sharing
from influxdb_operator.handlers.indexes import snapshot
from influxdb_operator.influx import models
from influxdb_operator.influx.client import _parse_list


def body(name: str) -> kopf.Body:
    """A Replication as a watch event brings it: every string decoded anew."""
    raw = {
        "metadata": {"name": name, "namespace": "edge", "uid": f"uid-{name}", "generation": 1},
        "spec": {"instanceRef": {"name": "edge-1"}, "maxQueueSizeBytes": 67108860},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "Available", "message": "x" * 100}],
            "kopf": {"progress": {}},
        },
    }
    return kopf.Body(json.loads(json.dumps(raw)))


def test_snapshots_of_two_objects_share_keys_and_short_values_and_not_long_ones() -> None:
    one, two = snapshot(body("r1")), snapshot(body("r2"))
    assert body("r1")["spec"]["instanceRef"]["name"] is not body("r1")["spec"]["instanceRef"]["name"]  # decoded anew
    assert one["spec"]["instanceRef"]["name"] is two["spec"]["instanceRef"]["name"]
    (c1,), (c2,) = one["status"]["conditions"], two["status"]["conditions"]
    assert all(k1 is k2 for k1, k2 in zip(c1, c2, strict=True))  # the keys
    assert c1["reason"] is c2["reason"]
    assert c1["message"] == c2["message"]
    assert c1["message"] is not c2["message"]
    assert one == snapshot(body("r1"))
    assert "kopf" not in one["status"]


def test_the_table_forgets_all_when_full_and_what_was_shared_stays_as_it_was(monkeypatch: Any) -> None:
    monkeypatch.setattr(sharing, "_STRINGS", {})
    monkeypatch.setattr(sharing, "_MOST", 3)
    kept = sharing.share("".join(["a", "b"]))
    for text in ("c", "d"):
        sharing.share(text)
    assert len(sharing._STRINGS) == 3
    assert sharing.share("".join(["a", "b"])) is kept
    sharing.share("e")  # full: forgotten, then "e" kept
    assert sharing._STRINGS == {"e": "e"}
    assert kept == "ab"
    assert sharing.share("".join(["a", "b"])) is not kept


def listing(*names: str) -> dict[str, Any]:
    items = [
        {"id": f"{i:016x}", "orgID": "1234567890abcdef", "name": name, "remoteID": "0a1b2c3d4e5f6aaa"}
        | {"localBucketID": "0a1b2c3d4e5fbbbb", "maxQueueSizeBytes": 67108860}
        for i, name in enumerate(names)
    ]
    decoded: dict[str, Any] = json.loads(json.dumps({"replications": items}))
    return decoded


def test_listed_models_share_repeated_ids_and_their_field_set() -> None:
    first, second = _parse_list(listing("r1", "r2"), "replications", models.Replication)
    assert first.orgID is second.orgID
    assert first.id not in sharing._STRINGS  # each object's own: not tabled
    assert first.remoteID is second.remoteID
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    # A copy with changes gets its own set; the shared one is untouched.
    renamed = first.model_copy(update={"description": "new"})
    assert "description" in renamed.__pydantic_fields_set__
    assert "description" not in second.__pydantic_fields_set__
    # Models given other fields do not share it.
    (other,) = _parse_list(
        {"replications": [listing("r3")["replications"][0] | {"description": "d"}]}, "replications", models.Replication
    )
    assert other.__pydantic_fields_set__ == first.__pydantic_fields_set__ | {"description"}
