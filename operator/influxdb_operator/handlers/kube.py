"""The operator's two ways out to Kubernetes besides kopf's own patches:
status writes that cannot wait for the end of a handler (the create-pending
marker, which must be stored before the InfluxDB POST, and the refresh's
writes for objects other than its daemon's), and Events.

The official client is synchronous, so its calls run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, cast

import kopf
import kubernetes

from ..api import v1alpha1
from ..managed.world import Obj
from ..reconcile.outcome import Event

logger = logging.getLogger(__name__)


class StatusWriter:
    def __init__(self) -> None:
        try:
            kubernetes.config.load_incluster_config()
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()
        self._api = kubernetes.client.CustomObjectsApi()

    async def __call__(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge-patch `status` into the object's status subresource."""
        logger.debug("patching the status of %s %s/%s with %s", plural, namespace, name, status)
        await asyncio.to_thread(
            self._api.patch_namespaced_custom_object_status,
            v1alpha1.GROUP,
            v1alpha1.VERSION,
            namespace,
            plural,
            name,
            {"status": status},
            _content_type="application/merge-patch+json",
        )


def post_events(obj: Obj, kind: str, events: Sequence[Event]) -> None:
    """Post events about `obj` (kopf queues and sends them in the background)."""
    if not events:
        return
    meta = obj["metadata"]
    ref = {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": kind,
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
    }
    for event in events:
        kopf.event(kopf.Body(cast(kopf.RawBody, ref)), type=event.type, reason=event.reason, message=event.message)
