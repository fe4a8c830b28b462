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
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from .. import metrics
from ..api import v1alpha1
from ..influx import versions
from ..influx.client import InfluxClient
from ..reconcile.outcome import Blocked
from ..reconcile.reasons import Reason
from .world import Refs, one, spec_of

# Replaced clients are closed only after this grace period: a refresh or
# handler may still be in the middle of a call with the old one.
RETIRE_AFTER = 300.0


@dataclass(frozen=True)
class Instance:
    namespace: str
    name: str
    uid: str
    spec: v1alpha1.InfluxDBInstanceSpec
    status: dict[str, Any]
    paused: bool = False  # everything of the instance is paused

    @property
    def org_id(self) -> str | None:
        return self.spec.org_id or self.status.get("orgID")

    @property
    def capabilities(self) -> versions.Capabilities:
        """What its server does where influxd versions differ, from the version it
        last reported (`status.version`, written with the org its dependents wait for)."""
        return versions.of(versions.parse(self.status.get("version")))

    @property
    def org(self) -> str:
        """The org as the user wrote it, for messages."""
        return self.spec.org or self.spec.org_id or ""


def secret_value(refs: Refs, namespace: str, ref: v1alpha1.SecretKeySelector, *, purpose: str) -> SecretStr:
    data = one(refs.secrets, (namespace, ref.name))
    where = f"Secret {namespace}/{ref.name}"
    if data is None:
        raise Blocked(Reason.SECRET_NOT_FOUND, f"{where} ({purpose}) does not exist")
    if ref.key not in data:
        raise Blocked(Reason.SECRET_KEY_NOT_FOUND, f"{where} has no key {ref.key!r} ({purpose})")
    try:
        value = base64.b64decode(data[ref.key], validate=True).decode().strip()
    except (binascii.Error, UnicodeDecodeError):
        # Not chained: the decoding error would quote the secret's bytes.
        raise Blocked(Reason.SECRET_INVALID, f"key {ref.key!r} of {where} is not text") from None
    if not value:
        raise Blocked(Reason.SECRET_KEY_EMPTY, f"key {ref.key!r} of {where} is empty ({purpose})")
    return SecretStr(value)


def instance(refs: Refs, namespace: str, name: str, *, need_org: bool = True) -> Instance:
    body = one(refs.instances, (namespace, name))
    if body is None:
        raise Blocked(Reason.INSTANCE_NOT_FOUND, f"InfluxDBInstance {namespace}/{name} does not exist")
    spec = spec_of(body, v1alpha1.InfluxDBInstanceSpec)
    paused = v1alpha1.paused(body["metadata"].get("annotations"))
    found = Instance(namespace, name, body["metadata"]["uid"], spec, body["status"], paused)
    if need_org and found.org_id is None:
        raise Blocked(
            Reason.INSTANCE_NOT_READY, f"InfluxDBInstance {namespace}/{name} is not ready yet: its org is not resolved"
        )
    return found


def _ssl_context(inst: Instance, tls: v1alpha1.TLSConfig, ca: str | None) -> ssl.SSLContext | bool:
    if tls.insecure_skip_verify:
        return False
    if ca is None:
        return True
    try:
        return ssl.create_default_context(cadata=ca)
    except ssl.SSLError:
        # Not chained: the error may quote the bundle.
        name = tls.ca_secret_ref.name if tls.ca_secret_ref else ""
        raise Blocked(Reason.SECRET_INVALID, f"Secret {inst.namespace}/{name} holds no valid PEM CA bundle") from None


def _tls(refs: Refs, inst: Instance) -> tuple[v1alpha1.TLSConfig, str | None]:
    tls = inst.spec.tls or v1alpha1.TLSConfig()
    if tls.ca_secret_ref is None:
        return tls, None
    return tls, secret_value(refs, inst.namespace, tls.ca_secret_ref, purpose="TLS CA bundle").get_secret_value()


def with_token(refs: Refs, inst: Instance, token: SecretStr) -> InfluxClient:
    """A client for the instance's server that uses another token (a minted
    one, to prove it works); not cached: the caller closes it."""
    tls, ca = _tls(refs, inst)
    context = _ssl_context(inst, tls, ca)
    return InfluxClient(inst.spec.url, token, ssl_context=context, observer=metrics.observe_influx_call)


@dataclass
class ClientCache:
    _clients: dict[str, tuple[str, InfluxClient]] = field(default_factory=dict)
    _retired: list[tuple[float, InfluxClient]] = field(default_factory=list)

    async def get(self, refs: Refs, inst: Instance, *, deleting: bool = False) -> InfluxClient:
        """The instance's client. `deleting`: when a namespace is deleted, its
        Secrets may go before the resources whose finalizers need them; the
        last client made for the instance still knows the token, so use it."""
        try:
            token = secret_value(refs, inst.namespace, inst.spec.token_secret_ref, purpose="InfluxDB token")
            tls, ca = _tls(refs, inst)
        except Blocked:
            if deleting and inst.uid in self._clients:
                return self._clients[inst.uid][1]
            raise
        key = hashlib.sha256(
            f"{inst.spec.url}\0{token.get_secret_value()}\0{tls.insecure_skip_verify}\0{ca}".encode()
        ).hexdigest()
        cached = self._clients.get(inst.uid)
        if cached is not None and cached[0] == key:
            return cached[1]
        context = _ssl_context(inst, tls, ca)
        fresh = InfluxClient(inst.spec.url, token, ssl_context=context, observer=metrics.observe_influx_call)
        self._clients[inst.uid] = (key, fresh)
        now = time.monotonic()
        if cached is not None:
            self._retired.append((now, cached[1]))
        while self._retired and now - self._retired[0][0] > RETIRE_AFTER:
            await self._retired.pop(0)[1].close()
        return fresh

    async def forget(self, uid: str) -> None:
        cached = self._clients.pop(uid, None)
        if cached is not None:
            await cached[1].close()

    async def close(self) -> None:
        for uid in list(self._clients):
            await self.forget(uid)
        while self._retired:
            await self._retired.pop()[1].close()
