"""What remotes and replications share around the driver: the resolved
resource (instance, client, name in InfluxDB), running `external.sync` for
it, and deleting its InfluxDB object as its deletion policy says."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..api import v1alpha1
from ..influx import errors
from ..influx.client import Collection, InfluxClient
from ..reconcile.outcome import Blocked, Event, from_influx
from ..reconcile.reasons import Action, Reason
from . import clients, external
from .runtime import Runtime
from .world import Obj, Refs

S = TypeVar("S", bound=v1alpha1.ManagedSpec)
H = TypeVar("H", bound=external.HasID)


@dataclass(frozen=True)
class Kind(Generic[S]):
    kind: str
    plural: str
    spec: type[S]
    status: type[v1alpha1.Status]
    noun: str  # what deletion deletes, e.g. "replication (and its queue)"
    # The kind's InfluxDB calls, e.g. `lambda client: client.replications`.
    collection: Callable[[InfluxClient], Collection[Any, Any, Any]]


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
    def where(self) -> str:
        """The instance and org, as the user named them."""
        return f"InfluxDBInstance {self.inst.name} (org {self.inst.org!r})"


async def resolve(rt: Runtime, refs: Refs, obj: Obj, kind: Kind[S]) -> Resolved[S]:
    spec = kind.spec.model_validate(obj["spec"])
    inst = clients.instance(refs, obj["metadata"]["namespace"], spec.instance_ref.name)
    client = await rt.clients.get(refs, inst)
    assert inst.org_id is not None  # instance() checks it
    return Resolved(obj, spec, spec.name or obj["metadata"]["name"], inst, client, inst.org_id)


async def run(
    rt: Runtime, kind: Kind[S], res: Resolved[S], ext: external.External[H], seen: Mapping[str, H] | None
) -> external.Synced[H]:
    """`external.sync` for `res`, InfluxDB's errors turned into conditions."""
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
    )
    try:
        return await external.sync(
            ext, target, seen=seen, mark_pending=mark_pending, record=lambda new: rt.record(res.obj, new)
        )
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"{ext.noun} {res.name!r} in {res.where}") from error


async def delete(rt: Runtime, refs: Refs, obj: Obj, kind: Kind[S]) -> None:
    """Delete (or orphan) the InfluxDB object; Events say which. Blocked
    keeps the finalizer; InfluxDB's errors are left to the kind, which knows
    what they mean for it."""
    meta, status = obj["metadata"], obj["status"]
    spec = kind.spec.model_validate(obj["spec"])
    name = spec.name or meta["name"]
    recorded = rt.recorded_id(obj)
    if spec.deletion_policy is v1alpha1.DeletionPolicy.ORPHAN:
        rt.post_events(
            obj,
            kind.kind,
            [
                Event(
                    "Normal", Action.ORPHANED, f"left {kind.noun} {name!r}" + (f" (ID {recorded})" if recorded else "")
                )
            ],
        )
        return
    try:
        inst = clients.instance(refs, meta["namespace"], spec.instance_ref.name, need_org=False)
    except Blocked as blocked:
        if blocked.reason is not Reason.INSTANCE_NOT_FOUND:
            raise
        # Nothing is left to reach InfluxDB with; waiting would block forever.
        message = f"{blocked.message}; nothing deleted in InfluxDB"
        rt.post_events(obj, kind.kind, [Event("Warning", Action.ORPHANED, message)])
        return
    client = await rt.clients.get(refs, inst, deleting=True)
    endpoints = external.Endpoints.of(kind.collection(client), inst.org_id or "")
    if recorded is None and status.get("createPending") and inst.org_id:
        # A create of ours may have landed before its ID was stored.
        found = await endpoints.find(name)
        recorded = found[0].id if found else None
    if recorded is not None:
        gone = await endpoints.delete(recorded)
        what = f"{kind.noun} {name!r} (ID {recorded})"
        message = f"deleted {what}" if gone else f"{what} was already gone"
        rt.post_events(obj, kind.kind, [Event("Normal", Action.DELETED, message)])
