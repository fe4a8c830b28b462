"""The refresh's skip of an idle replication: one whose last refresh changed
nothing, and nothing it reads has changed since, costs a few lookups instead
of a reconcile."""

from __future__ import annotations

import time
from typing import NamedTuple

from ...api import v1alpha1
from ...driver import resolution
from ...influx import models
from ...reconcile import dataplane
from ...state.listing import Listing
from ...state.runtime import Runtime
from ...state.world import Obj, Refs, forget_spec, one


class _Inputs(NamedTuple):
    """Everything a refresh of a replication reads besides its own snapshot and
    the clock. Specs and metadata are compared as snapshots (a watch event
    makes new ones); status fields by value: the refresh updates a snapshot's
    status in place, and kopf then keeps that snapshot (a recreated remote's
    new ID would otherwise go unseen)."""

    instance: tuple[object, ...]  # spec, metadata, orgID
    remote: tuple[object, ...]  # spec, ID, minted token
    have: models.Replication | None  # what InfluxDB lists
    counters: models.QueueCounters | None
    kept: object  # a validate's result


def _inputs(rt: Runtime, refs: Refs, obj: Obj, listing: Listing) -> _Inputs:
    meta, spec = obj["metadata"], obj["spec"]
    recorded = rt.recorded_id(obj) or ""
    inst = one(refs.instances, (meta["namespace"], spec.get("instanceRef", {}).get("name", ""))) or {}
    connection = ((spec.get("remote") or {}).get("connectionRef") or {}).get("name")
    remote = (one(refs.remotes, (meta["namespace"], connection)) if connection else None) or {}
    inst_status, remote_status = inst.get("status") or {}, remote.get("status") or {}
    return _Inputs(
        (inst.get("spec"), inst.get("metadata"), inst_status.get("orgID")),
        (remote.get("spec"), remote_status.get("id"), remote_status.get("mintedToken")),
        listing.replications.get(recorded),
        listing.counters_of(recorded),
        rt.validations.kept.get(meta["uid"]),
    )


def unchanged(rt: Runtime, refs: Refs, obj: Obj, listing: Listing | None) -> bool:
    """Whether the refresh may skip `obj`: its last refresh changed nothing and
    nothing it reads has changed since (its own snapshot is the same: a watch
    event makes a new one, and the refresh's status writes forget the record).
    Only an idle stream qualifies, whose figures cannot move with time alone;
    its sample still goes into the trend. At rest this is most of a fleet,
    each costing a few lookups instead of a reconcile."""
    quiet = rt.quiet.get(obj["metadata"]["uid"])
    if listing is None or quiet is None or quiet[0] is not obj:
        return False
    seen = _inputs(rt, refs, obj, listing)
    if seen != quiet[1] or seen.have is None:
        return False
    rt.trends[obj["metadata"]["uid"]].add(
        dataplane.Sample(
            time.monotonic(), seen.have.currentQueueSizeBytes, seen.have.remainingBytesToBeSynced, seen.counters
        )
    )
    # Skipped, it needs no validated spec: ~3 KB each, validated again when next reconciled.
    forget_spec(obj["metadata"]["uid"])
    return True


def remember_if_quiet(
    rt: Runtime,
    refs: Refs,
    res: resolution.Resolved[v1alpha1.ReplicationSpec],
    synced: bool,
    dp: dataplane.DataPlane | None,
    listing: Listing | None,
) -> None:
    uid = res.obj["metadata"]["uid"]
    trend = rt.trends.get(uid)
    idle = (
        listing is not None
        and not synced
        and res.writes
        and not res.spec.heartbeat
        and dp is not None
        and dp.covered
        and not dp.stalled
        and trend is not None
        and trend.last_loss_at is None
        and trend.samples[-1].remaining_bytes == 0
    )
    if idle:
        assert listing is not None
        rt.quiet[uid] = (res.obj, _inputs(rt, refs, res.obj, listing))
    else:
        rt.quiet.pop(uid, None)
