"""kopf handlers of every kind, wired the same way: the reconcile of the
kinds backed by one InfluxDB object each (RemoteConnection, Replication),
and every kind's deletion. The per-instance refresh is in `instances`."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from ..api import v1alpha1
from ..driver import resolution
from ..driver.finish import settle, settled
from ..kinds import influxdb_instance
from ..kinds.remote import remote_external, remote_sync
from ..kinds.replication import replication_external, replication_sync
from ..reconcile.outcome import Result
from ..reconcile.reasons import Reason
from ..state.runtime import Runtime
from ..state.world import Dependents, Obj, Refs
from . import indexes
from .lifecycle import admits_itself, instance_of, runtime

PAUSED_RECHECK = 10.0  # seconds

Sync = Callable[[Runtime, Refs, Obj, None], Awaitable[Result]]
Delete = Callable[[Runtime, Refs, Dependents, Obj], Awaitable[None]]


def _into(patch: kopf.Patch) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def write(status: dict[str, Any]) -> None:
        for key, value in status.items():
            patch.status[key] = value

    return write


def on_reconcile(kind: resolution.Kind[Any], sync: Sync) -> None:
    group, version, plural = v1alpha1.GROUP, v1alpha1.VERSION, kind.plural

    async def run(obj: Obj, patch: kopf.Patch, retry: int, memo: kopf.Memo, kwargs: dict[str, Any]) -> None:
        rt, refs = runtime(memo), indexes.refs(kwargs)
        uid, generation = obj["metadata"]["uid"], obj["metadata"]["generation"]
        # kopf took the instance's place before it built this handler's state
        # (`lifecycle._admission`), unless the object was settled: then it is taken here.
        instance = instance_of(obj)
        place = rt.slot(instance) if instance is not None and admits_itself(obj) else contextlib.nullcontext()
        async with place, rt.lock(obj):
            try:
                if rt.applied.get(uid) == generation:
                    return  # the refresh applied this spec after an earlier attempt of the handler
                problem = await settle(rt, kind.kind, kind.status, obj, lambda: sync(rt, refs, obj, None), _into(patch))
            finally:
                rt.handled[uid] = generation  # the refresh may take it up from now on
        if problem is not None:
            raise kopf.TemporaryError(problem.message, delay=rt.backoff(retry))

    @kopf.on.create(group, version, plural, id="reconcile")
    @kopf.on.update(group, version, plural, field="spec", id="reconcile")
    async def reconcile(body: kopf.Body, patch: kopf.Patch, retry: int, memo: kopf.Memo, **kwargs: Any) -> None:
        await run(indexes.snapshot(body), patch, retry, memo, kwargs)

    @kopf.on.resume(group, version, plural, id="resume")
    async def resume(
        body: kopf.Body, patch: kopf.Patch, retry: int, diff: kopf.Diff, memo: kopf.Memo, **kwargs: Any
    ) -> None:
        if any(change.field[:1] == ("spec",) for change in diff):
            return  # changed while the operator was down: the update handler, in the same cycle, has it
        obj = indexes.snapshot(body)
        if settled(obj):
            return  # the refresh sees it in its listing: no per-object call on restart
        await run(obj, patch, retry, memo, kwargs)


def on_delete(kind: str, plural: str, model: type[v1alpha1.Status], delete: Delete) -> None:
    @kopf.on.delete(v1alpha1.GROUP, v1alpha1.VERSION, plural, id="delete")
    async def delete_handler(
        body: kopf.Body,
        patch: kopf.Patch,
        retry: int,
        memo: kopf.Memo,
        **kwargs: Any,
    ) -> None:
        rt, obj = runtime(memo), indexes.snapshot(body)
        refs, deps = indexes.refs(kwargs), indexes.dependents(kwargs)
        async with rt.lock(obj):
            problem = await settle(rt, kind, model, obj, lambda: delete(rt, refs, deps, obj), _into(patch))
        if problem is not None:
            # A paused deletion costs no InfluxDB call to retry: checked often, it goes on soon after an unpause.
            delay = rt.backoff(retry) if problem.reason is not Reason.PAUSED else min(rt.backoff(retry), PAUSED_RECHECK)
            raise kopf.TemporaryError(problem.message, delay=delay)
        rt.forget(obj["metadata"]["uid"])


for managed_kind, sync, delete in (
    (remote_external.KIND, remote_sync.sync, remote_sync.delete),
    (replication_external.KIND, replication_sync.sync, replication_sync.delete),
):
    on_reconcile(managed_kind, sync)
    on_delete(managed_kind.kind, managed_kind.plural, managed_kind.status, delete)
on_delete(influxdb_instance.KIND, influxdb_instance.PLURAL, v1alpha1.InfluxDBInstanceStatus, influxdb_instance.delete)
