"""The custom resources as tests write them: plain dicts, like YAML would be.
Keyword arguments beyond the essentials go into (and override) the spec."""

from __future__ import annotations

from typing import Any

API = "influxdb.replication.dev/v1alpha1"


def secret(name: str, namespace: str, token: str, *, key: str = "token") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {key: token},
    }


def instance(
    name: str, namespace: str, /, *, url: str, org: str, secret: str, resync: str = "2s", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "InfluxDBInstance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "url": url,
            "org": org,
            "tokenSecretRef": {"name": secret, "key": "token"},
            "resyncPeriod": resync,
            **spec,
        },
    }


def remote(
    name: str, namespace: str, /, *, instance: str, url: str, org_id: str, secret: str, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "RemoteConnection",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "instanceRef": {"name": instance},
            "remoteURL": url,
            "remoteOrgID": org_id,
            "remoteTokenSecretRef": {"name": secret, "key": "token"},
            **spec,
        },
    }


def minted_remote(name: str, namespace: str, /, *, instance: str, remote_instance: str, **spec: Any) -> dict[str, Any]:
    """A RemoteConnection whose token the operator mints on the InfluxDBInstance `remote_instance`."""
    return {
        "apiVersion": API,
        "kind": "RemoteConnection",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"instanceRef": {"name": instance}, "remoteInstanceRef": {"name": remote_instance}, **spec},
    }


def replication(
    name: str, namespace: str, /, *, instance: str, local_bucket: str, connection: str, remote_bucket: str, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Replication",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "instanceRef": {"name": instance},
            "localBucket": {"name": local_bucket},
            "remote": {"connectionRef": {"name": connection}},
            "remoteBucket": {"name": remote_bucket},
            **spec,
        },
    }


def replication_set(name: str, namespace: str, /, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ReplicationSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
