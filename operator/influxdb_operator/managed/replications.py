"""Replication: its references resolved, its `External`, and its sync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from .. import metrics
from ..api import v1alpha1
from ..influx import errors, models
from ..reconcile import replications
from ..reconcile.drift import Drift, correction, drift
from ..reconcile.outcome import Blocked, Result, from_influx, ready
from ..reconcile.reasons import Action, Reason
from . import resource
from .external import Endpoints
from .runtime import Runtime
from .world import Dependents, Obj, Refs, one

KIND = resource.Kind(
    "Replication",
    "replications",
    v1alpha1.ReplicationSpec,
    v1alpha1.ReplicationStatus,
    "replication (and its queue)",
    lambda client: client.replications,
)


def remote_id(refs: Refs, namespace: str, spec: v1alpha1.ReplicationSpec) -> str:
    """The remote's InfluxDB ID, from the RemoteConnection's status if named."""
    if spec.remote.id is not None:
        return spec.remote.id
    assert spec.remote.connection_ref is not None  # the CRD requires one of the two
    ref = spec.remote.connection_ref.name
    remote = one(refs.remotes, (namespace, ref))
    if remote is None:
        raise Blocked(Reason.REMOTE_CONNECTION_NOT_FOUND, f"RemoteConnection {namespace}/{ref} does not exist")
    its_instance = remote["spec"].get("instanceRef", {}).get("name")
    if its_instance != spec.instance_ref.name:
        raise Blocked(
            Reason.REMOTE_CONNECTION_MISMATCH,
            f"RemoteConnection {namespace}/{ref} belongs to InfluxDBInstance {its_instance}, "
            f"not {spec.instance_ref.name}: a replication can only use remotes of its own instance",
        )
    found = remote["status"].get("id")
    if not found:
        raise Blocked(Reason.REMOTE_CONNECTION_NOT_READY, f"RemoteConnection {namespace}/{ref} has no InfluxDB ID yet")
    return str(found)


@dataclass(frozen=True)
class ReplicationExternal:
    noun: ClassVar[str] = "replication"
    write_only: ClassVar[Mapping[str, tuple[Action, str]]] = {}

    res: resource.Resolved[v1alpha1.ReplicationSpec]
    want: models.ReplicationSettings

    @property
    def endpoints(self) -> Endpoints[models.Replication]:
        return Endpoints.of(self.res.client.replications, self.res.org_id)

    async def _local_bucket_id(self) -> str:
        ref, client = self.res.spec.local_bucket, self.res.client
        bucket = await (client.get_bucket(ref.id) if ref.id else client.find_bucket(self.res.org_id, ref.name or ""))
        if bucket is None:
            what = f"ID {ref.id}" if ref.id else f"name {ref.name!r}"
            raise Blocked(Reason.BUCKET_NOT_FOUND, f"no local bucket with {what} in {self.res.where}")
        return bucket.id

    async def create(self) -> models.Replication:
        body = replications.create_body(
            self.want, org_id=self.res.org_id, local_bucket_id=await self._local_bucket_id()
        )
        return await self.res.client.replications.create(body)

    async def check_adoptable(self, have: models.Replication) -> None:
        local_bucket_id = await self._local_bucket_id()
        if have.localBucketID != local_bucket_id:
            raise Blocked(
                Reason.NAME_CONFLICT,
                f"replication {have.name!r} (ID {have.id}) replicates bucket {have.localBucketID}, not "
                f"{local_bucket_id}; the local bucket cannot be changed in place",
            )

    def drift(self, have: models.Replication, *, adopted: bool) -> Drift:
        return drift(self.want, have)

    async def update(self, have: models.Replication, differing: Drift) -> models.Replication:
        return await self.res.client.replications.update(have.id, correction(self.want, differing))


async def sync(rt: Runtime, refs: Refs, obj: Obj, seen: Mapping[str, models.Replication] | None) -> Result:
    """Make InfluxDB hold the replication `obj` declares; report what it holds."""
    res = await resource.resolve(rt, refs, obj, KIND)
    want = replications.desired(res.spec, name=res.name, remote_id=remote_id(refs, res.namespace, res.spec))
    synced = await resource.run(rt, KIND, res, ReplicationExternal(res, want), seen)
    have = synced.have
    meta = obj["metadata"]
    metrics.set_replication(
        meta["namespace"],
        meta["name"],
        res.spec.instance_ref.name,
        queue=have.currentQueueSizeBytes,
        remaining=have.remainingBytesToBeSynced,
        code=have.latestResponseCode,
    )
    health = replications.health(have, previous_remaining=obj["status"].get("remainingBytesToBeSynced"))
    return Result(
        status=replications.observed(have).model_copy(update={"create_pending": None}),
        conditions=ready(f"replication {have.id} matches the spec", health),
        events=synced.events,
        synced=bool(synced.events),
    )


async def delete(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> None:
    """Deletes the queue with the replication (unless orphaned); nothing waits on it."""
    spec = v1alpha1.ReplicationSpec.model_validate(obj["spec"])
    metrics.forget_replication(obj["metadata"]["namespace"], obj["metadata"]["name"], spec.instance_ref.name)
    try:
        await resource.delete(rt, refs, obj, KIND)
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"deleting replication {spec.name or obj['metadata']['name']!r}") from error
