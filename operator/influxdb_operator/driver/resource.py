"""What remotes and replications share around the driver: running
`external.sync` for a resolved resource - or only `external.look` while it
is paused or merely observed - reporting what it found, and deleting its
InfluxDB object as its deletion and management policies say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ..api import v1alpha1
from ..influx import errors
from ..reconcile import conditions
from ..reconcile.drift import Drift
from ..reconcile.outcome import Blocked, Event, applied_generation, from_influx, ready
from ..reconcile.reasons import Action, Reason
from ..state import clients
from ..state.runtime import Runtime
from ..state.world import Obj, Refs
from . import external
from .resolution import Kind, Resolved, paused_by

S = TypeVar("S", bound=v1alpha1.ManagedSpec)
H = TypeVar("H", bound=external.HasID)


async def run(
    rt: Runtime, kind: Kind[S], res: Resolved[S], ext: external.External[H], seen: Mapping[str, H] | None
) -> external.Synced[H]:
    """`external.sync` for `res` (only `external.look` when it may not
    write), InfluxDB's errors turned into conditions."""
    try:
        return await (_sync(rt, kind, res, ext, seen) if res.writes else _look(rt, res, ext, seen))
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"{ext.noun} {res.name!r} in {res.where}") from error


async def _look(
    rt: Runtime, res: Resolved[S], ext: external.External[H], seen: Mapping[str, H] | None
) -> external.Synced[H]:
    """Paused, or Observe: find the object, never write. Observe attaches to
    `spec.id`, else to the object of the name, and records its ID."""
    pinned = res.spec.id if res.observe_only else None
    target = external.Target(
        name=res.name,
        recorded_id=pinned or rt.recorded_id(res.obj),
        create_pending=False,
        adopt_existing=False,
        spec_changed=False,
    )
    found = await external.look(ext, target, seen, by_name=res.observe_only and pinned is None)
    if found is None:
        what = f"{ext.noun} with ID {pinned}" if pinned else f"{ext.noun} {res.name!r}"
        if res.paused is not None:
            later = "; it is created once unpaused" if not res.observe_only else ""
            raise Blocked(Reason.PAUSED, f"{res.paused}: nothing is written to InfluxDB, and no {what} exists{later}")
        raise Blocked(
            Reason.OBJECT_NOT_FOUND,
            f"no {what} in {res.where} to observe; nothing is created (managementPolicy: Observe)",
        )
    if res.observe_only:
        rt.record(res.obj, found.have.id)
    return found


async def _sync(
    rt: Runtime, kind: Kind[S], res: Resolved[S], ext: external.External[H], seen: Mapping[str, H] | None
) -> external.Synced[H]:
    meta, status = res.obj["metadata"], res.obj["status"]

    async def mark_pending() -> None:
        await rt.write_status(kind.plural, meta["namespace"], meta["name"], {"createPending": res.name})
        status["createPending"] = res.name

    target = external.Target(
        name=res.name,
        recorded_id=rt.recorded_id(res.obj),
        create_pending=bool(status.get("createPending")),
        adopt_existing=res.spec.adopt_existing,
        spec_changed=meta.get("generation") != applied_generation(status),
        takeover=bool(status.get("observing")),
    )
    return await external.sync(
        ext, target, seen=seen, mark_pending=mark_pending, record=lambda new: rt.record(res.obj, new)
    )


Report = tuple[list[conditions.Condition], list[Event], dict[str, Any]]


def report(
    res: Resolved[S], synced: external.Synced[H], noun: str, *extra: conditions.Condition, detail: str = ""
) -> Report:
    """The conditions, the Events (a read-only mode's once per new finding,
    not every period) and the status fields of a reconcile that found the
    object: `noun` as in "replication"; `detail` follows "matches the spec"."""
    found, differing = f"{noun} {res.name!r} (ID {synced.have.id})", synced.differing or {}
    if res.writes:
        matches = f"{found} matches the spec" + (f"; {detail}" if detail else "")
        return ready(matches, *extra), synced.events, {"create_pending": None, "observing": None}
    fields: dict[str, Any] = {"observing": True} if res.observe_only else {}
    if res.paused is not None:
        event = Event("Normal", Reason.PAUSED, f"{res.paused}; {_differences(differing)}")
    elif differing:
        event = Event("Warning", Reason.DRIFT_DETECTED, f"observed only: {_differences(differing)}")
    else:
        return ready(f"observing {found}, which matches the spec", *extra), [], fields
    before = conditions.get(res.obj["status"].get("conditions") or [], v1alpha1.ConditionType.SYNCED) or {}
    news = (before.get("reason"), before.get("message")) != (event.reason, event.message)
    state = "observing" if res.observe_only else "found"
    not_synced = (Reason(event.reason), event.message)
    return ready(f"{state} {found}", *extra, not_synced=not_synced), [event] if news else [], fields


def _differences(differing: Drift) -> str:
    if not differing:
        return "InfluxDB matches the spec"
    shown = "; ".join(
        f"{name} is {have!r} in InfluxDB, {want!r} in the spec" for name, (have, want) in sorted(differing.items())
    )
    return f"differs from the spec (not corrected): {shown}"


async def delete(rt: Runtime, refs: Refs, obj: Obj, kind: Kind[S]) -> None:
    """Delete (or orphan) the InfluxDB object, through the kind's `External`;
    Events say which. Blocked keeps the finalizer (while paused, too)."""
    meta, status = obj["metadata"], obj["status"]
    spec = kind.spec.model_validate(obj["spec"])
    name = spec.name or meta["name"]
    recorded = rt.recorded_id(obj)
    inst: clients.Instance | None = None
    try:
        inst = clients.instance(refs, meta["namespace"], spec.instance_ref.name, need_org=False)
    except Blocked as blocked:
        if blocked.reason is not Reason.INSTANCE_NOT_FOUND:
            raise
        missing = blocked.message
    paused = paused_by(obj, inst)
    if paused is not None:
        raise Blocked(Reason.PAUSED, f"deletion waits: {paused}; remove it to let the deletion go on")
    left = f"left {kind.noun} {name!r}" + (f" (ID {recorded})" if recorded else "")
    if spec.management_policy is v1alpha1.ManagementPolicy.OBSERVE or status.get("observing"):
        rt.post_events(obj, kind.kind, [Event("Normal", Action.ORPHANED, f"{left}: it was only observed")])
        return
    if spec.deletion_policy is v1alpha1.DeletionPolicy.ORPHAN:
        rt.post_events(obj, kind.kind, [Event("Normal", Action.ORPHANED, left)])
        return
    if inst is None:
        # Nothing is left to reach InfluxDB with; waiting would block forever.
        message = f"{missing}; nothing deleted in InfluxDB"
        rt.post_events(obj, kind.kind, [Event("Warning", Action.ORPHANED, message)])
        return
    res = Resolved(obj, spec, name, inst, await rt.clients.get(refs, inst, deleting=True), inst.org_id or "")
    ext = kind.deleter(res)
    # A create-pending name is looked up only where the org is known.
    pending = bool(status.get("createPending")) and bool(inst.org_id)
    target = external.Target(name, recorded, pending, adopt_existing=False, spec_changed=False)
    try:
        removed = await external.remove(ext, target)
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"deleting {ext.noun} {name!r}") from error
    if removed is not None:
        what = f"{kind.noun} {name!r} (ID {removed.influx_id})"
        message = f"deleted {what}" if removed.gone else f"{what} was already gone"
        rt.post_events(obj, kind.kind, [Event("Normal", Action.DELETED, message)])
