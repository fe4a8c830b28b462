"""A new replication is refused when the instance it writes to, if the
operator knows it, already streams the remote bucket back into the local
one. Checked before the first create only (a handler's, once): the target's
latest listing, and one bucket lookup on it when a back stream may exist."""

from __future__ import annotations

from ...api import v1alpha1
from ...driver import resolution
from ...influx import errors
from ...reconcile import loops
from ...reconcile.outcome import Blocked, from_influx
from ...reconcile.reasons import Reason
from ...state import clients
from ...state.runtime import Runtime
from ...state.world import Key, Obj, Refs, one


def _target(refs: Refs, namespace: str, remote: Obj) -> Key | None:
    """The InfluxDBInstance the RemoteConnection writes to: its remoteInstanceRef, or one at its URL and org."""
    spec = remote["spec"]
    if ref := (spec.get("remoteInstanceRef") or {}).get("name"):
        return (namespace, ref)
    for (space, name), objs in refs.instances.items():
        for obj in objs:
            org = obj["spec"].get("orgID") or obj["status"].get("orgID")
            if space == namespace and loops.Endpoint(obj["spec"].get("url", ""), org).is_(
                spec.get("remoteURL") or "", spec.get("remoteOrgID")
            ):
                return (space, name)
    return None


async def check(rt: Runtime, refs: Refs, res: resolution.Resolved[v1alpha1.ReplicationSpec]) -> None:
    spec = res.spec
    if spec.remote.connection_ref is None:
        return  # a remote not managed here: where it writes is not known
    remote = one(refs.remotes, (res.namespace, spec.remote.connection_ref.name))
    target = _target(refs, res.namespace, remote) if remote is not None else None
    listing = rt.listings.get(target) if target is not None else None
    if target is None or listing is None or res.inst.org_id is None:
        return
    source = loops.Endpoint(res.inst.spec.url, res.inst.org_id)
    local = ("id", spec.local_bucket.id) if spec.local_bucket.id else ("name", spec.local_bucket.name or "")
    maybe = [
        r
        for r in listing.replications.values()
        if (rm := listing.remotes.get(r.remoteID)) is not None and source.is_(rm.remoteURL, rm.remoteOrgID)
    ]
    if not maybe:
        return
    remote_bucket_id = spec.remote_bucket.id or await _bucket_id(refs, rt, target, spec.remote_bucket.name or "")
    if remote_bucket_id is None:
        return
    back = loops.back_stream(
        listing.replications, listing.remotes, source=source, local_bucket=local, remote_bucket_id=remote_bucket_id
    )
    if back is not None:
        raise Blocked(
            Reason.REPLICATION_LOOP,
            f"InfluxDBInstance {target[1]} already replicates remote bucket "
            f"{spec.remote_bucket.name or remote_bucket_id} back into local bucket {local[1]} (its replication "
            f"{back.name!r}, {back.id}): this one would loop every point forever, so it is not created",
        )


async def _bucket_id(refs: Refs, rt: Runtime, target: Key, name: str) -> str | None:
    inst = clients.instance(refs, *target)
    client = await rt.clients.get(refs, inst)
    try:
        found = await client.find_bucket(inst.org_id or "", name)
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"looking for a loop through InfluxDBInstance {target[1]}") from error
    return found.id if found else None
