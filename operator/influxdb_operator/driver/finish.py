"""The one way a reconcile ends, for handlers and the refresh alike: the
outcome (a `Result`, `Blocked`, or an unexpected error shown as
`ReconcileError`) becomes a status patch, Events and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .. import metrics
from ..api import v1alpha1
from ..reconcile import conditions
from ..reconcile.outcome import Blocked, Result, finish
from ..reconcile.reasons import Reason
from ..state.runtime import Runtime
from ..state.world import Obj

logger = logging.getLogger(__name__)

Write = Callable[[dict[str, Any]], Awaitable[None]]


async def settle(
    rt: Runtime,
    kind: str,
    model: type[v1alpha1.Status],
    obj: Obj,
    work: Callable[[], Awaitable[Result | None]],
    write: Write,
) -> Blocked | None:
    """Run `work` for `obj` and record how it ended; the caller holds the
    object's lock. None from `work` means there is nothing to record (a
    deletion that went through). Returns the problem, if there was one."""
    started = time.monotonic()
    meta = obj["metadata"]
    try:
        outcome: Result | Blocked | None = await work()
    except Blocked as blocked:
        outcome = blocked
    except Exception as error:
        logger.exception("%s %s/%s: unexpected error", kind, meta["namespace"], meta["name"])
        outcome = Blocked(Reason.RECONCILE_ERROR, f"unexpected {type(error).__name__}: {str(error)[:300]}")
    finally:
        metrics.reconcile_seconds.labels(kind).observe(time.monotonic() - started)
    if outcome is None:
        metrics.reconciles.labels(kind, "deleted").inc()
        return None
    instance = (obj.get("spec") or {}).get("instanceRef", {}).get("name", "")
    metrics.set_ready(kind, meta["namespace"], meta["name"], instance, isinstance(outcome, Result))
    kept = rt.validations.kept.get(meta["uid"])
    patch, events = finish(model, obj["status"], outcome, generation=meta["generation"], kept=kept)
    if patch:
        await write(patch)
        obj["status"].update(patch)  # what this process now knows, ahead of the watch event
    rt.post_events(obj, kind, events)
    if isinstance(outcome, Result):
        if outcome.applied and meta["generation"] is not None:
            rt.applied[meta["uid"]] = meta["generation"]
        metrics.reconciles.labels(kind, "success").inc()
        return None
    metrics.reconciles.labels(kind, "error" if outcome.reason is Reason.RECONCILE_ERROR else "blocked").inc()
    return outcome


def settled(obj: Obj) -> bool:
    """Ready, with its ID recorded and its current spec applied: on resume
    such an object is left to the instance's refresh, which sees it in its
    listing, so a restart costs no InfluxDB call per object."""
    status = obj["status"]
    ready = conditions.get(status.get("conditions") or [], v1alpha1.ConditionType.READY) or {}
    return (
        bool(status.get("id"))
        and not status.get("createPending")
        and status.get("observedGeneration") == obj["metadata"]["generation"]
        and ready.get("status") == "True"
    )
