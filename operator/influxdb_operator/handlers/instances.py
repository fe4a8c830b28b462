"""InfluxDBInstance: its refresh daemon, and what wakes it early (a spec or
a Secret change, an unpause). Its deletion is wired with every kind's in
`resources`."""

from __future__ import annotations

from typing import Any

import kopf

from .. import refresh
from ..api import v1alpha1
from ..kinds import influxdb_instance
from ..reconcile import tokens
from ..state.world import every, one
from . import indexes
from .lifecycle import runtime


@kopf.daemon(v1alpha1.GROUP, v1alpha1.VERSION, influxdb_instance.PLURAL, cancellation_timeout=10.0)
async def refresh_daemon(
    namespace: str | None,
    name: str,
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    refs = indexes.refs(kwargs)
    deps = indexes.dependents(kwargs)
    await refresh.run(runtime(memo), refs, deps, (namespace or "", name), stopped)


@kopf.on.update(v1alpha1.GROUP, v1alpha1.VERSION, influxdb_instance.PLURAL, field="spec")
async def changed(namespace: str | None, name: str, memo: kopf.Memo, **_: Any) -> None:
    runtime(memo).wake((namespace or "", name))


@kopf.on.event("", "v1", "secrets")
async def secret_changed(
    namespace: str | None,
    name: str,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """A token or CA Secret changed: refresh the instances that use it now."""
    rt, namespace = runtime(memo), namespace or ""
    for instance_name in every(kwargs["instances_by_secret"], (namespace, name)):
        rt.wake((namespace, instance_name))
    for remote_name in every(kwargs["remotes_by_secret"], (namespace, name)):
        remote = one(kwargs["remotes"], (namespace, remote_name))
        if remote is not None:
            rt.wake((namespace, remote["spec"].get("instanceRef", {}).get("name", "")))


def _unpaused(body: kopf.Body, **_: Any) -> bool:
    """kopf's filter, before the handler (which it would log every time): every
    event of these kinds comes here, so it reads in place and copies nothing."""
    return not v1alpha1.paused(body.metadata.annotations) and refresh.was_paused({"status": body.status})


def _on_unpause(plural: str) -> None:
    """kopf diffs no annotation of its own prefix, which the pause annotation
    shares, so an unpause is seen in the raw events: not paused, yet its
    status still says Paused. The refresh then reconciles what was held back."""

    @kopf.on.event(v1alpha1.GROUP, v1alpha1.VERSION, plural, id="unpause", when=_unpaused)
    async def unpaused(body: kopf.Body, namespace: str | None, name: str, memo: kopf.Memo, **_: Any) -> None:
        instance = name if plural == influxdb_instance.PLURAL else body.spec.get("instanceRef", {}).get("name", "")
        runtime(memo).wake((namespace or "", instance))


for unpausing in (influxdb_instance.PLURAL, "remoteconnections", "replications"):
    _on_unpause(unpausing)


@kopf.on.event(
    v1alpha1.GROUP, v1alpha1.VERSION, "remoteconnections", annotations={tokens.ROTATE_ANNOTATION: kopf.PRESENT}
)
async def rotation_requested(body: kopf.Body, namespace: str | None, memo: kopf.Memo, **_: Any) -> None:
    """A new rotate-token annotation: the refresh, which rotates, runs now
    rather than at the end of its period (no InfluxDB call here)."""
    request = body.metadata.annotations.get(tokens.ROTATE_ANNOTATION)
    answered = (body.status.get("mintedToken") or {}).get("rotationRequest")
    underway = body.status.get("tokenRotationStarted")
    if request is not None and request != answered and not underway and body.spec.get("remoteInstanceRef"):
        runtime(memo).wake((namespace or "", body.spec.get("instanceRef", {}).get("name", "")))
