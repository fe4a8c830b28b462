"""What remotes and replications share around the driver: the resolved
resource (instance, client, name in InfluxDB), running `external.sync` for
it - or only `external.look` while it is paused or merely observed - and
deleting its InfluxDB object as its deletion and management policies say."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..api import v1alpha1
from ..influx import errors
from ..influx.client import InfluxClient
from ..reconcile import conditions
from ..reconcile.drift import Drift
from ..reconcile.outcome import Blocked, Event, from_influx, ready
from ..reconcile.reasons import Action, Reason
from ..state import clients
from ..state.runtime import Runtime
from ..state.world import Obj, Refs, spec_of
from . import external

S = TypeVar("S", bound=v1alpha1.ManagedSpec)
H = TypeVar("H", bound=external.HasID)


@dataclass(frozen=True)
class Kind(Generic[S]):
    kind: str
    plural: str
    spec: type[S]
    status: type[v1alpha1.Status]
    noun: str  # what deletion deletes, e.g. "replication (and its queue)"
    # The kind's `External` as deletion builds it: from the resolved resource alone.
    deleter: Callable[[Resolved[S]], external.External[Any]]


@dataclass(frozen=True)
class Resolved(Generic[S]):
    """A resource with its instance resolved to a client and an org."""

    obj: Obj
    spec: S
    name: str  # in InfluxDB
    inst: clients.Instance
    client: InfluxClient
    org_id: str

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"]["namespace"])

    @property
    def observe_only(self) -> bool:
        return self.spec.management_policy is v1alpha1.ManagementPolicy.OBSERVE

    @property
    def paused(self) -> str | None:
        """Why nothing may be written for it now, or None."""
        return paused_by(self.obj, self.inst)

    @property
    def writes(self) -> bool:
        return not self.observe_only and self.paused is None

    @property
    def where(self) -> str:
        """The instance and org, as the user named them."""
        return f"InfluxDBInstance {self.inst.name} (org {self.inst.org!r})"


async def resolve(rt: Runtime, refs: Refs, obj: Obj, kind: Kind[S]) -> Resolved[S]:
    spec = spec_of(obj, kind.spec)
    inst = clients.instance(refs, obj["metadata"]["namespace"], spec.instance_ref.name)
    client = await rt.clients.get(refs, inst)
    assert inst.org_id is not None  # instance() checks it
    return Resolved(obj, spec, spec.name or obj["metadata"]["name"], inst, client, inst.org_id)


def paused_by(obj: Obj, inst: clients.Instance | None) -> str | None:
    """Why nothing may be written for `obj`: its own pause annotation, or its instance's."""
    if v1alpha1.paused(obj["metadata"].get("annotations")):
        where = "this resource"
    elif inst is not None and inst.paused:
        where = f"InfluxDBInstance {inst.name}"
    else:
        return None
    return f"paused by the annotation {v1alpha1.PAUSED_ANNOTATION}=true on {where}"


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
        spec_changed=meta.get("generation") != status.get("observedGeneration"),
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
