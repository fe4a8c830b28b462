"""Remote buckets a ReplicationSet provisions (opt-in): created where they
are missing, with a retention at least the local bucket's, and never
changed or deleted after. Only where the remote is an InfluxDBInstance the
operator holds a token for (a RemoteConnection's `remoteInstanceRef`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..influx import errors
from ..reconcile.fan_out import Bucket
from ..reconcile.outcome import Blocked, Event, from_influx
from ..reconcile.reasons import Action, Reason
from ..state import clients
from ..state.runtime import Runtime
from ..state.world import Refs, one
from . import bucket_listings


def _keeps_longer(a: int, b: int) -> int:
    return 0 if 0 in (a, b) else max(a, b)


def needed(
    wanted: Mapping[str, Mapping[str, Any]], local: Mapping[str, Collection[Bucket] | None]
) -> dict[str, dict[str, int]]:
    """Per RemoteConnection, the remote buckets the children target and the retention each needs."""
    by_connection: dict[str, dict[str, int]] = {}
    for spec in wanted.values():
        instance, bucket = spec["instanceRef"]["name"], spec["localBucket"]["name"]
        retention = next((b.retention for b in local.get(instance) or () if b.name == bucket), 0)
        need = by_connection.setdefault(spec["remote"]["connectionRef"]["name"], {})
        name = spec["remoteBucket"]["name"]
        need[name] = _keeps_longer(need[name], retention) if name in need else retention
    return by_connection


async def provision(rt: Runtime, refs: Refs, namespace: str, need: Mapping[str, Mapping[str, int]]) -> list[Event]:
    """One listing of each remote's buckets, and a create for each one missing."""
    events: list[Event] = []
    for connection, buckets in sorted(need.items()):
        remote = one(refs.remotes, (namespace, connection))
        cloud_name = ((remote or {}).get("spec", {}).get("remoteInstanceRef") or {}).get("name")
        if not cloud_name:
            raise Blocked(
                Reason.CANNOT_PROVISION,
                f"RemoteConnection {connection} does not exist or has no remoteInstanceRef: "
                "provisionRemoteBuckets needs the remote as an InfluxDBInstance",
            )
        try:
            cloud = clients.instance(refs, namespace, cloud_name)
        except Blocked as blocked:
            raise Blocked(Reason.CANNOT_PROVISION, blocked.message) from None
        client = await rt.clients.get(refs, cloud)
        # Listed anew (a bucket deleted since is made again), and the retention checks reading this
        # instance get the new listing too.
        listed = await bucket_listings.listed(rt, refs, (namespace, cloud_name), max_age=0)
        have = {b.name for b in listed or ()}
        try:
            for name, retention in sorted(buckets.items()):
                if name in have or await client.create_bucket(cloud.org_id or "", name, retention) is None:
                    continue
                kept = f"{retention}s" if retention else "forever"
                events.append(Event("Normal", Action.BUCKET_PROVISIONED, f"{name} on {cloud_name}, retention {kept}"))
        except errors.InfluxError as error:
            raise from_influx(error, doing=f"provisioning buckets on InfluxDBInstance {cloud_name}") from error
    return events
