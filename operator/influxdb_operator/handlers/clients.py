"""From an InfluxDBInstance reference to a ready client, or a reason why not.

Tokens are read from the Secrets index at every use, so a rotated Secret
takes effect on the next call; clients (and their connection pools) are
cached per instance and replaced when the URL, token or TLS settings change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
import time
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from .. import metrics
from ..api import v1alpha1
from ..influx.client import InfluxClient
from . import indexes
from .blocked import Blocked


@dataclass(frozen=True)
class Instance:
    namespace: str
    name: str
    uid: str
    spec: v1alpha1.InfluxDBInstanceSpec
    status: dict[str, Any]

    @property
    def org_id(self) -> str | None:
        return self.spec.org_id or self.status.get("orgID")


def secret_value(world: indexes.World, namespace: str, ref: v1alpha1.SecretKeySelector, *, purpose: str) -> SecretStr:
    data = world.one(world.secrets, (namespace, ref.name))
    if data is None:
        raise Blocked("SecretNotFound", f"Secret {namespace}/{ref.name} ({purpose}) does not exist")
    if ref.key not in data:
        raise Blocked("SecretKeyNotFound", f"Secret {namespace}/{ref.name} has no key {ref.key!r} ({purpose})")
    try:
        value = base64.b64decode(data[ref.key], validate=True).decode().strip()
    except (binascii.Error, UnicodeDecodeError):
        raise Blocked("SecretInvalid", f"key {ref.key!r} of Secret {namespace}/{ref.name} is not text") from None
    if not value:
        raise Blocked("SecretKeyEmpty", f"key {ref.key!r} of Secret {namespace}/{ref.name} is empty ({purpose})")
    return SecretStr(value)


def instance(world: indexes.World, namespace: str, name: str, *, need_org: bool = True) -> Instance:
    body = world.one(world.instances, (namespace, name))
    if body is None:
        raise Blocked("InstanceNotFound", f"InfluxDBInstance {namespace}/{name} does not exist")
    found = Instance(
        namespace,
        name,
        body["metadata"]["uid"],
        v1alpha1.InfluxDBInstanceSpec.model_validate(body["spec"]),
        body["status"],
    )
    if need_org and found.org_id is None:
        raise Blocked(
            "InstanceNotReady", f"InfluxDBInstance {namespace}/{name} is not ready yet: its org is not resolved"
        )
    return found


_cache: dict[str, tuple[str, InfluxClient]] = {}
# Replaced clients, closed only after a grace period: a refresh or handler may
# still be in the middle of a call with the old one.
_retired: list[tuple[float, InfluxClient]] = []
_RETIRE_AFTER = 300.0


async def client(world: indexes.World, inst: Instance, *, deleting: bool = False) -> InfluxClient:
    """The instance's client. `deleting`: when a namespace is deleted, its Secrets
    may go before the resources whose finalizers need them; the last client
    this process made for the instance still knows the token, so use it."""
    try:
        token = secret_value(world, inst.namespace, inst.spec.token_secret_ref, purpose="InfluxDB token")
        tls = inst.spec.tls or v1alpha1.TLSConfig()
        ca = (
            secret_value(world, inst.namespace, tls.ca_secret_ref, purpose="TLS CA bundle").get_secret_value()
            if tls.ca_secret_ref
            else None
        )
    except Blocked:
        if deleting and inst.uid in _cache:
            return _cache[inst.uid][1]
        raise
    key = hashlib.sha256(
        f"{inst.spec.url}\0{token.get_secret_value()}\0{tls.insecure_skip_verify}\0{ca}".encode()
    ).hexdigest()
    cached = _cache.get(inst.uid)
    if cached is not None and cached[0] == key:
        return cached[1]
    context: ssl.SSLContext | bool = True
    if tls.insecure_skip_verify:
        context = False
    elif ca is not None:
        try:
            context = ssl.create_default_context(cadata=ca)
        except ssl.SSLError:
            raise Blocked(
                "SecretInvalid",
                f"Secret {inst.namespace}/{tls.ca_secret_ref and tls.ca_secret_ref.name} holds no valid PEM CA bundle",
            ) from None
    fresh = InfluxClient(inst.spec.url, token, ssl_context=context, observer=metrics.observe_influx_call)
    _cache[inst.uid] = (key, fresh)
    now = time.monotonic()
    if cached is not None:
        _retired.append((now, cached[1]))
    while _retired and now - _retired[0][0] > _RETIRE_AFTER:
        await _retired.pop(0)[1].close()
    return fresh


async def forget(uid: str) -> None:
    cached = _cache.pop(uid, None)
    if cached is not None:
        await cached[1].close()


async def close_all() -> None:
    for uid in list(_cache):
        await forget(uid)
    while _retired:
        await _retired.pop()[1].close()
