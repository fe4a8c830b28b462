"""InfluxDBInstance: the server checked, its org resolved, and everything
of that org listed once, for the refresh to reconcile its dependents from."""

from __future__ import annotations

from ..api import v1alpha1
from ..influx import errors, versions
from ..influx.client import InfluxClient
from ..reconcile.outcome import Blocked, Result, applied_generation, from_influx, ready
from ..reconcile.reasons import Reason
from ..state import clients
from ..state.listing import Listing
from ..state.runtime import Runtime
from ..state.world import Dependents, Obj, Refs

KIND, PLURAL = "InfluxDBInstance", "influxdbinstances"
PAUSED = f"paused by the annotation {v1alpha1.PAUSED_ANNOTATION}=true on this InfluxDBInstance"


async def _org_id(client: InfluxClient, inst: clients.Instance, resolved: str | None) -> str:
    if inst.spec.org_id is not None:
        if resolved != inst.spec.org_id and await client.get_org(inst.spec.org_id) is None:
            raise Blocked(Reason.ORG_NOT_FOUND, f"no organization with ID {inst.spec.org_id} on {inst.spec.url}")
        return inst.spec.org_id
    if resolved is not None:
        return resolved
    org = await client.find_org(inst.spec.org or "")
    if org is None:
        raise Blocked(Reason.ORG_NOT_FOUND, f"no organization named {inst.spec.org!r} on {inst.spec.url}")
    return org.id


def _check_version(inst: clients.Instance, reported: str | None) -> None:
    """Refused before anything else is asked of it: older servers lack APIs the operator uses."""
    if versions.too_old(versions.parse(reported)):
        raise Blocked(
            Reason.UNSUPPORTED_VERSION,
            f"InfluxDB at {inst.spec.url} reports version {reported}, older than {versions.OLDEST}: "
            f"the operator supports influxd {versions.SUPPORTED}",
        )


async def sync(rt: Runtime, refs: Refs, obj: Obj) -> tuple[Result, Listing]:
    """Health, org (looked up once per generation: a new URL may be a new
    server, but not every period), and the org's listing."""
    meta, status = obj["metadata"], obj["status"]
    inst = clients.instance(refs, meta["namespace"], meta["name"], need_org=False)
    client = await rt.clients.get(refs, inst)
    resolved = status.get("orgID") if applied_generation(status) == meta["generation"] else None
    try:
        health = await client.health()
        _check_version(inst, health.version)
        org_id = await _org_id(client, inst, resolved)
        listing = await Listing.take(client, org_id)
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"InfluxDB at {inst.spec.url}") from error
    # The instance itself is never written; pausing it pauses its dependents.
    paused = (Reason.PAUSED, f"{PAUSED}: nothing is written to InfluxDB for its resources") if inst.paused else None
    result = Result(
        status=v1alpha1.InfluxDBInstanceStatus(orgID=org_id, version=health.version),
        conditions=ready(f"InfluxDB {health.version or ''} is up and the token works", not_synced=paused),
    )
    return result, listing


async def delete(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> None:
    """Waits while anything uses the instance; InfluxDB itself is left alone."""
    meta = obj["metadata"]
    remote_objs, replication_objs = deps.of_instance(refs, (meta["namespace"], meta["name"]))
    users = [f"RemoteConnection {o['metadata']['name']}" for o in remote_objs]
    users += [f"Replication {o['metadata']['name']}" for o in replication_objs]
    # Remotes whose tokens are minted here: without the instance they could not be revoked.
    # A scan of the remotes, but on an instance's deletion only.
    users += [
        f"RemoteConnection {name} (its minted token)"
        for (namespace, name), objs in refs.remotes.items()
        if namespace == meta["namespace"]
        and any((o["spec"].get("remoteInstanceRef") or {}).get("name") == meta["name"] for o in objs)
    ]
    if users:
        raise Blocked(Reason.IN_USE, f"still used by {', '.join(sorted(users))}; deletion waits until they are gone")
    await rt.clients.forget(meta["uid"])
