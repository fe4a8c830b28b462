"""Replication: its references resolved, its adapter run by the driver,
and what it holds reported with how its data plane is doing."""

from __future__ import annotations

import time

from ... import metrics
from ...api import v1alpha1
from ...driver import resolution, resource
from ...reconcile import conditions, dataplane, replications, tokens
from ...reconcile.outcome import Blocked, Result
from ...reconcile.reasons import Reason
from ...state.listing import Listing
from ...state.runtime import Runtime
from ...state.world import Dependents, Obj, Refs, one
from . import data_plane_observation, heartbeats, idle_skip, loop_guard, retention_check
from .replication_external import KIND, ReplicationExternal, validator


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
    if remote["spec"].get("remoteInstanceRef"):
        _check_covered(namespace, ref, remote["status"].get("mintedToken"), spec.remote_bucket)
    return str(found)


def _check_covered(namespace: str, ref: str, minted: object, bucket: v1alpha1.BucketReference) -> None:
    """A minted token is widened for a new bucket by the remote's next sync:
    until then the replication waits rather than meet 401s and backoff."""
    wanted = ("id", bucket.id) if bucket.id else ("name", bucket.name or "")
    if minted and tokens.covered(v1alpha1.MintedTokenStatus.model_validate(minted), wanted):
        return
    raise Blocked(
        Reason.REMOTE_TOKEN_PENDING,
        f"the token minted for RemoteConnection {namespace}/{ref} does not cover remote bucket {wanted[1]!r} yet "
        "(it is widened at the remote's next refresh; the bucket must exist on the remote)",
    )


async def sync(rt: Runtime, refs: Refs, obj: Obj, listing: Listing | None) -> Result:
    """Make InfluxDB hold the replication `obj` declares; report what it holds
    and how its data plane is doing."""
    meta = obj["metadata"]
    labels = (meta["namespace"], meta["name"], obj["spec"].get("instanceRef", {}).get("name", ""))
    res = await resolution.resolve(rt, refs, obj, KIND)
    try:
        remote = remote_id(refs, res.namespace, res.spec)
        want = replications.desired(res.spec, name=res.name, remote_id=remote, caps=res.inst.capabilities)
    except Blocked as blocked:
        if blocked.reason is Reason.REMOTE_TOKEN_PENDING and listing is None:
            # The remote's token is widened by the instance's refresh: run it now, not
            # at the end of its period (from handlers only, whose retries back off).
            rt.wake((res.namespace, res.inst.name))
        raise
    if not rt.recorded_id(obj) and not obj["status"].get("createPending") and res.writes:
        await loop_guard.check(rt, refs, res)  # before the first create only
    listed = rt.listed(obj, listing)
    seen = listed.replications if listed else None
    # Only a handler validates: a recreate by the refresh must not hold it up for minutes.
    first = validator(rt, res) if res.spec.validate_before_create and listing is None else None
    synced = await resource.run(rt, KIND, res, ReplicationExternal(res, want, first), seen)
    if synced.events and res.writes:  # read-only modes announce findings, and write nothing
        rt.wrote[meta["uid"]] = time.monotonic()
    have, limits = synced.have, data_plane_observation.thresholds(rt, res)
    dp, lost = data_plane_observation.observe(rt, obj, have, listing, limits)
    # A heartbeat is a write too: none for a paused or observed stream.
    lag = await heartbeats.beat(rt, refs, res, have, listing) if listing and res.spec.heartbeat and res.writes else None
    data_plane_observation.export(labels, have, dp, lost, limits, lag)
    # Figures are shown once their window is covered, so a restart does not rewrite them.
    shown = (
        {"data_plane": replications.data_plane_status(dataplane.steadied(rt.trends[meta["uid"]], dp), lag)}
        if dp is not None and dp.covered
        else {}
    )
    idle_skip.remember_if_quiet(rt, refs, res, bool(synced.events), dp, listing)
    health = data_plane_observation.health(obj, have, dp, limits)
    short = await retention_check.shortfall(rt, refs, res, have)
    if short is not None and health.status != "False":  # a data-plane alarm is the more pressing
        health = conditions.Condition(v1alpha1.ConditionType.HEALTHY, "False", Reason.REMOTE_RETENTION_SHORTER, short)
    conds, events, fields = resource.report(res, synced, "replication", health)
    status = replications.observed(have).model_copy(update=fields | shown)
    applied = res.paused is None
    return Result(status=status, conditions=conds, events=events, synced=bool(synced.events), applied=applied)


async def delete(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> None:
    """Deletes the queue with the replication (unless orphaned); nothing waits on it."""
    spec = v1alpha1.ReplicationSpec.model_validate(obj["spec"])
    metrics.replications.forget((obj["metadata"]["namespace"], obj["metadata"]["name"], spec.instance_ref.name))
    await resource.delete(rt, refs, obj, KIND)
