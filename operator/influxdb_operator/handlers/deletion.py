"""Deleting the InfluxDB object behind a resource, as its deletion policy says.

Shared by replications and remotes. InfluxDB errors are left to the caller,
which knows what they mean for its kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..api import v1alpha1
from ..influx.client import InfluxClient
from . import clients, indexes, outcomes
from .blocked import Blocked


async def delete_external(
    world: indexes.World,
    obj: dict[str, Any],
    *,
    kind: str,
    noun: str,
    instance_name: str,
    name: str,
    policy: v1alpha1.DeletionPolicy,
    find: Callable[[InfluxClient, str, str], Awaitable[list[Any]]],
    remove: Callable[[InfluxClient, str], Awaitable[bool]],
) -> None:
    meta, status = obj["metadata"], obj["status"]
    recorded = outcomes.recorded_id(meta["uid"], status)
    if policy is v1alpha1.DeletionPolicy.ORPHAN:
        outcomes.emit(obj, [("Normal", "Orphaned", f"left {noun} {recorded or name!r} in InfluxDB")], kind=kind)
        return
    try:
        inst = clients.instance(world, meta["namespace"], instance_name)
    except Blocked as blocked:
        if blocked.reason != "InstanceNotFound":
            raise
        # Nothing is left to reach InfluxDB with; waiting would block forever.
        outcomes.emit(obj, [("Warning", "Orphaned", f"{blocked.message}; nothing deleted in InfluxDB")], kind=kind)
        return
    client = await clients.client(world, inst, deleting=True)
    if recorded is None and status.get("createPending") and inst.org_id:
        # A create of ours may have landed before its ID was stored.
        found = await find(client, inst.org_id, name)
        recorded = found[0].id if found else None
    if recorded is not None:
        gone = await remove(client, recorded)
        message = f"deleted {noun} {recorded}" if gone else f"{noun} {recorded} was already gone"
        outcomes.emit(obj, [("Normal", "Deleted", message)], kind=kind)
