"""`kubectl influxdb status` names the leading operator Pod from its Lease."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from influxdb_operator.api import v1alpha1
from influxdb_operator.kubectl import leaders

NOW = datetime(2026, 12, 6, 0, 0, 10, tzinfo=UTC)


def lease(name: str, holder: str, watches: str | None, renewed: str = "2026-12-06T00:00:07.500000Z") -> dict[str, Any]:
    annotations = {v1alpha1.LEASE_WATCHES: watches} if watches is not None else {}
    return {
        "metadata": {"name": name, "namespace": "ops", "annotations": annotations},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": renewed},
    }


def test_the_leader_pod_without_its_suffix_for_a_covered_namespace() -> None:
    found = leaders.lines([lease("op", "op-7d9f-abcde_1a2b3c4d", "edge-*,cloud")], "edge-7", NOW)
    assert found == ["operator: leader op-7d9f-abcde (Lease ops/op, renewed 2s ago)"]


def test_an_operator_that_does_not_watch_the_namespace_is_not_named() -> None:
    assert leaders.lines([lease("op", "op-x_1", "edge-*")], "default", NOW) == []
    # No annotation (or "*"): all namespaces; -A (None) shows every operator.
    assert len(leaders.lines([lease("a", "a_1", None), lease("b", "b_1", "edge-*")], None, NOW)) == 2


def test_a_released_or_expired_lease_says_so() -> None:
    released = leaders.lines([lease("op", "", "*")], "x", NOW)
    assert released == ["operator: no leader (Lease ops/op released)"]
    stale = leaders.lines([lease("op", "op-x_1", "*", renewed="2026-12-05T23:59:00.000000Z")], "x", NOW)
    assert stale == ["operator: leader op-x (Lease ops/op, renewed 70s ago, expired)"]
