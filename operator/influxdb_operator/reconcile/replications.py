"""Replication: the settings InfluxDB should hold, what it shows in status,
and health (its request bodies are its adapter's,
`kinds/replication/replication_external.py`).

The desired settings are exactly what PATCH can change (drift is computed
over them); the local bucket and org cannot be patched, are set only by a
create, and are immutable in the CRD once the object exists.
"""

from __future__ import annotations

import math

from ..api import v1alpha1
from ..influx import models, versions
from . import conditions, dataplane
from .reasons import Reason

# A queue this full (of its maximum) is about to drop or block writes.
QUEUE_NEARLY_FULL = 0.8
# A backlog that grows between two refreshes means the remote is not keeping
# up; below this size, growth is just the next batch in flight.
BACKLOG_NOISE_BYTES = 1 << 20


def desired(
    spec: v1alpha1.ReplicationSpec, *, name: str, remote_id: str, caps: versions.Capabilities
) -> models.ReplicationSettings:
    """`caps`: the server's, so that a setting means on it what the spec says."""
    return models.ReplicationSettings(
        name=name,
        description=spec.description or "",
        remoteID=remote_id,
        remoteBucketID=spec.remote_bucket.id,
        remoteBucketName=spec.remote_bucket.name,
        maxQueueSizeBytes=spec.max_queue_size_bytes,
        maxAgeSeconds=versions.max_age_to_send(caps, spec.max_age_seconds),
        dropNonRetryableData=spec.drop_non_retryable_data,
    )


def observed(have: models.Replication) -> v1alpha1.ReplicationStatus:
    """The status fields mirrored from InfluxDB."""
    return v1alpha1.ReplicationStatus(
        id=have.id,
        localBucketID=have.localBucketID,
        remoteID=have.remoteID,
        remoteBucketID=have.remoteBucketID,
        current_queue_size_bytes=have.currentQueueSizeBytes,
        remaining_bytes_to_be_synced=have.remainingBytesToBeSynced,
        latest_response_code=have.latestResponseCode,
        latest_error_message=have.latestErrorMessage or None,
    )


def _condition(status: conditions.Status, reason: Reason, message: str) -> conditions.Condition:
    return conditions.Condition(v1alpha1.ConditionType.HEALTHY, status, reason, message)


def _last_answer(have: models.Replication, remote: str) -> str:
    detail = f": {have.latestErrorMessage}" if have.latestErrorMessage else ""
    if have.latestResponseCode == 0:  # influxd's record of a write that got no HTTP answer
        return f"{remote} did not answer{detail}"
    return f"{remote} last answered HTTP {have.latestResponseCode}{detail}"


def health(
    have: models.Replication,
    dp: dataplane.DataPlane | None,
    *,
    full_warning: float,
    previous_remaining: int | None,
    remote: str = "the remote",
) -> conditions.Condition:
    """Healthy from the data plane, the most urgent problem first. Figures in
    messages are rounded, so a steady state keeps the same message; `remote`
    names the remote as the user wrote it (e.g. "RemoteConnection 'cloud'")."""
    code = have.latestResponseCode
    if dp is not None and dp.losing:
        lost = dp.dropped
        return _condition(
            "False",
            Reason.DATA_LOST,
            f"{dataplane.human_bytes(lost.bytes)} lost since watched ({dataplane.human_bytes(lost.bytes_queue_full)} "
            f"refused by a full queue, {dataplane.human_bytes(lost.bytes_non_retryable)} non-retryable)",
        )
    failing = code is not None and not 200 <= code < 300
    if dp is not None and dp.queue_full_in < full_warning:
        cause = f" ({_last_answer(have, remote)})" if failing else ""
        return _condition(
            "False",
            Reason.QUEUE_FILLING_UP,
            f"the queue is full in {dataplane.human_duration(dp.queue_full_in)} at this rate{cause}",
        )
    if failing:
        return _condition("False", Reason.REMOTE_ERROR, _last_answer(have, remote))
    if dp is not None and dp.stalled:
        return _condition(
            "False",
            Reason.STALLED,
            f"the backlog has not shrunk for {dataplane.human_duration(dp.window)} while data arrives "
            f"(last answer HTTP {code})",
        )
    if have.maxQueueSizeBytes and have.currentQueueSizeBytes >= QUEUE_NEARLY_FULL * have.maxQueueSizeBytes:
        used = 100 * have.currentQueueSizeBytes // have.maxQueueSizeBytes
        return _condition("False", Reason.QUEUE_NEARLY_FULL, f"the queue is {used}% of maxQueueSizeBytes")
    remaining = have.remainingBytesToBeSynced
    if previous_remaining is not None and remaining > previous_remaining > 0 and remaining > BACKLOG_NOISE_BYTES:
        return _condition(
            "False",
            Reason.BACKLOG_GROWING,
            f"bytes still to sync grew from {previous_remaining} to {have.remainingBytesToBeSynced}",
        )
    if code is None:
        return _condition("Unknown", Reason.NO_WRITES_YET, "nothing has been replicated yet")
    inflow = dp.fill_rate if dp is not None and dp.fill_rate else 0.0
    holds = have.maxQueueSizeBytes / inflow if inflow > 0 else math.inf
    if holds < full_warning:
        # Healthy now, but an outage of the remote longer than `holds` loses data.
        # Rounded up to two significant digits: a steady inflow keeps the same
        # message (and the status unwritten) from one refresh to the next.
        step = 10 ** max(0, math.floor(math.log10(inflow * 3600)) - 1)
        hour = max(v1alpha1.MIN_QUEUE_BYTES, math.ceil(inflow * 3600 / step) * step)
        return _condition(
            "True",
            Reason.QUEUE_UNDERSIZED,
            f"{remote} last answered HTTP {code}; at {dataplane.human_bytes(inflow)}/s coming in, "
            f"maxQueueSizeBytes holds {dataplane.human_duration(holds)} of an outage, less than "
            f"{dataplane.human_duration(full_warning)}: {hour} would hold an hour",
        )
    return _condition("True", Reason.REPLICATING, f"{remote} last answered HTTP {code}")


def data_plane_status(dp: dataplane.DataPlane, lag: float | None = None) -> v1alpha1.DataPlaneStatus:
    def rate(value: float | None) -> str | None:
        return None if value is None else f"{dataplane.human_bytes(value)}/s"

    return v1alpha1.DataPlaneStatus(
        fill_rate=rate(dp.fill_rate),
        drain_rate=rate(dp.drain_rate),
        queue_full_in=dataplane.human_duration(dp.queue_full_in),
        backlog_drained_in=dataplane.human_duration(dp.backlog_drained_in),
        lag=None if lag is None else dataplane.human_duration(lag),
        dropped_bytes=dp.dropped.bytes,
        dropped_points=dp.dropped.points_queue_full,
    )
