"""The Kubernetes side of a ReplicationSet: its child Replications created,
set back, deleted or released, through the official client (in a thread)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import kubernetes

from ..api import v1alpha1
from ..state import child_store
from ..state.world import Obj

PLURAL, SET_KIND = "replications", "ReplicationSet"
MANAGED_BY = {"app.kubernetes.io/managed-by": "influxdb-replication-operator"}


class Refused(Exception):
    """The API server's refusal of a call on a child."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


class ChildStore:
    def __init__(self) -> None:
        self._api = kubernetes.client.CustomObjectsApi()

    def _call(self, method: str, namespace: str, *args: Any, **kwargs: Any) -> Any:
        call = getattr(self._api, method)
        try:
            return call(v1alpha1.GROUP, v1alpha1.VERSION, namespace, *args, **kwargs)
        except kubernetes.client.ApiException as error:
            # The status and the API server's message only: the exception's text carries every
            # header of the answer. (A child holds no secret: its message may quote its spec.)
            try:
                why = str(json.loads(error.body or "{}").get("message") or error.reason)
            except (ValueError, AttributeError):
                why = str(error.reason)
            verb = method.split("_", 1)[0]
            raise Refused(error.status, f"{verb} of a child Replication in {namespace}: {error.status} {why}") from None

    async def create(self, owner: Obj, name: str, spec: Mapping[str, Any]) -> child_store.Made:
        meta = owner["metadata"]
        body = {
            "apiVersion": v1alpha1.API_VERSION,
            "kind": "Replication",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": {v1alpha1.SET_LABEL: meta["name"], **MANAGED_BY},
                "ownerReferences": [
                    {
                        "apiVersion": v1alpha1.API_VERSION,
                        "kind": SET_KIND,
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": dict(spec),
        }
        try:
            await asyncio.to_thread(self._call, "create_namespaced_custom_object", meta["namespace"], PLURAL, body)
        except Refused as error:
            if error.status != 409:
                raise
            # Made before (a restart, or the index not caught up yet): ours if this set controls it.
            existing = await asyncio.to_thread(
                self._call, "get_namespaced_custom_object", meta["namespace"], PLURAL, name
            )
            owners = (existing.get("metadata") or {}).get("ownerReferences") or []
            ours = any(o.get("uid") == meta["uid"] and o.get("controller") for o in owners)
            return "existed" if ours else "taken"
        return "created"

    async def _merge_patch(self, namespace: str, name: str, body: Mapping[str, Any]) -> None:
        await asyncio.to_thread(
            self._call,
            "patch_namespaced_custom_object",
            namespace,
            PLURAL,
            name,
            dict(body),
            _content_type="application/merge-patch+json",
        )

    async def reset(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        await self._merge_patch(namespace, name, {"spec": dict(patch)})

    async def delete(self, namespace: str, name: str) -> None:
        try:
            await asyncio.to_thread(self._call, "delete_namespaced_custom_object", namespace, PLURAL, name)
        except Refused as error:
            if error.status != 404:
                raise

    async def release(self, owner: Obj, name: str) -> None:
        namespace, uid = owner["metadata"]["namespace"], owner["metadata"]["uid"]
        try:
            existing = await asyncio.to_thread(self._call, "get_namespaced_custom_object", namespace, PLURAL, name)
            owners = [o for o in existing["metadata"].get("ownerReferences") or [] if o.get("uid") != uid]
            patch = {"metadata": {"labels": {v1alpha1.SET_LABEL: None}, "ownerReferences": owners or None}}
            await self._merge_patch(namespace, name, patch)
        except Refused as error:
            if error.status != 404:
                raise
