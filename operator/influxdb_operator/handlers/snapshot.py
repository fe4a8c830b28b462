"""What one refresh saw in InfluxDB: every replication and remote of an org,
listed with one call each, indexed by ID."""

from __future__ import annotations

from dataclasses import dataclass

from ..influx import models
from ..influx.client import InfluxClient


@dataclass(frozen=True)
class Snapshot:
    replications: dict[str, models.Replication]
    remotes: dict[str, models.Remote]

    @classmethod
    async def take(cls, client: InfluxClient, org_id: str) -> Snapshot:
        remotes = await client.list_remotes(org_id)
        replications = await client.list_replications(org_id)
        return cls({r.id: r for r in replications}, {r.id: r for r in remotes})
