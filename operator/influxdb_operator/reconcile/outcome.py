"""How a reconcile ends, whoever ran it (a handler or the refresh).

A reconcile returns a `Result` or raises `Blocked`; `finish` turns either
into the minimal status patch (built through the kind's status model, so
only keys the CRD declares are written) and the Events to post. Events
follow changes of the Ready condition, not retries, so a resource stuck on
one problem does not flood its namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from ..api import v1alpha1
from ..influx import errors
from . import conditions
from .reasons import ALERTING, NEEDS_HUMAN, WAITING, Action, Reason


class Event(NamedTuple):
    type: Literal["Normal", "Warning"]
    reason: Reason | Action
    message: str


class Blocked(Exception):
    """A reconcile cannot finish for a reason the user can act on."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def from_influx(error: errors.InfluxError, *, doing: str) -> Blocked:
    """`error` in words fit for a condition (the client's messages hold no token)."""
    if isinstance(error, errors.TimedOut):
        return Blocked(Reason.TIMEOUT, f"{doing}: {error.message}")
    if isinstance(error, errors.Unreachable):
        return Blocked(Reason.UNREACHABLE, f"{doing}: {error.message}")
    if isinstance(error, errors.Unavailable):
        return Blocked(Reason.UNAVAILABLE, f"{doing}: {error.message}; retried")
    if isinstance(error, errors.Unauthorized):
        return Blocked(Reason.UNAUTHORIZED, f"{doing}: the token was rejected or lacks permission ({error.message})")
    if isinstance(error, errors.BadRequest | errors.Unprocessable):
        return Blocked(Reason.REJECTED, f"{doing}: InfluxDB rejected the request ({error.message})")
    return Blocked(Reason.INFLUXDB_ERROR, f"{doing}: {error.message}")


@dataclass
class Result:
    # The kind's status fields this reconcile sets; only fields given
    # explicitly (None included, to clear one) are written.
    status: v1alpha1.Status
    conditions: list[conditions.Condition]
    events: list[Event] = field(default_factory=list)
    # InfluxDB was changed (or first found matching): stamps lastSyncTime.
    synced: bool = False
    # False while paused: the spec was only compared, not acted on, so
    # observedGeneration stays (a change is applied, as such, once unpaused).
    applied: bool = True


def ready(
    message: str, *extra: conditions.Condition, not_synced: tuple[Reason, str] | None = None
) -> list[conditions.Condition]:
    """The conditions of a reconcile that left InfluxDB matching the spec, or
    (`not_synced`) that found the object but may not make it match."""
    synced = (
        conditions.Condition(v1alpha1.ConditionType.SYNCED, "False", *not_synced)
        if not_synced
        else conditions.Condition(v1alpha1.ConditionType.SYNCED, "True", Reason.RECONCILE_SUCCESS, "")
    )
    return [conditions.Condition(v1alpha1.ConditionType.READY, "True", Reason.AVAILABLE, message), synced, *extra]


def finish(
    model: type[v1alpha1.Status],
    old: dict[str, Any],
    outcome: Result | Blocked,
    *,
    generation: int | None,
    kept: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Event]]:
    """The status patch (empty when nothing changed) and the Events for
    `outcome`; `kept` is what a background task recorded (`conditions.carry`)."""
    before = conditions.get(old.get("conditions") or [], v1alpha1.ConditionType.READY) or {}
    events: list[Event] = []
    if isinstance(outcome, Blocked):
        updates = [
            conditions.Condition(v1alpha1.ConditionType.READY, "False", outcome.reason, outcome.message),
            conditions.Condition(v1alpha1.ConditionType.SYNCED, "False", outcome.reason, outcome.message),
        ]
        new: dict[str, Any] = {}
        changed = (before.get("reason"), before.get("message")) != (outcome.reason, outcome.message)
        if changed and outcome.reason not in WAITING:
            events.append(Event("Warning", outcome.reason, outcome.message))
        stuck = outcome.reason in NEEDS_HUMAN
        updates += _stalled(old, outcome.reason, outcome.message, stuck=stuck)
        if stuck and generation is not None:
            # This generation was looked at and needs a human: kstatus, which checks the
            # generation before Stalled, reads Failed (Flux stops waiting), not InProgress
            # for ever. Observed is not applied: `applied_generation` tells them apart.
            new["observedGeneration"] = generation
    else:
        # A kind that reports its own Ready=False (a ReplicationSet) is stuck by the same rule.
        ready = next((c for c in outcome.conditions if c.type is v1alpha1.ConditionType.READY), None)
        if ready is not None and ready.status == "False" and ready.reason in NEEDS_HUMAN:
            updates = outcome.conditions + _stalled(old, ready.reason, ready.message, stuck=True)
        else:
            updates = outcome.conditions + _stalled(old, Reason.AVAILABLE, "", stuck=False)
        new = outcome.status.model_dump(by_alias=True, exclude_unset=True)
        if outcome.applied:
            new["observedGeneration"] = generation
        if outcome.synced or not old.get("lastSyncTime"):
            new["lastSyncTime"] = conditions.now()
        events += outcome.events
        if before.get("status") == "False" and before.get("reason") not in WAITING:
            events.append(Event("Normal", Action.RECOVERED, f"ready again after {before.get('reason')}"))
    new["conditions"] = conditions.apply(old.get("conditions") or [], updates, generation=generation)
    new = conditions.carry(new, kept)
    events += _health_events(old.get("conditions") or [], new["conditions"])
    # Through the model, which forbids unknown keys: a key the CRD does not
    # declare fails here, in tests, rather than being pruned by Kubernetes.
    new = model.model_validate(new).model_dump(by_alias=True, exclude_unset=True)
    return conditions.status_patch(old, new), events


def applied_generation(status: Mapping[str, Any]) -> int | None:
    """The generation InfluxDB was last made to match: the observed one, unless
    the last reconcile ended stuck, which observes a generation without applying it."""
    stalled = conditions.get(status.get("conditions") or [], v1alpha1.ConditionType.STALLED) or {}
    return None if stalled.get("status") == "True" else status.get("observedGeneration")


def _stalled(old: Mapping[str, Any], reason: Reason, message: str, *, stuck: bool) -> list[conditions.Condition]:
    """`Stalled=True` while stuck (kstatus: Failed); once it was, False again
    when not (kstatus, crossplane: an abnormal-true condition may be absent or
    False). A resource never stuck gets no Stalled condition, so nothing is
    written to the many that never are."""
    if stuck:
        return [conditions.Condition(v1alpha1.ConditionType.STALLED, "True", reason, message)]
    if conditions.get(old.get("conditions") or [], v1alpha1.ConditionType.STALLED) is None:
        return []
    return [conditions.Condition(v1alpha1.ConditionType.STALLED, "False", reason, message)]


def _health_events(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Event]:
    """Warnings when an alerting data-plane state begins, once; Normal when it ends."""
    before = conditions.get(old, v1alpha1.ConditionType.HEALTHY) or {}
    after = conditions.get(new, v1alpha1.ConditionType.HEALTHY) or {}
    if after.get("reason") == before.get("reason"):
        return []
    if after.get("reason") in ALERTING:
        return [Event("Warning", Reason(after["reason"]), after.get("message", ""))]
    if before.get("reason") in ALERTING and after.get("status") == "True":
        return [Event("Normal", Action.HEALTHY_AGAIN, f"{after.get('message', '')} (after {before['reason']})")]
    return []
