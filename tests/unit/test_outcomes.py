"""Status patches and events from reconcile outcomes: quiet when nothing changed."""

from __future__ import annotations

from influxdb_operator.handlers import outcomes
from influxdb_operator.handlers.blocked import Blocked
from influxdb_operator.reconcile.conditions import Condition


def _apply(status: dict[str, object], patch: dict[str, object]) -> dict[str, object]:
    return {**status, **patch}


def test_a_repeated_failure_writes_and_announces_once() -> None:
    blocked = Blocked("SecretNotFound", "Secret ns/x does not exist")
    patch, events = outcomes.failure({}, blocked, generation=1)
    assert [e[:2] for e in events] == [("Warning", "SecretNotFound")]
    status = _apply({}, patch)
    again, events_again = outcomes.failure(status, blocked, generation=1)
    assert again == {}
    assert events_again == []
    other, events_other = outcomes.failure(status, Blocked("SecretKeyNotFound", "no key"), generation=1)
    assert other
    assert [e[1] for e in events_other] == ["SecretKeyNotFound"]


def test_success_after_failure_recovers_once_and_then_is_silent() -> None:
    status = _apply({}, outcomes.failure({}, Blocked("Unreachable", "down"), generation=2)[0])
    result = outcomes.Result(
        fields={"id": "abc"},
        conditions=[Condition("Ready", "True", "Available", "ok"), Condition("Synced", "True", "ReconcileSuccess")],
    )
    patch, events = outcomes.success(status, result, generation=2)
    assert [e[1] for e in events] == ["Recovered"]
    assert patch["id"] == "abc"
    status = _apply(status, patch)
    patch_again, events_again = outcomes.success(status, result, generation=2)
    assert patch_again == {}
    assert events_again == []


def test_backoff_grows_to_the_cap() -> None:
    delays = [outcomes.backoff(retry) for retry in range(12)]
    assert delays[0] == 2
    assert delays == sorted(delays)
    assert max(delays) == 60


def test_waiting_for_a_dependency_that_is_starting_makes_no_events() -> None:
    patch, events = outcomes.failure({}, Blocked("InstanceNotReady", "instance starting"), generation=1)
    assert patch
    assert events == []
    result = outcomes.Result(fields={}, conditions=[Condition("Ready", "True", "Available", "ok")])
    assert outcomes.success(_apply({}, patch), result, generation=1)[1] == []
