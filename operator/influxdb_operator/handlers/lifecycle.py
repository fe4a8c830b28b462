"""Operator start-up and clean-up: kopf settings, the operator's `Runtime`
(kept in kopf's memo, which every handler receives), the metrics endpoint."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import kopf
from kopf._cogs.structs.references import Resource

from .. import config, metrics
from ..api import v1alpha1
from ..driver.finish import settled
from ..state.runtime import Runtime
from ..state.world import Key, Obj
from . import children, kopf_fixes, kube

KOPF_STATUS = "status.kopf"
# The name Events are reported by (their source component and reportingComponent).
EVENT_COMPONENT = "influxdb-replication-operator"
# Where earlier builds kept the diff-base: read while an object still has no other.
LEGACY_DIFFBASE = kopf.AnnotationsDiffBaseStorage(prefix=v1alpha1.GROUP, key="last-handled-configuration")


class DiffBaseStorage(kopf.StatusDiffBaseStorage):
    """kopf's diff-base in status, falling back to the annotation earlier
    versions kept it in: an upgrade sees every object as already handled,
    not as new (which would cost an InfluxDB call per object)."""

    def __init__(self) -> None:
        super().__init__(field=f"{KOPF_STATUS}.last-handled-configuration")

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return super().fetch(body=body) or LEGACY_DIFFBASE.fetch(body=body)

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        """kopf's essence (spec, labels, annotations), from a copy of only those:
        kopf deep-copies the whole body first (status, managedFields), for every
        watch event of every object, and then drops most of it."""
        if extra_fields:
            return super().build(body=body, extra_fields=extra_fields)
        meta = body.get("metadata", {})
        lean = {k: v for k, v in body.items() if k not in ("metadata", "status")}
        lean["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
        return super().build(body=cast(kopf.Body, lean))


DIFFBASE = DiffBaseStorage()


class _IndexersUnlogged(logging.Filter):
    """kopf logs every indexer call at INFO: two lines for every watch event
    of every Replication, which say nothing (a failing one is still logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg
        return not (isinstance(message, str) and message.startswith("Indexer ") and message.endswith(" succeeded."))


logging.getLogger("kopf.objects").addFilter(_IndexersUnlogged())


def runtime(memo: kopf.Memo) -> Runtime:
    """The operator's state, set up at start-up."""
    rt = memo.runtime
    assert isinstance(rt, Runtime)
    return rt


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Progress and diff-base live in `status.kopf`, beside the status the
    # handlers write: a handled change is then one status patch (and one watch
    # event back), not a status patch and an annotations patch.
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field=f"{KOPF_STATUS}.progress")
    settings.persistence.diffbase_storage = DIFFBASE
    settings.persistence.finalizer = f"{v1alpha1.GROUP}/finalizer"
    settings.peering.name = "influxdb-replication-operator"
    settings.peering.mandatory = False
    # Events are for people; kopf's own per-handler chatter is left to logs.
    settings.posting.level = logging.WARNING
    # kopf posts each object's Events from a worker of its own; unbounded, a
    # refresh that announces something for a thousand objects opens a thousand
    # API server connections at once. Bounded, a worker should not idle long.
    settings.posting.worker_limit = 32
    settings.posting.idle_timeout = 0.2
    # `kubectl describe` shows the component as an Event's "From" (kopf's
    # default is "kopf"); the instance is the pod (its hostname), stable for
    # the pod's life, so replicas' Events can be told apart.
    settings.posting.reporting_component = EVENT_COMPONENT
    settings.posting.reporting_instance = socket.gethostname()
    settings.posting.event_name_prefix = f"{EVENT_COMPONENT}-"
    settings.watching.server_timeout = 300
    # kopf lists everything in one answer unless told otherwise: at 10,000
    # Replications tens of MB that the API server builds and kopf decodes at
    # once. Pages of 500, as client-go's informers list.
    settings.watching.chunk_size = 500
    settings.networking.error_backoffs = [1, 2, 5, 10]
    rt = memo.runtime = Runtime(
        config.settings(), kube.StatusWriter(), kube.post_events, kube.SecretStore(), children.ChildStore()
    )
    kopf_fixes.admission = functools.partial(_admission, rt)
    port = os.environ.get("INFLUXDB_OPERATOR_METRICS_PORT")
    if port:
        # All interfaces: in a pod, Prometheus scrapes the pod IP.
        address = os.environ.get("INFLUXDB_OPERATOR_METRICS_ADDR", "0.0.0.0")  # noqa: S104
        metrics.serve(int(port), address)


def _admission(rt: Runtime, resource: Resource, body: Mapping[str, Any]) -> AbstractAsyncContextManager[Any]:
    """Where kopf takes up an object's event: one of its instance's places,
    taken before kopf builds the handlers' causes and state, so a backlog
    waiting its turn holds only its events. Not for a settled object's events
    (most: the echo of each status write), whose handling is brief, nor for an
    instance's own: a new URL for a server that does not answer must not wait
    behind its dependents' calls to it."""
    if resource.group != v1alpha1.GROUP:
        return contextlib.nullcontext()
    obj = {key: body.get(key) or {} for key in ("metadata", "spec", "status")}
    instance = instance_of(obj)
    return rt.slot(instance) if instance is not None and not admits_itself(obj) else contextlib.nullcontext()


def admits_itself(obj: Obj) -> bool:
    """Whether kopf took up this object's event without a place: a handler that
    runs for it anyway (kopf saw it as new, say) takes one itself."""
    return settled(obj) and not obj["metadata"].get("deletionTimestamp")


def instance_of(obj: Obj) -> Key | None:
    """The instance whose places `obj` takes: its instanceRef's (an instance has none)."""
    name = (obj["spec"].get("instanceRef") or {}).get("name")
    return (obj["metadata"].get("namespace") or "", name) if name else None


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    await runtime(memo).close()
