"""Replication: kopf handlers and the sync they share with the refresh."""

from __future__ import annotations

from typing import Any

import kopf

from .. import metrics
from ..api import v1alpha1
from ..influx import errors
from ..influx.client import InfluxClient
from ..reconcile import conditions, plan, replications
from . import clients, deletion, indexes, kube, outcomes
from .blocked import Blocked, from_influx
from .snapshot import Snapshot, observe

KIND, PLURAL = "Replication", "replications"


def _remote_id(world: indexes.World, namespace: str, spec: v1alpha1.ReplicationSpec) -> str:
    if spec.remote.id is not None:
        return spec.remote.id
    assert spec.remote.connection_ref is not None  # the CRD requires one of the two
    ref = spec.remote.connection_ref.name
    remote = world.one(world.remotes, (namespace, ref))
    if remote is None:
        raise Blocked("RemoteConnectionNotFound", f"RemoteConnection {namespace}/{ref} does not exist")
    remote_instance = remote["spec"].get("instanceRef", {}).get("name")
    if remote_instance != spec.instance_ref.name:
        raise Blocked(
            "RemoteConnectionMismatch",
            f"RemoteConnection {namespace}/{ref} belongs to InfluxDBInstance {remote_instance}, "
            f"not {spec.instance_ref.name}: a replication can only use remotes of its own instance",
        )
    remote_id = remote["status"].get("id")
    if not remote_id:
        raise Blocked("RemoteConnectionNotReady", f"RemoteConnection {namespace}/{ref} has no InfluxDB ID yet")
    return str(remote_id)


async def _local_bucket_id(client: InfluxClient, org_id: str, spec: v1alpha1.ReplicationSpec) -> str:
    ref = spec.local_bucket
    bucket = await (client.get_bucket(ref.id) if ref.id else client.find_bucket(org_id, ref.name or ""))
    if bucket is None:
        what = f"ID {ref.id}" if ref.id else f"name {ref.name!r}"
        raise Blocked("BucketNotFound", f"no local bucket with {what} in org {org_id}")
    return bucket.id


