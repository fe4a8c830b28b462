"""A replication's data plane as the refresh observes it: influxd's queue
figures and counters sampled into a trend, the `Healthy` condition from it,
and the metrics exported."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ... import metrics
from ...api import v1alpha1
from ...driver import resolution
from ...influx import models
from ...reconcile import conditions, dataplane, replications
from ...reconcile.reasons import ALERTING, Reason
from ...state.listing import Listing
from ...state.runtime import Runtime
from ...state.world import Obj


@dataclass(frozen=True)
class Thresholds:
    stalled_after: float  # seconds
    queue_full_warning: float


def thresholds(rt: Runtime, res: resolution.Resolved[v1alpha1.ReplicationSpec]) -> Thresholds:
    health = res.spec.health or v1alpha1.HealthSpec()
    period = v1alpha1.parse_duration(res.inst.spec.resync_period)
    return Thresholds(
        stalled_after=v1alpha1.parse_duration(health.stalled_after) if health.stalled_after else 3 * period,
        queue_full_warning=(
            v1alpha1.parse_duration(health.queue_full_warning)
            if health.queue_full_warning
            else rt.settings.queue_full_warning
        ),
    )


def observe(
    rt: Runtime, obj: Obj, have: models.Replication, listing: Listing | None, limits: Thresholds
) -> tuple[dataplane.DataPlane | None, dataplane.Dropped]:
    """The trend with this refresh's sample added (only the refresh samples:
    its periods are regular), and what was lost since the last one."""
    uid = obj["metadata"]["uid"]
    trend = rt.trends.get(uid)
    lost = dataplane.Dropped()
    if listing is not None:
        if trend is None or trend.horizon != 2 * limits.stalled_after:
            trend = rt.trends[uid] = _new_trend(obj, 2 * limits.stalled_after)
        counters = listing.counters_of(have.id)
        sample = dataplane.Sample(time.monotonic(), have.currentQueueSizeBytes, have.remainingBytesToBeSynced, counters)
        lost = trend.add(sample)
    if trend is None or not trend.samples:
        return None, lost
    return dataplane.analyse(trend, max_queue_bytes=have.maxQueueSizeBytes, stalled_after=limits.stalled_after), lost


def _new_trend(obj: Obj, horizon: float) -> dataplane.Trend:
    """A trend that goes on counting losses from what status last said (its
    split by cause is not kept there)."""
    shown = obj["status"].get("dataPlane") or {}
    carried = dataplane.Dropped(
        bytes_queue_full=int(shown.get("droppedBytes") or 0), points_queue_full=int(shown.get("droppedPoints") or 0)
    )
    return dataplane.Trend(horizon=horizon, dropped=carried)


def health(
    obj: Obj, have: models.Replication, dp: dataplane.DataPlane | None, limits: Thresholds
) -> conditions.Condition:
    before = conditions.get(obj["status"].get("conditions") or [], v1alpha1.ConditionType.HEALTHY)
    if dp is not None and not dp.covered:
        if before is not None and before.get("reason") in ALERTING:
            # A trend still being rebuilt (after a restart) neither raises nor clears an alert.
            return conditions.Condition(
                v1alpha1.ConditionType.HEALTHY, before["status"], Reason(before["reason"]), before["message"]
            )
        dp = None
    previous = obj["status"].get("remainingBytesToBeSynced")
    ref = obj["spec"].get("remote") or {}
    connection = (ref.get("connectionRef") or {}).get("name")
    remote = f"RemoteConnection {connection!r}" if connection else f"the remote {ref.get('id', '')}".rstrip()
    return replications.health(
        have, dp, full_warning=limits.queue_full_warning, previous_remaining=previous, remote=remote
    )


def export(
    labels: metrics.Labels,
    have: models.Replication,
    dp: dataplane.DataPlane | None,
    lost: dataplane.Dropped,
    limits: Thresholds,
    lag: float | None,
) -> None:
    gauges: dict[metrics.Series, float | None] = {
        metrics.QUEUE_BYTES: have.currentQueueSizeBytes,
        metrics.REMAINING_BYTES: have.remainingBytesToBeSynced,
        metrics.LATEST_RESPONSE_CODE: have.latestResponseCode,
        metrics.QUEUE_MAX_BYTES: have.maxQueueSizeBytes,
        metrics.QUEUE_FULL_WARNING: limits.queue_full_warning,
        metrics.HEARTBEAT_LAG: lag,
    }
    if dp is not None:
        gauges |= {
            metrics.FILL_RATE: dp.fill_rate,
            metrics.DRAIN_RATE: dp.drain_rate,
            metrics.QUEUE_FULL_IN: dp.queue_full_in,
            metrics.BACKLOG_DRAINED_IN: dp.backlog_drained_in,
            metrics.STALLED: 1 if dp.stalled else 0,
        }
    dropped = {
        metrics.DROPPED_BYTES: {"queue_full": lost.bytes_queue_full, "non_retryable": lost.bytes_non_retryable},
        metrics.DROPPED_POINTS: {"queue_full": lost.points_queue_full},
    }
    metrics.replications.update(labels, gauges, dropped)
