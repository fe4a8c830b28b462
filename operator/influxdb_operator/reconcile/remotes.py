"""RemoteConnection: the body InfluxDB should hold and what differs.

The remote token is write-only in InfluxDB, so its drift cannot be observed;
instead a salted fingerprint of the token last sent is kept in status and the
token is re-sent whenever the Secret's value no longer matches it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import SecretStr

from ..api import v1alpha1
from ..influx import models


def fingerprint(token: SecretStr, *, salt: str) -> str:
    """Short, salted (by the object's UID) and one-way: safe to show in status."""
    digest = hashlib.sha256(f"{salt}:{token.get_secret_value()}".encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def desired(spec: v1alpha1.RemoteConnectionSpec, *, name: str, org_id: str, token: SecretStr) -> models.RemoteCreate:
    return models.RemoteCreate(
        orgID=org_id,
        name=name,
        description=spec.description or "",
        remoteURL=spec.remote_url,
        remoteAPIToken=token,
        remoteOrgID=spec.remote_org_id,
        allowInsecureTLS=spec.allow_insecure_tls,
    )


def drift(want: models.RemoteCreate, have: models.Remote) -> dict[str, tuple[Any, Any]]:
    """Observable fields that differ, as {field: (observed, desired)}."""
    pairs: dict[str, tuple[Any, Any]] = {
        "name": (have.name, want.name),
        "description": (have.description or "", want.description or ""),
        "remoteURL": (have.remoteURL, want.remoteURL),
        "allowInsecureTLS": (have.allowInsecureTLS, want.allowInsecureTLS),
    }
    if want.remoteOrgID is not None:
        pairs["remoteOrgID"] = (have.remoteOrgID, want.remoteOrgID)
    return {field: pair for field, pair in pairs.items() if pair[0] != pair[1]}


def correction(differing: dict[str, tuple[Any, Any]], *, token: SecretStr | None = None) -> models.RemoteUpdate:
    """The PATCH body: every differing field, plus the token when it changed."""
    fields = {field: desired for field, (_, desired) in differing.items()}
    return models.RemoteUpdate.model_validate(fields | ({"remoteAPIToken": token} if token is not None else {}))
