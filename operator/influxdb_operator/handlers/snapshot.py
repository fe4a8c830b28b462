"""Observing InfluxDB objects: what one refresh saw (every replication and
remote of an org, listed with one call each), and the lookup by recorded ID,
then by name, that both handlers and the refresh use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ..influx import models
from ..influx.client import InfluxClient

T = TypeVar("T", models.Replication, models.Remote)


@dataclass(frozen=True)
class Snapshot:
    replications: dict[str, models.Replication]
    remotes: dict[str, models.Remote]

    @classmethod
    async def take(cls, client: InfluxClient, org_id: str) -> Snapshot:
        remotes = await client.list_remotes(org_id)
        replications = await client.list_replications(org_id)
        return cls({r.id: r for r in replications}, {r.id: r for r in remotes})


async def observe(
    *,
    recorded: str | None,
    name: str,
    seen: Mapping[str, T] | None,
    get: Callable[[str], Awaitable[T | None]],
    find: Callable[[str], Awaitable[list[T]]],
) -> tuple[T | None, T | None]:
    """(the object with the recorded ID, else one with the name, else neither).

    A snapshot (`seen`) answers only for presence: absence there may be stale
    (a create may have landed since the listing) and acting on it could
    duplicate, so it is confirmed live."""
    if seen is not None and recorded and recorded in seen:
        return seen[recorded], None
    by_id = await get(recorded) if recorded else None
    if by_id is not None:
        return by_id, None
    same_name = await find(name)
    return None, (same_name[0] if same_name else None)
