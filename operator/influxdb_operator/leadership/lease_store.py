"""The Lease on the API server: read, create, update, each one request with a
timeout, through the official client (synchronous: the election runs in a
thread of its own, so a busy event loop cannot starve the renewals)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from ..api import v1alpha1
from . import election


class Conflict(Exception):
    """Someone else wrote the Lease first (409): read it again."""


@dataclass(frozen=True)
class Read:
    record: election.Record | None  # None: no such Lease
    version: str | None


class LeaseStore:
    def __init__(self, name: str, namespace: str, timeout: float, watches: list[str]) -> None:
        """`watches`: the operator's --namespace patterns (none: all), written on
        the Lease so that `kubectl influxdb status` knows whose leader it names."""
        try:
            kubernetes.config.load_incluster_config()
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()
        self._api = kubernetes.client.CoordinationV1Api()
        self.name, self.namespace, self._timeout = name, namespace, timeout
        self._watches = ",".join(watches) or "*"

    def read(self) -> Read:
        answer: Any
        try:
            answer = self._api.read_namespaced_lease(
                self.name, self.namespace, _preload_content=False, _request_timeout=self._timeout
            )
        except ApiException as error:
            if error.status == 404:
                return Read(None, None)
            raise
        return _parsed(json.loads(answer.data))

    def create(self, record: election.Record) -> Read:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": self._meta(None)}
        return self._write(self._api.create_namespaced_lease, {**body, "spec": _spec(record)})

    def update(self, record: election.Record, version: str | None) -> Read:
        """Only if the Lease is still at `version`: optimistic concurrency."""
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": self._meta(version)}
        return self._write(
            lambda *args, **kwargs: self._api.replace_namespaced_lease(self.name, *args, **kwargs),
            {**body, "spec": _spec(record)},
        )

    def _meta(self, version: str | None) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": {v1alpha1.LEASE_LABEL: "true"},
            "annotations": {v1alpha1.LEASE_WATCHES: self._watches},
        }
        if version is not None:
            meta["resourceVersion"] = version
        return meta

    def _write(self, call: Any, body: dict[str, Any]) -> Read:
        try:
            answer = call(self.namespace, body, _preload_content=False, _request_timeout=self._timeout)
        except ApiException as error:
            if error.status == 409:
                raise Conflict from None
            raise
        return _parsed(json.loads(answer.data))


def _spec(record: election.Record) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "holderIdentity": record.holder,
        "leaseDurationSeconds": record.lease_duration,
        "leaseTransitions": record.transitions,
    }
    if record.acquire_time:
        spec["acquireTime"] = record.acquire_time
    if record.renew_time:
        spec["renewTime"] = record.renew_time
    return spec


def _parsed(lease: dict[str, Any]) -> Read:
    spec = lease.get("spec") or {}
    record = election.Record(
        holder=spec.get("holderIdentity") or "",
        lease_duration=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=spec.get("acquireTime"),
        renew_time=spec.get("renewTime"),
        transitions=int(spec.get("leaseTransitions") or 0),
    )
    return Read(record, lease["metadata"]["resourceVersion"])
