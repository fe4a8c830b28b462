"""RemoteConnection: the remote InfluxDB should hold (its request bodies are
its adapter's, `kinds/remote/remote_external.py`).

The remote token is write-only in InfluxDB, so its drift cannot be observed;
instead a salted fingerprint of the token last sent is kept in status and the
token is re-sent whenever the Secret's value no longer matches it.
"""

from __future__ import annotations

import hashlib

from pydantic import SecretStr

from ..api import v1alpha1
from ..influx import models


def fingerprint(token: SecretStr, *, salt: str) -> str:
    """Short, salted (by the object's UID) and one-way: safe to show in status."""
    digest = hashlib.sha256(f"{salt}:{token.get_secret_value()}".encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def desired(spec: v1alpha1.RemoteConnectionSpec, *, name: str, url: str, org_id: str | None) -> models.RemoteSettings:
    """`url` and `org_id` as resolved: the spec's, or those of the remote instance for a minted token."""
    return models.RemoteSettings(
        name=name,
        description=spec.description or "",
        remoteURL=url,
        remoteOrgID=org_id,
        allowInsecureTLS=spec.allow_insecure_tls,
    )
