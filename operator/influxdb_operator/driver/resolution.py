"""A resource as the driver needs it: its kind, and its instance resolved
to a client and an org, with what may be written for it (paused, Observe)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..api import v1alpha1
from ..influx.client import InfluxClient
from ..state import clients
from ..state.runtime import Runtime
from ..state.world import Obj, Refs, spec_of
from . import external

S = TypeVar("S", bound=v1alpha1.ManagedSpec)


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
