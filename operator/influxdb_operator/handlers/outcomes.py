"""One way to finish a reconcile, whoever ran it: a handler or the refresh.

A reconcile yields a `Result` (status fields, conditions, events) or raises
`Blocked`. Both turn into a minimal status patch here, and into Events only
when the Ready condition changes, so a resource stuck on the same problem
does not flood the namespace with identical Events on every retry.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import kopf

from .. import config, metrics
from ..api import v1alpha1
from ..reconcile import conditions
from . import indexes
from .blocked import Blocked

Event = tuple[str, str, str]  # type, reason, message

logger = logging.getLogger(__name__)

# Reasons that only mean "a dependency created with me is still starting", as
# when a whole directory is applied at once: shown in the condition, but not
# worth a Warning (nor a Recovered) event.
WAITING = frozenset({"InstanceNotReady", "RemoteConnectionNotReady"})


@dataclass
class Result:
    fields: dict[str, Any]
    conditions: list[conditions.Condition]
    events: list[Event] = field(default_factory=list)
    # Whether InfluxDB was changed (or first found matching): stamps lastSyncTime.
    synced: bool = False


# One lock per object UID: handlers and the refresh never work on the same
# object at once. (One operator process acts at a time: a single replica,
# replaced with the Recreate strategy.)
_locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
# The InfluxDB ID this process last recorded per UID; fresher than any index.
known_ids: dict[str, str] = {}


def lock(uid: str) -> asyncio.Lock:
    return _locks[uid]


def forget(uid: str) -> None:
    _locks.pop(uid, None)
    known_ids.pop(uid, None)


def backoff(retry: int) -> float:
    """Exponential, from 2 s up to the configured cap."""
    return float(min(config.settings().max_backoff, 2 * 2 ** min(retry, 10)))


def recorded_id(uid: str, status: dict[str, Any]) -> str | None:
    return known_ids.get(uid) or status.get("id")


def success(old: dict[str, Any], result: Result, *, generation: int | None) -> tuple[dict[str, Any], list[Event]]:
    """The status patch and the events for a finished reconcile."""
    new = dict(result.fields)
    new["conditions"] = conditions.apply(old.get("conditions") or [], result.conditions, generation=generation)
    new["observedGeneration"] = generation
    if result.synced or not old.get("lastSyncTime"):
        new["lastSyncTime"] = conditions.now()
    patch = conditions.status_patch(old, new)
    events = list(result.events)
    before = conditions.get(old.get("conditions") or [], conditions.READY)
    if before is not None and before.get("status") == "False" and before.get("reason") not in WAITING:
        events.append(("Normal", "Recovered", f"ready again after {before.get('reason')}"))
    return patch, events


def failure(old: dict[str, Any], blocked: Blocked, *, generation: int | None) -> tuple[dict[str, Any], list[Event]]:
    """The status patch and the events for a reconcile that could not finish."""
    updates = [
        conditions.Condition(conditions.READY, "False", blocked.reason, blocked.message),
        conditions.Condition(conditions.SYNCED, "False", blocked.reason, blocked.message),
    ]
    new = {"conditions": conditions.apply(old.get("conditions") or [], updates, generation=generation)}
    patch = conditions.status_patch(old, new)
    before = conditions.get(old.get("conditions") or [], conditions.READY) or {}
    changed = (before.get("reason"), before.get("message")) != (blocked.reason, blocked.message)
    if not changed or blocked.reason in WAITING:
        return patch, []
    return patch, [("Warning", blocked.reason, blocked.message)]


def emit(obj: dict[str, Any], events: list[Event], *, kind: str) -> None:
    """Post events about `obj` (kopf queues and sends them in the background)."""
    if not events:
        return
    meta = obj["metadata"]
    ref: dict[str, Any] = {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": kind,
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
    }
    for type_, reason, message in events:
        kopf.event(kopf.Body(cast(kopf.RawBody, ref)), type=type_, reason=reason, message=message)


def _write(patch: kopf.Patch, status: dict[str, Any]) -> None:
    for key, value in status.items():
        patch.status[key] = value


def settled(obj: dict[str, Any]) -> bool:
    """Ready, with its ID recorded and its current spec applied: on resume
    such an object is left to the instance's refresh, which sees it in its
    listing, so a restart costs no InfluxDB call per object."""
    status = obj["status"]
    ready = conditions.get(status.get("conditions") or [], conditions.READY) or {}
    return (
        bool(status.get("id"))
        and not status.get("createPending")
        and status.get("observedGeneration") == obj["metadata"]["generation"]
        and ready.get("status") == "True"
    )


T = TypeVar("T")


async def _guarded(
    kind: str, obj: dict[str, Any], patch: kopf.Patch, retry: int, work: Callable[[dict[str, Any]], Awaitable[T]]
) -> T:
    """`work(obj)`, or, when it cannot finish, a condition, an event and a
    retry with backoff. Unexpected errors are shown too, not only logged."""
    try:
        return await work(obj)
    except Blocked as blocked:
        problem = blocked
    except Exception as error:
        logger.exception("%s %s/%s: unexpected error", kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
        problem = Blocked("ReconcileError", f"unexpected {type(error).__name__}: {str(error)[:300]}")
    status, events = failure(obj["status"], problem, generation=obj["metadata"]["generation"])
    _write(patch, status)
    emit(obj, events, kind=kind)
    metrics.reconciles.labels(kind, "blocked" if problem.reason != "ReconcileError" else "error").inc()
    raise kopf.TemporaryError(problem.message, delay=backoff(retry))


async def run_handler(
    kind: str,
    body: kopf.Body,
    patch: kopf.Patch,
    retry: int,
    work: Callable[[dict[str, Any]], Awaitable[Result]],
    *,
    reason: str,
) -> None:
    """Run a reconcile for a kopf handler: status into kopf's patch, events,
    metrics, and a retry with backoff when blocked."""
    obj = indexes.snapshot(body)
    if reason == "resume" and settled(obj):
        return
    started = time.monotonic()
    async with lock(obj["metadata"]["uid"]):
        try:
            result = await _guarded(kind, obj, patch, retry, work)
        finally:
            metrics.reconcile_seconds.labels(kind).observe(time.monotonic() - started)
    status, events = success(obj["status"], result, generation=obj["metadata"]["generation"])
    _write(patch, status)
    emit(obj, events, kind=kind)
    metrics.reconciles.labels(kind, "success").inc()


async def run_deletion(
    kind: str,
    body: kopf.Body,
    patch: kopf.Patch,
    retry: int,
    work: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """Run a deletion for a kopf handler; blocked means the finalizer stays."""
    obj = indexes.snapshot(body)
    async with lock(obj["metadata"]["uid"]):
        await _guarded(kind, obj, patch, retry, work)
    metrics.reconciles.labels(kind, "deleted").inc()
