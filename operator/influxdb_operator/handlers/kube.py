"""The operator's two ways out to Kubernetes besides kopf's own patches:
status writes that cannot wait for the end of a handler (the create-pending
marker, which must be stored before the InfluxDB POST, and the refresh's
writes for objects other than its daemon's), and Events.

The official client is synchronous, so its calls run in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

import kopf
import kubernetes
import urllib3

from ..api import v1alpha1
from ..reconcile.outcome import Event
from ..state.runtime import SecretRefused
from ..state.world import Obj

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
        await asyncio.to_thread(self._patch, plural, namespace, name, {"status": status})

    def _patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]) -> None:
        # The object the API answers with is not needed: its body is read, not decoded.
        response = self._api.patch_namespaced_custom_object_status(
            v1alpha1.GROUP,
            v1alpha1.VERSION,
            namespace,
            plural,
            name,
            body,
            _content_type="application/merge-patch+json",
            _preload_content=False,
        )
        assert isinstance(response, urllib3.BaseHTTPResponse)
        response.drain_conn()
        response.release_conn()


class SecretStore:
    """Secrets the operator owns: minted tokens, owned by their RemoteConnection
    (so Kubernetes deletes them with it). Their data is never logged: errors
    are re-raised without the request, which holds it."""

    def __init__(self) -> None:
        self._api = kubernetes.client.CoreV1Api()

    async def put(self, owner: Obj, owner_kind: str, name: str, data: Mapping[str, str]) -> None:
        meta = owner["metadata"]
        body: Any = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": {"app.kubernetes.io/managed-by": "influxdb-replication-operator"},
                "ownerReferences": [
                    {
                        "apiVersion": v1alpha1.API_VERSION,
                        "kind": owner_kind,
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "stringData": dict(data),
        }
        namespace = meta["namespace"]
        try:
            existing = await asyncio.to_thread(self._api.read_namespaced_secret, name, namespace)
            owners = (existing.metadata.owner_references if existing.metadata else None) or []
            if not any(owner.uid == meta["uid"] for owner in owners):
                raise SecretRefused(f"Secret {namespace}/{name} exists and is not owned by {owner_kind} {meta['name']}")
            await asyncio.to_thread(self._api.replace_namespaced_secret, name, namespace, body)
        except kubernetes.client.ApiException as error:
            if error.status != 404:
                raise _refusal(error, f"replacing Secret {namespace}/{name}") from None
            try:
                await asyncio.to_thread(self._api.create_namespaced_secret, namespace, body)
            except kubernetes.client.ApiException as again:
                raise _refusal(again, f"creating Secret {namespace}/{name}") from None

    async def delete(self, namespace: str, name: str) -> None:
        try:
            await asyncio.to_thread(self._api.delete_namespaced_secret, name, namespace)
        except kubernetes.client.ApiException as error:
            if error.status != 404:
                raise _refusal(error, f"deleting Secret {namespace}/{name}") from None


def _refusal(error: kubernetes.client.ApiException, doing: str) -> Exception:
    """The API's answer without the request (which holds the token): a
    refusal (4xx) is sure to have written nothing, anything else may have."""
    message = f"{doing}: {error.status} {error.reason}"
    return SecretRefused(message) if 400 <= (error.status or 0) < 500 else RuntimeError(message)


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