async def sync(world: indexes.World, obj: dict[str, Any], *, snapshot: Snapshot | None) -> outcomes.Result:
    """Make InfluxDB hold the replication `obj` declares; report what it holds."""
    meta, status = obj["metadata"], obj["status"]
    namespace, uid = meta["namespace"], meta["uid"]
    spec = v1alpha1.ReplicationSpec.model_validate(obj["spec"])
    name = spec.name or meta["name"]
    inst = clients.instance(world, namespace, spec.instance_ref.name)
    client = await clients.client(world, inst)
    org_id = inst.org_id
    assert org_id is not None
    remote_id = _remote_id(world, namespace, spec)
    recorded = outcomes.recorded_id(uid, status)
    events: list[outcomes.Event] = []
    doing = f"replication {name!r} on {inst.spec.url}"
    try:
        by_id, by_name = await observe(
            recorded=recorded,
            name=name,
            seen=snapshot.replications if snapshot else None,
            get=client.get_replication,
            find=lambda n: client.list_replications(org_id, name=n),
        )
        current = by_id or by_name
        want = replications.desired(
            spec,
            name=name,
            resolved=replications.Resolved(org_id, current.localBucketID if current else "", remote_id),
        )
        decision = plan.plan(
            recorded_id=recorded,
            by_id=by_id,
            by_name=by_name,
            create_pending=bool(status.get("createPending")),
            adopt_existing=spec.adopt_existing,
            up_to_date=by_id is not None and not replications.drift(want, by_id),
        )
        if decision.verb is plan.Verb.CONFLICT:
            assert by_name is not None
            raise Blocked(
                "NameConflict",
                f"a replication named {name!r} (ID {by_name.id}) already exists in InfluxDB and is not known to be "
                "this resource's; set spec.adoptExisting: true to take it over, or set spec.name to another name",
            )
        if decision.verb is plan.Verb.CREATE:
            local_bucket_id = await _local_bucket_id(client, org_id, spec)
            want = want.model_copy(update={"localBucketID": local_bucket_id})
            # Recorded before the POST: if this process dies before the ID is
            # stored, the next one adopts the object of this name as its own.
            await kube.patch_status(PLURAL, namespace, meta["name"], {"createPending": name})
            status["createPending"] = name
            have = await client.create_replication(want)
            outcomes.known_ids[uid] = have.id
            verb = "Recreated" if decision.recreate else "Created"
            detail = " (it had been deleted outside Kubernetes)" if decision.recreate else ""
            events.append(("Normal", verb, f"{verb.lower()} replication {name!r} with ID {have.id}{detail}"))
        else:
            assert decision.existing is not None
            have = decision.existing
            if decision.verb is plan.Verb.ADOPT:
                local_bucket_id = await _local_bucket_id(client, org_id, spec)
                if have.localBucketID != local_bucket_id:
                    raise Blocked(
                        "NameConflict",
                        f"replication {name!r} (ID {have.id}) replicates bucket {have.localBucketID}, not "
                        f"{local_bucket_id}; the local bucket cannot be changed in place",
                    )
                outcomes.known_ids[uid] = have.id
                events.append(("Normal", "Adopted", f"adopted existing replication {name!r} with ID {have.id}"))
            differing = replications.drift(want, have)
            if differing:
                have = await client.update_replication(have.id, replications.correction(want, differing))
                reason = (
                    "Updated"
                    if obj["metadata"].get("generation") != status.get("observedGeneration")
                    else "DriftCorrected"
                )
                events.append(("Normal", reason, f"set {', '.join(sorted(differing))} of replication {have.id}"))
    except errors.InfluxError as error:
        raise from_influx(error, doing=doing) from None
    metrics.set_replication(
        namespace,
        meta["name"],
        spec.instance_ref.name,
        queue=have.currentQueueSizeBytes,
        remaining=have.remainingBytesToBeSynced,
        code=have.latestResponseCode,
    )
    return outcomes.Result(
        fields=replications.observed_status(have) | {"createPending": None},
        conditions=[
            conditions.Condition(conditions.READY, "True", "Available", f"replication {have.id} matches the spec"),
            conditions.Condition(conditions.SYNCED, "True", "ReconcileSuccess", ""),
            replications.health(have, previous_remaining=status.get("remainingBytesToBeSynced")),
        ],
        events=events,
        synced=bool(events),
    )


@kopf.on.resume(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL)
@kopf.on.create(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL)
@kopf.on.update(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL, field="spec")
async def reconcile(body: kopf.Body, patch: kopf.Patch, retry: int, reason: str, **kwargs: Any) -> None:
    world = indexes.World.of(kwargs)
    await outcomes.run_handler(KIND, body, patch, retry, lambda obj: sync(world, obj, snapshot=None), reason=reason)


@kopf.on.delete(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL)
async def delete(body: kopf.Body, patch: kopf.Patch, retry: int, **kwargs: Any) -> None:
    world = indexes.World.of(kwargs)

    async def _delete(obj: dict[str, Any]) -> None:
        spec = v1alpha1.ReplicationSpec.model_validate(obj["spec"])
        name = spec.name or obj["metadata"]["name"]
        metrics.forget_replication(obj["metadata"]["namespace"], obj["metadata"]["name"], spec.instance_ref.name)
        try:
            await deletion.delete_external(
                world,
                obj,
                kind=KIND,
                noun="replication (and its queue)",
                instance_name=spec.instance_ref.name,
                name=name,
                policy=spec.deletion_policy,
                find=lambda client, org_id, n: client.list_replications(org_id, name=n),
                remove=lambda client, replication_id: client.delete_replication(replication_id),
            )
        except errors.InfluxError as error:
            raise from_influx(error, doing=f"deleting replication {name!r}") from None

    await outcomes.run_deletion(KIND, body, patch, retry, _delete)
    outcomes.forget(body.metadata.uid or "")
