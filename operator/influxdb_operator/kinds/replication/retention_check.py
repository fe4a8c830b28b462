"""The retention trap: points older than the remote bucket's retention are
never written there (influxd retries or drops them, silently). Where the
operator can read the remote bucket (a RemoteConnection with
`remoteInstanceRef`), a remote retention shorter than the local one is
reported. Both buckets are read once per RECHECK per replication, not every
refresh."""

from __future__ import annotations

import logging
import time

from ...api import v1alpha1
from ...driver import resolution
from ...influx import errors, models
from ...reconcile.fan_out import longer
from ...reconcile.outcome import Blocked
from ...state import clients
from ...state.runtime import Runtime
from ...state.world import Refs, one

logger = logging.getLogger(__name__)

# Retentions change rarely, and a shortfall is a configuration to fix, not an emergency.
RECHECK = 600.0  # seconds


def _spell(seconds: int) -> str:
    return "forever" if seconds == 0 else f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds}s"


async def shortfall(
    rt: Runtime, refs: Refs, res: resolution.Resolved[v1alpha1.ReplicationSpec], have: models.Replication
) -> str | None:
    """Why the remote bucket keeps points for less time than the local one; None if it does not, or unknown."""
    ref = res.spec.remote.connection_ref
    remote = one(refs.remotes, (res.namespace, ref.name)) if ref is not None else None
    cloud_name = ((remote or {}).get("spec", {}).get("remoteInstanceRef") or {}).get("name")
    if not cloud_name:
        return None
    uid, now = res.obj["metadata"]["uid"], time.monotonic()
    key = (have.localBucketID, have.remoteBucketID or have.remoteBucketName)
    cached = rt.retention.get(uid)
    if cached is not None and cached[0] == key and now - cached[1] < RECHECK:
        return cached[2]
    message = None
    try:
        local = await res.client.get_bucket(have.localBucketID)
        cloud = clients.instance(refs, res.namespace, cloud_name)
        cloud_client = await rt.clients.get(refs, cloud)
        if have.remoteBucketID:
            far = await cloud_client.get_bucket(have.remoteBucketID)
        else:
            far = await cloud_client.find_bucket(cloud.org_id or "", have.remoteBucketName or "")
    except (errors.InfluxError, Blocked) as problem:
        logger.debug("retention of %s/%s not checked: %s", res.namespace, res.obj["metadata"]["name"], problem)
        return cached[2] if cached is not None else None
    if local is not None and far is not None and not longer(far.retention_seconds, local.retention_seconds):
        kept = _spell(far.retention_seconds)
        message = (
            f"remote bucket {far.name!r} on InfluxDBInstance {cloud_name} keeps points {kept}, less than local "
            f"bucket {local.name!r} ({_spell(local.retention_seconds)}): points older than {kept} are never "
            "replicated (retried or dropped by InfluxDB)"
        )
    rt.retention[uid] = (key, now, message)
    return message
