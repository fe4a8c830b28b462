"""How reconciles end: quiet status patches and Events, only CRD keys written."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pytest

from influxdb_operator.api import crds, v1alpha1
from influxdb_operator.api.v1alpha1 import ConditionType
from influxdb_operator.config import Settings
from influxdb_operator.reconcile.conditions import Condition
from influxdb_operator.reconcile.outcome import Blocked, Result, applied_generation, finish, ready
from influxdb_operator.reconcile.reasons import NEEDS_HUMAN, RETRIED, STARTING, Action, Reason
from influxdb_operator.state.runtime import Runtime

STATUS = v1alpha1.ReplicationStatus


def _apply(status: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    return {**status, **patch}


def test_a_repeated_failure_writes_and_announces_once() -> None:
    blocked = Blocked(Reason.SECRET_NOT_FOUND, "Secret ns/x does not exist")
    patch, events = finish(STATUS, {}, blocked, generation=1)
    assert [e[:2] for e in events] == [("Warning", "SecretNotFound")]
    status = _apply({}, patch)
    assert finish(STATUS, status, blocked, generation=1) == ({}, [])
    other, events_other = finish(STATUS, status, Blocked(Reason.SECRET_KEY_NOT_FOUND, "no key"), generation=1)
    assert other
    assert [e.reason for e in events_other] == [Reason.SECRET_KEY_NOT_FOUND]


def test_success_after_failure_recovers_once_and_then_is_silent() -> None:
    status = _apply({}, finish(STATUS, {}, Blocked(Reason.UNREACHABLE, "down"), generation=2)[0])
    result = Result(status=STATUS(id="abc"), conditions=ready("ok"))
    patch, events = finish(STATUS, status, result, generation=2)
    assert [e.reason for e in events] == [Action.RECOVERED]
    assert patch["id"] == "abc"
    assert finish(STATUS, _apply(status, patch), result, generation=2) == ({}, [])


def test_waiting_for_a_dependency_that_is_starting_makes_no_events() -> None:
    patch, events = finish(STATUS, {}, Blocked(Reason.INSTANCE_NOT_READY, "instance starting"), generation=1)
    assert patch
    assert events == []
    result = Result(status=STATUS(), conditions=ready("ok"))
    assert finish(STATUS, _apply({}, patch), result, generation=1)[1] == []


def test_explicit_none_clears_a_field_and_unset_fields_are_left_alone() -> None:
    old = {"createPending": "r", "remoteID": "2" * 16}
    patch, _ = finish(STATUS, old, Result(status=STATUS(id="a", create_pending=None), conditions=[]), generation=1)
    assert patch["createPending"] is None
    assert "remoteID" not in patch


def test_a_status_key_the_crd_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="extra"):
        STATUS.model_validate({"notInTheCRD": 1})


@pytest.mark.parametrize("kind", crds.KINDS, ids=lambda k: k.kind)
def test_every_key_written_is_in_the_crd_schema(kind: crds.Kind) -> None:
    schema = crds.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert issubclass(kind.status, v1alpha1.Status)
    every_field = {f: None for f in kind.status.model_fields}
    full = kind.status.model_validate({})
    full = full.model_copy(update=every_field)
    result = Result(status=full, conditions=ready("ok"))
    patch, _ = finish(kind.status, {}, result, generation=1)
    failed, _ = finish(kind.status, {}, Blocked(Reason.UNREACHABLE, "down"), generation=1)
    written = set(patch) | set(failed)
    assert written <= set(schema["properties"]), written - set(schema["properties"])
    assert {"conditions", "observedGeneration", "lastSyncTime"} <= written
    condition_keys = {key for c in patch["conditions"] for key in c}
    assert condition_keys <= set(schema["properties"]["conditions"]["items"]["properties"])


def test_backoff_grows_to_the_cap() -> None:
    rt = Runtime(Settings(max_backoff=60), write_status=_never, post_events=lambda *_: None)
    delays = [rt.backoff(retry) for retry in range(12)]
    assert delays[0] == 2
    assert delays == sorted(delays)
    assert max(delays) == 60


async def _never(*_: Any) -> None:
    raise AssertionError("not expected to write")


def test_a_data_plane_alert_is_announced_once_and_its_end_too() -> None:
    def healthy(reason: Reason, status: Literal["True", "False"] = "False") -> Result:
        return Result(
            status=STATUS(), conditions=ready("ok", Condition(ConditionType.HEALTHY, status, reason, "details"))
        )

    status: dict[str, Any] = {}
    seen = []
    for reason, state in [
        (Reason.REPLICATING, "True"),
        (Reason.STALLED, "False"),
        (Reason.STALLED, "False"),  # still stalled: no second Warning
        (Reason.DATA_LOST, "False"),
        (Reason.REPLICATING, "True"),
        (Reason.QUEUE_NEARLY_FULL, "False"),  # shown in the condition only
    ]:
        patch, events = finish(STATUS, status, healthy(reason, state), generation=1)  # type: ignore[arg-type]
        status = _apply(status, patch)
        seen.append([(e.type, e.reason) for e in events])
    assert seen == [
        [],
        [("Warning", Reason.STALLED)],
        [],
        [("Warning", Reason.DATA_LOST)],
        [("Normal", Action.HEALTHY_AGAIN)],
        [],
    ]


VALIDATED = {
    "type": "Validated",
    "status": "False",
    "reason": "RemoteValidationFailed",
    "message": "validate 'v1': the stream does not work: 401",
    "observedGeneration": 1,
    "lastTransitionTime": "T-validated",
}
KEPT = {"validation": {"requested": "v1", "result": "Failed", "time": "T-validated"}, "conditions": [VALIDATED]}


@pytest.mark.parametrize(
    "outcome",
    [
        Result(status=STATUS(id="abc"), conditions=ready("ok")),
        Blocked(Reason.UNREACHABLE, "down"),
    ],
    ids=["ready", "blocked"],
)
def test_a_validate_result_survives_a_reconcile_from_an_older_snapshot(outcome: Result | Blocked) -> None:
    # The snapshot predates the validate's write: the reconcile writes the kept result along, time and all.
    patch, _ = finish(STATUS, {}, outcome, generation=1, kept=KEPT)
    assert patch["validation"] == KEPT["validation"]
    assert [c for c in patch["conditions"] if c["type"] == "Validated"] == [VALIDATED]
    # A snapshot that has it: nothing about it is rewritten.
    current = _apply({}, patch)
    again, _ = finish(STATUS, current, outcome, generation=1, kept=KEPT)
    assert again == {}


def test_a_snapshot_without_a_kept_result_keeps_its_own_validated_condition() -> None:
    # After a restart nothing is kept: the condition status shows is left as it is.
    status = {"conditions": [VALIDATED], "validation": KEPT["validation"]}
    patch, _ = finish(STATUS, status, Result(status=STATUS(id="abc"), conditions=ready("ok")), generation=1)
    assert "validation" not in patch
    assert [c for c in patch["conditions"] if c["type"] == "Validated"] == [VALIDATED]


def test_a_paused_result_leaves_observed_generation_where_it_was() -> None:
    status = _apply({}, finish(STATUS, {}, Result(status=STATUS(id="abc"), conditions=ready("ok")), generation=1)[0])
    paused = Result(
        status=STATUS(id="abc"), conditions=ready("found", not_synced=(Reason.PAUSED, "paused")), applied=False
    )
    patch, _ = finish(STATUS, status, paused, generation=2)
    assert "observedGeneration" not in patch
    assert [c["reason"] for c in patch["conditions"] if c["type"] == "Synced"] == ["Paused"]


def _types(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions", [])}


def test_a_problem_retrying_cannot_fix_is_stalled_until_it_is_gone() -> None:
    stuck = _apply({}, finish(STATUS, {}, Blocked(Reason.BUCKET_NOT_FOUND, "no bucket b"), generation=1)[0])
    assert _types(stuck)[ConditionType.STALLED] == ("True", "BucketNotFound")
    # Stuck on something else that retrying may fix: no longer stalled.
    moving = _apply(stuck, finish(STATUS, stuck, Blocked(Reason.UNREACHABLE, "down"), generation=1)[0])
    assert _types(moving)[ConditionType.STALLED] == ("False", "Unreachable")
    done = _apply(moving, finish(STATUS, moving, Result(status=STATUS(), conditions=ready("ok")), generation=1)[0])
    assert _types(done)[ConditionType.STALLED] == ("False", "Available")
    assert finish(STATUS, done, Result(status=STATUS(), conditions=ready("ok")), generation=1) == ({}, [])


def test_a_resource_never_stalled_gets_no_stalled_condition() -> None:
    waiting = _apply({}, finish(STATUS, {}, Blocked(Reason.INSTANCE_NOT_READY, "starting"), generation=1)[0])
    done = _apply(waiting, finish(STATUS, waiting, Result(status=STATUS(), conditions=ready("ok")), generation=1)[0])
    assert ConditionType.STALLED not in _types(waiting) | _types(done)


def test_a_problem_is_at_most_one_of_stalled_starting_or_retried() -> None:
    classes = (NEEDS_HUMAN, STARTING, RETRIED)
    assert sum(len(c) for c in classes) == len(NEEDS_HUMAN | STARTING | RETRIED)
    # Every way a reconcile turns InfluxDB's answer into a problem is classified.
    assert {Reason.UNREACHABLE, Reason.TIMEOUT, Reason.UNAVAILABLE, Reason.UNAUTHORIZED, Reason.REJECTED} <= (
        NEEDS_HUMAN | STARTING | RETRIED
    )
    assert Reason.AVAILABLE not in NEEDS_HUMAN | STARTING | RETRIED


def test_a_result_that_reports_its_own_stuck_ready_is_stalled_too() -> None:
    """A ReplicationSet says Ready=False itself (a child's name taken): the same rule."""
    taken = [
        Condition(ConditionType.READY, "False", Reason.CHILD_NAME_TAKEN, "names held"),
        Condition(ConditionType.SYNCED, "True", Reason.RECONCILE_SUCCESS, ""),
    ]
    stuck = _apply({}, finish(STATUS, {}, Result(status=STATUS(), conditions=taken), generation=1)[0])
    assert _types(stuck)[ConditionType.STALLED] == ("True", "ChildNameTaken")
    waiting = [dataclasses.replace(taken[0], reason=Reason.CHILDREN_NOT_READY), taken[1]]
    moving = _apply(stuck, finish(STATUS, stuck, Result(status=STATUS(), conditions=waiting), generation=1)[0])
    assert _types(moving)[ConditionType.STALLED] == ("False", "Available")


def test_a_stuck_generation_is_observed_but_not_applied() -> None:
    """kstatus checks observedGeneration before Stalled: an object stuck for a
    human's reason, new or edited, must read Failed, so its generation is recorded;
    one merely waiting keeps what it had (InProgress). `applied_generation` still
    says the stuck spec was not applied: the driver reads a change, not drift,
    and an instance looks its org up again."""
    stuck = finish(STATUS, {"observedGeneration": 0}, Blocked(Reason.BUCKET_NOT_FOUND, "no bucket b"), generation=1)
    assert stuck[0]["observedGeneration"] == 1
    waiting = finish(STATUS, {"observedGeneration": 0}, Blocked(Reason.INSTANCE_NOT_READY, "starting"), generation=1)
    assert "observedGeneration" not in waiting[0]
    applied = _apply({}, finish(STATUS, {}, Result(status=STATUS(), conditions=ready("ok")), generation=1)[0])
    assert applied_generation(applied) == 1
    later = _apply(applied, finish(STATUS, applied, Blocked(Reason.BUCKET_NOT_FOUND, "no bucket c"), generation=2)[0])
    assert later["observedGeneration"] == 2
    assert applied_generation(later) is None
    fixed = _apply(later, finish(STATUS, later, Result(status=STATUS(), conditions=ready("ok")), generation=2)[0])
    assert applied_generation(fixed) == 2
