"""Opt-in heartbeats: a tiny point written into a replication's local bucket
every interval, and, where a token may read the remote bucket, the age of the
newest one that arrived there: the end-to-end lag.

The point also wakes influxd's queue: a failed remote is retried at once when
new data is queued, otherwise only when influxd's own backoff (doubling up to
15 minutes) runs out. These are per-object calls by design: the user asked
for them, one write (and one remote query) per interval.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime

from pydantic import SecretStr

from ... import metrics
from ...api import v1alpha1
from ...driver import resolution
from ...influx import errors, models
from ...influx.client import InfluxClient
from ...reconcile.outcome import Blocked
from ...state import clients
from ...state.listing import Listing
from ...state.runtime import Beats, Runtime
from ...state.world import Refs

logger = logging.getLogger(__name__)

TAG = "replication"


def _escape(tag_value: str) -> str:
    return tag_value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


async def _remote_client(rt: Runtime, url: str, token: SecretStr) -> InfluxClient:
    key = hashlib.sha256(f"{url}\0{token.get_secret_value()}".encode()).hexdigest()
    client = rt.remote_clients.get(key)
    if client is None:
        client = rt.remote_clients[key] = InfluxClient(url, token, observer=metrics.observe_influx_call)
    return client


async def beat(
    rt: Runtime,
    refs: Refs,
    res: resolution.Resolved[v1alpha1.ReplicationSpec],
    have: models.Replication,
    listing: Listing,
) -> float | None:
    """Write the heartbeat when due and measure the lag; returns the lag in
    seconds where known. Failures are logged, not raised: a heartbeat is
    help, not part of the replication."""
    spec = res.spec.heartbeat
    assert spec is not None
    state = rt.beats.setdefault(res.obj["metadata"]["uid"], Beats())
    now = time.monotonic()
    if now - state.sent_at < v1alpha1.parse_duration(spec.interval):
        return state.lag
    state.sent_at = now
    line = f"{spec.measurement},{TAG}={_escape(res.name)} beat=1i {time.time_ns()}"
    try:
        await res.client.write(res.org_id, have.localBucketID, line)
        state.lag = await _lag(rt, refs, res, listing.remotes.get(have.remoteID))
    except (errors.InfluxError, Blocked) as error:
        # InfluxDB's and the operator's messages hold no token.
        logger.info("heartbeat of replication %r: %s", res.name, error.message)
    return state.lag


async def _lag(
    rt: Runtime, refs: Refs, res: resolution.Resolved[v1alpha1.ReplicationSpec], remote: models.Remote | None
) -> float | None:
    """Seconds since the newest heartbeat at `remote` (as InfluxDB lists it), if a read token is given."""
    spec = res.spec.heartbeat
    if spec is None or spec.remote_read_token_secret_ref is None or remote is None:
        return None
    token = clients.secret_value(refs, res.namespace, spec.remote_read_token_secret_ref, purpose="remote read token")
    client = await _remote_client(rt, remote.remoteURL, token)
    by = res.spec.remote_bucket
    bucket = ("bucket", by.name) if by.name else ("bucketID", by.id or "")
    newest = await client.newest(remote.remoteOrgID or "", bucket, spec.measurement, (TAG, res.name))
    return None if newest is None else max(0.0, (datetime.now(UTC) - newest).total_seconds())
