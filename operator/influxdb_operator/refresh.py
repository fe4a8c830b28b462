"""The per-instance refresh: each period, `/health`, then one listing of the
org's replications and one of its remotes, and from those alone every
dependent's status refreshed and its drift corrected. InfluxDB calls per
period stay O(1) in the number of objects; Kubernetes writes happen only
for changes."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from . import allocator, metrics
from .api import v1alpha1
from .driver import resolution
from .driver.finish import settle
from .kinds import bucket_listings, influxdb_instance, replication_set
from .kinds.remote import remote_external, remote_sync
from .kinds.replication import idle_skip, replication_external, replication_sync
from .reconcile import conditions
from .reconcile.outcome import Blocked, Result
from .reconcile.reasons import Reason, of_instance
from .state.listing import Listing
from .state.runtime import Runtime
from .state.world import Dependents, Key, Obj, Refs, one

logger = logging.getLogger(__name__)

Sync = Callable[[Obj], Awaitable[Result]]

# Dependents refreshed at once per instance: enough to keep a thousand status writes
# within a period, few enough not to crowd the handlers' calls out of the client's pool.
CONCURRENCY = 16


class Stopped(Protocol):
    """kopf's DaemonStopped, as far as the loop needs it."""

    def __bool__(self) -> bool: ...
    def wait(self) -> Awaitable[Any]: ...


def _writer(rt: Runtime, plural: str, obj: Obj) -> Callable[[dict[str, Any]], Awaitable[None]]:
    meta = obj["metadata"]

    async def write(patch: dict[str, Any]) -> None:
        rt.quiet.pop(meta["uid"], None)  # a refresh that writes is not one to skip the next after
        await rt.write_status(plural, meta["namespace"], meta["name"], patch)

    return write


async def _dependent(rt: Runtime, kind: resolution.Kind[Any], obj: Obj, work: Callable[[], Awaitable[Result]]) -> None:
    if obj["metadata"].get("deletionTimestamp"):
        return  # its deletion handler owns it now
    lock = rt.lock(obj)
    if lock.locked():
        return  # a handler is at work on it and will write its status; next period then
    async with lock:
        await settle(rt, kind.kind, kind.status, obj, work, _writer(rt, kind.plural, obj))


async def _instance(rt: Runtime, refs: Refs, obj: Obj) -> tuple[Blocked | None, Listing | None]:
    listing: Listing | None = None

    async def work() -> Result:
        nonlocal listing
        result, listing = await influxdb_instance.sync(rt, refs, obj)
        return result

    async with rt.lock(obj):
        model = v1alpha1.InfluxDBInstanceStatus
        problem = await settle(rt, influxdb_instance.KIND, model, obj, work, _writer(rt, influxdb_instance.PLURAL, obj))
    return problem, listing


async def refresh_once(rt: Runtime, refs: Refs, deps: Dependents, key: Key) -> None:
    obj = one(refs.instances, key)
    if obj is None or obj["metadata"].get("deletionTimestamp"):
        return
    problem, listing = await _instance(rt, refs, obj)
    if listing is not None:
        rt.listings[key] = listing
    try:
        await _sets(rt, refs, deps, key, problem)
    except Exception:
        # The sets' failure must not hold up the refresh of every other dependent.
        logger.exception("ReplicationSets of InfluxDBInstance %s/%s failed", *key)
    remote_objs, replication_objs = deps.of_instance(refs, key)
    # Remotes first: a recreated remote's new ID is what replications need.
    kinds: list[tuple[resolution.Kind[Any], list[Obj], Sync]] = [
        (remote_external.KIND, remote_objs, lambda o: remote_sync.sync(rt, refs, o, listing)),
        (replication_external.KIND, replication_objs, lambda o: replication_sync.sync(rt, refs, o, listing)),
    ]
    if problem is None:  # idle replications whose inputs are all as they were are skipped
        changed = [o for o in replication_objs if not idle_skip.unchanged(rt, refs, o, listing)]
        metrics.reconciles.labels(replication_external.KIND.kind, "unchanged").inc(len(replication_objs) - len(changed))
        replication_objs[:] = changed
    for kind, objs, sync in kinds:
        due = [
            o for o in objs if (problem is not None or rt.recorded_id(o) or was_paused(o)) and not rt.owed_to_handler(o)
        ]
        # Never-created objects are skipped when the instance is fine: their handler owns
        # them, retrying with backoff; looking them up here would poll InfluxDB per object.
        # One held back by a pause is taken up here: unpausing wakes the refresh.
        await _each(due, functools.partial(_refresh_dependent, rt, kind, key, problem, sync))


