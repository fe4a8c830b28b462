"""InfluxDBInstance: the per-instance refresh daemon, and the handlers that
wake it or guard the instance's deletion.

One daemon per instance does, each period: `/health`, then one listing of
replications and one of remotes for the org, and from those alone refreshes
every dependent's status and corrects drift. InfluxDB calls per period stay
O(1) in the number of objects; Kubernetes writes happen only for changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from .. import metrics
from ..api import v1alpha1
from ..influx import errors
from ..reconcile import conditions
from . import clients, indexes, kube, outcomes, remotes, replications
from .blocked import Blocked, from_influx
from .snapshot import Snapshot

KIND, PLURAL = "InfluxDBInstance", "influxdbinstances"

logger = logging.getLogger(__name__)

_wakeups: dict[indexes.Key, asyncio.Event] = {}

Sync = Callable[[indexes.World, dict[str, Any], Snapshot | None], Awaitable[outcomes.Result]]


def wake(namespace: str, name: str) -> None:
    """Refresh this instance now rather than at the end of its period."""
    event = _wakeups.get((namespace, name))
    if event is not None:
        event.set()


async def _sync_instance(world: indexes.World, obj: dict[str, Any]) -> tuple[outcomes.Result, Snapshot]:
    meta, status = obj["metadata"], obj["status"]
    inst = clients.instance(world, meta["namespace"], meta["name"], need_org=False)
    client = await clients.client(world, inst)
    try:
        health = await client.health()
        # The org is looked up once per spec generation (a new URL may be a
        # new server), not every period.
        resolved = status.get("orgID") if status.get("observedGeneration") == meta["generation"] else None
        if inst.spec.org_id is not None:
            org_id = inst.spec.org_id
            if resolved != org_id and await client.get_org(org_id) is None:
                raise Blocked("OrgNotFound", f"no organization with ID {org_id} on {inst.spec.url}")
        elif resolved is not None:
            org_id = resolved
        else:
            org = await client.find_org(inst.spec.org or "")
            if org is None:
                raise Blocked("OrgNotFound", f"no organization named {inst.spec.org!r} on {inst.spec.url}")
            org_id = org.id
        snapshot = await Snapshot.take(client, org_id)
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"InfluxDB at {inst.spec.url}") from None
    result = outcomes.Result(
        fields={"orgID": org_id, "version": health.version},
        conditions=[
            conditions.Condition(
                conditions.READY, "True", "Available", f"InfluxDB {health.version or ''} is up and the token works"
            ),
            conditions.Condition(conditions.SYNCED, "True", "ReconcileSuccess", ""),
        ],
    )
    return result, snapshot


async def _write(
    plural: str, kind: str, obj: dict[str, Any], patch: dict[str, Any], events: list[outcomes.Event]
) -> None:
    if patch:
        meta = obj["metadata"]
        await kube.patch_status(plural, meta["namespace"], meta["name"], patch)
        # What this process now knows to be true, ahead of the watch event.
        obj["status"].update(patch)
    outcomes.emit(obj, events, kind=kind)


async def _refresh_dependent(
    world: indexes.World,
    kind: str,
    plural: str,
    sync: Sync,
    obj: dict[str, Any],
    snapshot: Snapshot | None,
    *,
    blocked: Blocked | None = None,
) -> None:
    meta = obj["metadata"]
    if meta.get("deletionTimestamp"):
        return  # its deletion handler owns it now
    if snapshot is not None and not outcomes.recorded_id(meta["uid"], obj["status"]):
        # Never created yet: its handler owns it, retrying with backoff. Looking
        # it up here every period would poll InfluxDB once per such object.
        return
    lock = outcomes.lock(meta["uid"])
    if lock.locked():
        return  # a handler is at work on it and will write its status; next period then
    started = time.monotonic()
    async with lock:
        try:
            if blocked is not None:
                raise blocked
            result = await sync(world, obj, snapshot)
        except Blocked as failed:
            patch, events = outcomes.failure(obj["status"], failed, generation=meta["generation"])
            metrics.reconciles.labels(kind, "blocked").inc()
        else:
            patch, events = outcomes.success(obj["status"], result, generation=meta["generation"])
            metrics.reconciles.labels(kind, "success").inc()
        await _write(plural, kind, obj, patch, events)
    metrics.reconcile_seconds.labels(kind).observe(time.monotonic() - started)


async def refresh_once(world: indexes.World, key: indexes.Key) -> None:
    obj = world.one(world.instances, key)
    if obj is None or obj["metadata"].get("deletionTimestamp"):
        return
    meta = obj["metadata"]
    snapshot: Snapshot | None = None
    instance_blocked: Blocked | None = None
    async with outcomes.lock(meta["uid"]):
        try:
            result, snapshot = await _sync_instance(world, obj)
        except Blocked as failed:
            instance_blocked = failed
            patch, events = outcomes.failure(obj["status"], failed, generation=meta["generation"])
            metrics.reconciles.labels(KIND, "blocked").inc()
        else:
            patch, events = outcomes.success(obj["status"], result, generation=meta["generation"])
            metrics.reconciles.labels(KIND, "success").inc()
        await _write(PLURAL, KIND, obj, patch, events)
    dependent_blocked = None
    if instance_blocked is not None:
        reason = instance_blocked.reason
        dependent_blocked = Blocked(
            reason if reason.startswith("Instance") else f"Instance{reason}",
            f"InfluxDBInstance {meta['name']}: {instance_blocked.message}",
        )
    # Remotes first: a recreated remote's new ID is what replications need.
    remote_objs = [world.one(world.remotes, (key[0], n)) for n in world.all(world.remotes_by_instance, key)]
    work = [(remotes.KIND, remotes.PLURAL, _sync_remote, o) for o in remote_objs if o is not None]
    work += [
        (replications.KIND, replications.PLURAL, _sync_replication, o)
        for o in world.all(world.replications_by_instance, key)
    ]
    for kind, plural, sync, dependent in work:
        try:
            await _refresh_dependent(world, kind, plural, sync, dependent, snapshot, blocked=dependent_blocked)
        except Exception:
            # One object's unexpected failure (e.g. it was deleted while its
            # status was written) must not starve the others of their refresh.
            name = f"{dependent['metadata']['namespace']}/{dependent['metadata']['name']}"
            logger.exception("refresh of %s %s failed", kind, name)
            metrics.reconciles.labels(kind, "error").inc()


def _sync_remote(world: indexes.World, obj: dict[str, Any], snapshot: Snapshot | None) -> Awaitable[outcomes.Result]:
    return remotes.sync(world, obj, snapshot=snapshot)


def _sync_replication(
    world: indexes.World, obj: dict[str, Any], snapshot: Snapshot | None
) -> Awaitable[outcomes.Result]:
    return replications.sync(world, obj, snapshot=snapshot)


@kopf.daemon(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL, cancellation_timeout=10.0)
async def refresh(
    namespace: str | None, name: str, stopped: kopf.DaemonStopped, logger: kopf.Logger, **kwargs: Any
) -> None:
    world = indexes.World.of(kwargs)
    key = (namespace or "", name)
    wakeup = _wakeups.setdefault(key, asyncio.Event())
    try:
        while not stopped:
            wakeup.clear()
            try:
                await refresh_once(world, key)
            except Exception:
                # A bug must not end the refresh for good; kopf logs it, we go on.
                logger.exception("refresh of InfluxDBInstance %s/%s failed", namespace, name)
            obj = world.one(world.instances, key)
            period = v1alpha1.parse_duration(obj["spec"].get("resyncPeriod", "30s")) if obj else 30.0
            # Sleep until the period ends, a wake-up (spec or Secret change),
            # or kopf stopping the daemon, whichever comes first.
            waits = [asyncio.ensure_future(wakeup.wait()), asyncio.ensure_future(stopped.wait())]
            try:
                await asyncio.wait(waits, timeout=max(1.0, period), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
    finally:
        _wakeups.pop(key, None)


@kopf.on.update(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL, field="spec")
async def changed(namespace: str | None, name: str, **_: Any) -> None:
    wake(namespace or "", name)


@kopf.on.delete(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL)
async def delete(body: kopf.Body, patch: kopf.Patch, retry: int, **kwargs: Any) -> None:
    world = indexes.World.of(kwargs)

    async def _delete(obj: dict[str, Any]) -> None:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        users = [f"RemoteConnection {n}" for n in world.all(world.remotes_by_instance, key)]
        users += [f"Replication {o['metadata']['name']}" for o in world.all(world.replications_by_instance, key)]
        if users:
            raise Blocked("InUse", f"still used by {', '.join(sorted(users))}; deletion waits until they are gone")
        await clients.forget(obj["metadata"]["uid"])

    await outcomes.run_deletion(KIND, body, patch, retry, _delete)
    outcomes.forget(body.metadata.uid or "")


@kopf.on.event("", "v1", "secrets")
async def secret_changed(namespace: str | None, name: str, **kwargs: Any) -> None:
    """A token or CA Secret changed: refresh the instances that use it now."""
    world = indexes.World.of(kwargs)
    namespace = namespace or ""
    for instance_name in world.all(world.instances_by_secret, (namespace, name)):
        wake(namespace, instance_name)
    for remote_name in world.all(world.remotes_by_secret, (namespace, name)):
        remote = world.one(world.remotes, (namespace, remote_name))
        if remote is not None:
            wake(namespace, remote["spec"].get("instanceRef", {}).get("name", ""))
