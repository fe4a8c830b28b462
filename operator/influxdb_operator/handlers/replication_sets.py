"""ReplicationSet: its reconcile on a change (from the buckets already
listed; the selected instances' refreshes are woken to list them anew), its
deletion, and a recount when a child's status changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from ..api import v1alpha1
from ..driver.finish import settle
from ..kinds import replication_set
from ..reconcile.outcome import Blocked
from ..state.runtime import Runtime
from ..state.world import Obj
from . import indexes
from .lifecycle import runtime
from .resources import on_delete

GROUP, VERSION, PLURAL = v1alpha1.GROUP, v1alpha1.VERSION, replication_set.PLURAL
# A burst of child status changes (a thousand children turning Ready) is
# counted once per this many seconds, not once per child.
RECOUNT_AFTER = 1.0

_recounts: dict[str, asyncio.Task[None]] = {}


Write = Callable[[dict[str, Any]], Awaitable[None]]


async def _settle(rt: Runtime, obj: Obj, kwargs: dict[str, Any], write: Write) -> Blocked | None:
    refs, deps = indexes.refs(kwargs), indexes.dependents(kwargs)
    async with rt.lock(obj):
        work = lambda: replication_set.sync(rt, refs, deps, obj)  # noqa: E731
        try:
            return await settle(rt, replication_set.KIND, v1alpha1.ReplicationSetStatus, obj, work, write)
        finally:
            rt.handled[obj["metadata"]["uid"]] = obj["metadata"]["generation"]  # the refresh may take it up now


@kopf.on.create(GROUP, VERSION, PLURAL, id="reconcile")
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec", id="reconcile")
@kopf.on.resume(GROUP, VERSION, PLURAL, id="resume")
async def reconcile(body: kopf.Body, patch: kopf.Patch, retry: int, memo: kopf.Memo, **kwargs: Any) -> None:
    rt, obj = runtime(memo), indexes.snapshot(body)

    async def write(status: dict[str, Any]) -> None:
        for key, value in status.items():
            patch.status[key] = value

    problem = None
    # Resumed with its spec already applied: the refreshes woken below take it up from their
    # listings. A reconcile now, before any listing, would turn it BucketsNotListed for a period.
    if obj["status"].get("observedGeneration") != obj["metadata"]["generation"]:
        problem = await _settle(rt, obj, kwargs, write)
    for name in replication_set.instances(indexes.refs(kwargs), obj):
        rt.wake((obj["metadata"]["namespace"], name))  # their buckets listed now, not at the end of the period
    if problem is not None:
        raise kopf.TemporaryError(problem.message, delay=rt.backoff(retry))


on_delete(replication_set.KIND, PLURAL, v1alpha1.ReplicationSetStatus, replication_set.delete)


@kopf.on.event(GROUP, VERSION, "replications", labels={v1alpha1.SET_LABEL: kopf.PRESENT})
async def child_changed(namespace: str | None, labels: kopf.Labels, memo: kopf.Memo, **kwargs: Any) -> None:
    """The set's counts follow its children's status without waiting for a refresh."""
    namespace, name = namespace or "", labels.get(v1alpha1.SET_LABEL)
    obj, rt = replication_set.current(indexes.dependents(kwargs), namespace, name or ""), runtime(memo)
    if obj is None:
        return
    uid = obj["metadata"]["uid"]
    if uid in _recounts and not _recounts[uid].done():
        return

    async def recount() -> None:
        await asyncio.sleep(RECOUNT_AFTER)
        refs = indexes.refs(kwargs)
        if replication_set.listed_by_now(rt, refs, obj):  # else its refreshes, about to list, count it
            await replication_set.settle_latest(rt, refs, indexes.dependents(kwargs), obj)

    _recounts[uid] = task = asyncio.create_task(recount())
    task.add_done_callback(lambda _: _recounts.pop(uid, None))
