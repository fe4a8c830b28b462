"""An instance's buckets, listed once for every reader: a ReplicationSet's
selection (anew each refresh of an instance a set selects) and the retention
check of every Replication on the instance or writing to it (at most once
per RECHECK). Thousands of Replications cost one listing per instance, not
calls per Replication."""

from __future__ import annotations

import time

from ..influx import errors
from ..reconcile.fan_out import Bucket
from ..reconcile.outcome import from_influx
from ..state import clients
from ..state.listing import BucketListing
from ..state.runtime import Runtime
from ..state.world import Key, Refs


async def listed(rt: Runtime, refs: Refs, key: Key, *, max_age: float) -> tuple[Bucket, ...] | None:
    """The instance's buckets, listed anew if the last listing (or failed
    attempt: None) is older than `max_age` seconds; one listing at a time per
    instance, so readers arriving together share it. `Blocked` for a listing
    that failed now, after recording it."""
    async with rt.bucket_locks[key]:
        last = rt.buckets.get(key)
        if last is not None and time.monotonic() - last.at < max_age:
            return last.buckets
        rt.buckets[key] = BucketListing(time.monotonic(), None)  # failed until it succeeds
        inst = clients.instance(refs, *key)
        client = await rt.clients.get(refs, inst)
        try:
            found = await client.list_buckets(inst.org_id or "")
        except errors.InfluxError as error:
            raise from_influx(error, doing=f"listing the buckets of InfluxDBInstance {key[1]}") from error
        buckets = tuple(
            Bucket(b.name, frozenset(label.name for label in b.labels), b.type == "system", b.retention_seconds, b.id)
            for b in found
        )
        rt.buckets[key] = BucketListing(time.monotonic(), buckets)
        return buckets


def unlisted(rt: Runtime, key: Key) -> None:
    """The instance cannot be listed now (it is unreachable, say): its readers hear so."""
    rt.buckets[key] = BucketListing(time.monotonic(), None)
