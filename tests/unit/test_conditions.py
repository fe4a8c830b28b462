"""Conditions change only when something changed; patches hold only differences."""

from __future__ import annotations

from influxdb_operator.api.v1alpha1 import ConditionType
from influxdb_operator.reconcile import conditions
from influxdb_operator.reconcile.conditions import Condition
from influxdb_operator.reconcile.reasons import Reason


def test_new_condition_gets_a_transition_time() -> None:
    result = conditions.apply(
        [], [Condition(ConditionType.READY, "True", Reason.AVAILABLE, "ok")], generation=3, at="T1"
    )
    assert result == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Available",
            "message": "ok",
            "observedGeneration": 3,
            "lastTransitionTime": "T1",
        }
    ]


def test_same_status_keeps_the_transition_time() -> None:
    first = conditions.apply(
        [], [Condition(ConditionType.READY, "False", Reason.UNREACHABLE, "down")], generation=1, at="T1"
    )
    second = conditions.apply(
        first, [Condition(ConditionType.READY, "False", Reason.SECRET_NOT_FOUND, "x")], generation=1, at="T2"
    )
    assert second[0]["lastTransitionTime"] == "T1"
    assert second[0]["reason"] == "SecretNotFound"


def test_status_change_moves_the_transition_time() -> None:
    first = conditions.apply(
        [], [Condition(ConditionType.READY, "False", Reason.UNREACHABLE, "down")], generation=1, at="T1"
    )
    second = conditions.apply(
        first, [Condition(ConditionType.READY, "True", Reason.AVAILABLE, "up")], generation=1, at="T2"
    )
    assert second[0]["lastTransitionTime"] == "T2"


def test_identical_update_produces_no_patch() -> None:
    current = conditions.apply(
        [], [Condition(ConditionType.READY, "True", Reason.AVAILABLE, "ok")], generation=1, at="T1"
    )
    old = {"conditions": current, "id": "abc", "currentQueueSizeBytes": 5}
    new = {
        "conditions": conditions.apply(
            current, [Condition(ConditionType.READY, "True", Reason.AVAILABLE, "ok")], generation=1
        ),
        "id": "abc",
        "currentQueueSizeBytes": 5,
    }
    assert conditions.status_patch(old, new) == {}


def test_patch_holds_only_changed_fields_and_explicit_clears() -> None:
    old = {"id": "abc", "currentQueueSizeBytes": 5, "createPending": "r1", "other": 1}
    new = {"id": "abc", "currentQueueSizeBytes": 7, "createPending": None}
    assert conditions.status_patch(old, new) == {"currentQueueSizeBytes": 7, "createPending": None}


def test_a_null_inside_an_object_is_no_change_against_its_absence() -> None:
    # A merge patch's null removes the key: the stored status never holds it,
    # so comparing with it as a value would write the same figures every period.
    stored = {"dataPlane": {"fillRate": "0 B/s", "droppedBytes": 0}}
    same = {"dataPlane": {"fillRate": "0 B/s", "lag": None, "droppedBytes": 0}}
    assert conditions.status_patch(stored, same) == {}
    with_lag = {"dataPlane": {"fillRate": "0 B/s", "lag": "3s", "droppedBytes": 0}}
    assert conditions.status_patch(stored, with_lag) == with_lag
    assert conditions.status_patch(with_lag, same) == same