async def _sets(rt: Runtime, refs: Refs, deps: Dependents, key: Key, problem: Blocked | None) -> None:
    """The ReplicationSets that select this instance, reconciled from its
    buckets listed now; an instance that cannot be listed (its own problem,
    or the listing's) keeps its children as they are, and its sets say so."""
    selecting = replication_set.selecting(refs, deps, key)
    if not selecting:
        return
    if problem is not None:
        bucket_listings.unlisted(rt, key)
    else:
        try:
            await bucket_listings.listed(rt, refs, key, max_age=0)
        except Blocked as blocked:
            logger.warning("InfluxDBInstance %s/%s: %s", *key, blocked.message)
    for obj in selecting:
        await replication_set.settle_latest(rt, refs, deps, obj)


async def _refresh_dependent(
    rt: Runtime, kind: resolution.Kind[Any], key: Key, problem: Blocked | None, sync: Sync, dependent: Obj
) -> None:
    try:
        await _dependent(
            rt,
            kind,
            dependent,
            functools.partial(_blocked, key, problem) if problem else functools.partial(sync, dependent),
        )
    except Exception:
        # One object's failure to write its status (e.g. it was deleted
        # meanwhile) must not starve the others of their refresh.
        meta = dependent["metadata"]
        logger.exception("refresh of %s %s/%s failed", kind.kind, meta["namespace"], meta["name"])
        metrics.reconciles.labels(kind.kind, "error").inc()


async def _each(objs: list[Obj], work: Callable[[Obj], Awaitable[None]]) -> None:
    """`work` on every object, CONCURRENCY at a time: objects are independent, and one
    by one a period's status writes under traffic (one per replication) add up to more
    than the period at a thousand objects."""
    pending = iter(objs)

    async def worker() -> None:
        for obj in pending:  # a shared iterator: each object is taken by one worker
            await work(obj)

    await asyncio.gather(*(worker() for _ in range(min(CONCURRENCY, len(objs)))))


def was_paused(obj: Obj) -> bool:
    """Its status last said Paused: a reconcile is owed once it is unpaused."""
    synced = conditions.get(obj["status"].get("conditions") or [], v1alpha1.ConditionType.SYNCED) or {}
    return synced.get("reason") == Reason.PAUSED


async def _blocked(key: Key, problem: Blocked) -> Result:
    """What a dependent reports while its instance is blocked."""
    raise Blocked(of_instance(problem.reason), f"InfluxDBInstance {key[1]}: {problem.message}")


async def run(rt: Runtime, refs: Refs, deps: Dependents, key: Key, stopped: Stopped) -> None:
    """Refresh every period, or sooner when woken (spec or Secret change),
    until stopped."""
    wakeup = rt.wakeup(key)
    try:
        while not stopped:
            wakeup.clear()
            started = time.monotonic()
            try:
                await refresh_once(rt, refs, deps, key)
            except Exception:
                # A bug must not end the refresh for good.
                logger.exception("refresh of InfluxDBInstance %s/%s failed", *key)
            metrics.refresh_seconds.observe(time.monotonic() - started)
            allocator.trim()
            obj = one(refs.instances, key)
            period = v1alpha1.parse_duration(obj["spec"].get("resyncPeriod", "30s")) if obj else 30.0
            waits = [asyncio.ensure_future(wakeup.wait()), asyncio.ensure_future(stopped.wait())]
            try:
                await asyncio.wait(waits, timeout=max(1.0, period), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
    finally:
        rt.refresh_stopped(key)
