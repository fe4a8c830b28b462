"""The retention trap: points older than the remote bucket's retention are
never written there (influxd retries or drops them, silently). Where the
operator can read the remote bucket (a RemoteConnection with
`remoteInstanceRef`), a remote retention shorter than the local one is
reported. The buckets are read from each instance's listing, shared by
every Replication and taken at most once per RECHECK (kinds/bucket_listings.py):
no call per Replication."""

from __future__ import annotations

import logging

from ...api import v1alpha1
from ...driver import resolution
from ...influx import models
from ...reconcile.fan_out import longer
from ...reconcile.outcome import Blocked
from ...state.runtime import Runtime
from ...state.world import Refs, one
from .. import bucket_listings

logger = logging.getLogger(__name__)

# Retentions change rarely, and a shortfall is a configuration to fix, not an emergency.
RECHECK = 600.0  # seconds


def _spell(seconds: int) -> str:
    return "forever" if seconds == 0 else f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds}s"


async def shortfall(
    rt: Runtime, refs: Refs, res: resolution.Resolved[v1alpha1.ReplicationSpec], have: models.Replication
) -> str | None:
    """Why the remote bucket keeps points for less time than the local one;
    None if it does not. Read from both instances' shared bucket listings;
    while either cannot be read, the last answer stands."""
    ref = res.spec.remote.connection_ref
    remote = one(refs.remotes, (res.namespace, ref.name)) if ref is not None else None
    cloud_name = ((remote or {}).get("spec", {}).get("remoteInstanceRef") or {}).get("name")
    if not cloud_name:
        return None
    uid = res.obj["metadata"]["uid"]
    try:
        local = await bucket_listings.listed(rt, refs, (res.namespace, res.inst.name), max_age=RECHECK)
        far = await bucket_listings.listed(rt, refs, (res.namespace, cloud_name), max_age=RECHECK)
    except Blocked as problem:
        logger.debug("retention of %s/%s not checked: %s", res.namespace, res.obj["metadata"]["name"], problem.message)
        return rt.retention.get(uid)
    ours = next((b for b in local or () if b.id == have.localBucketID), None)
    far_id, far_name = have.remoteBucketID, have.remoteBucketName
    theirs = next((b for b in far or () if (b.id == far_id if far_id else b.name == far_name)), None)
    if ours is None or theirs is None:
        return rt.retention.get(uid)  # not listed yet (made since the last listing): the last answer
    message = None
    if not longer(theirs.retention, ours.retention):
        kept = _spell(theirs.retention)
        message = (
            f"remote bucket {theirs.name!r} on InfluxDBInstance {cloud_name} keeps points {kept}, less than local "
            f"bucket {ours.name!r} ({_spell(ours.retention)}): points older than {kept} are never "
            "replicated (retried or dropped by InfluxDB)"
        )
    rt.retention[uid] = message
    return message
