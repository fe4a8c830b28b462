"""What one refresh sees of an org: every replication and remote, listed
with one call each, and influxd's queue counters from its `/metrics`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..influx import models
from ..influx.client import InfluxClient
from ..reconcile.fan_out import Bucket

_NO_SERIES = models.QueueCounters()  # frozen: one for every replication without series


@dataclass(frozen=True)
class Listing:
    replications: dict[str, models.Replication]  # by ID
    remotes: dict[str, models.Remote]
    counters: dict[str, models.QueueCounters] | None  # by replication ID; None: influxd's metrics are off
    # When it was asked for (monotonic): it shows no write that ended later.
    taken_at: float = field(default_factory=time.monotonic)

    @classmethod
    async def take(cls, client: InfluxClient, org_id: str) -> Listing:
        taken_at = time.monotonic()
        remotes = await client.remotes.list(org_id)
        replications = await client.replications.list(org_id)
        counters = await client.replication_counters() if replications else None
        return cls({r.id: r for r in replications}, {r.id: r for r in remotes}, counters, taken_at)

    def counters_of(self, replication_id: str) -> models.QueueCounters | None:
        """influxd's counters of one replication: zeros while its `/metrics` has
        no series of it (influxd adds them at the replication's first write),
        None while its metrics are off. One answer for every reader: a refresh
        that sampled None where another sampled zeros left windows of both,
        which showed no rates, then rates again."""
        if self.counters is None:
            return None
        return self.counters.get(replication_id, _NO_SERIES)


@dataclass(frozen=True)
class BucketListing:
    """An org's buckets as listed at `at` (monotonic); None: that listing failed."""

    at: float
    buckets: tuple[Bucket, ...] | None
