"""Replication: its references resolved, its `External`, and its sync."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from .. import metrics
from ..api import v1alpha1
from ..influx import errors, models
from ..reconcile import conditions, dataplane, replications, tokens
from ..reconcile.drift import Drift, correction, drift
from ..reconcile.outcome import Blocked, Result, from_influx
from ..reconcile.reasons import ALERTING, Action, Reason
from . import heartbeats, resource
from .external import Endpoints
from .listing import Listing
from .runtime import Runtime
from .world import Dependents, Obj, Refs, forget_spec, one

KIND = resource.Kind(
    "Replication",
    "replications",
    v1alpha1.ReplicationSpec,
    v1alpha1.ReplicationStatus,
    "replication (and its queue)",
    lambda client: client.replications,
)


def remote_id(refs: Refs, namespace: str, spec: v1alpha1.ReplicationSpec) -> str:
    """The remote's InfluxDB ID, from the RemoteConnection's status if named."""
    if spec.remote.id is not None:
        return spec.remote.id
    assert spec.remote.connection_ref is not None  # the CRD requires one of the two
    ref = spec.remote.connection_ref.name
    remote = one(refs.remotes, (namespace, ref))
    if remote is None:
        raise Blocked(Reason.REMOTE_CONNECTION_NOT_FOUND, f"RemoteConnection {namespace}/{ref} does not exist")
    its_instance = remote["spec"].get("instanceRef", {}).get("name")
    if its_instance != spec.instance_ref.name:
        raise Blocked(
            Reason.REMOTE_CONNECTION_MISMATCH,
            f"RemoteConnection {namespace}/{ref} belongs to InfluxDBInstance {its_instance}, "
            f"not {spec.instance_ref.name}: a replication can only use remotes of its own instance",
        )
    found = remote["status"].get("id")
    if not found:
        raise Blocked(Reason.REMOTE_CONNECTION_NOT_READY, f"RemoteConnection {namespace}/{ref} has no InfluxDB ID yet")
    if remote["spec"].get("remoteInstanceRef"):
        _check_covered(namespace, ref, remote["status"].get("mintedToken"), spec.remote_bucket)
    return str(found)


def _check_covered(namespace: str, ref: str, minted: object, bucket: v1alpha1.BucketReference) -> None:
    """A minted token is widened for a new bucket by the remote's next sync:
    until then the replication waits rather than meet 401s and backoff."""
    wanted = ("id", bucket.id) if bucket.id else ("name", bucket.name or "")
    if minted and tokens.covered(v1alpha1.MintedTokenStatus.model_validate(minted), wanted):
        return
    raise Blocked(
        Reason.REMOTE_TOKEN_PENDING,
        f"the token minted for RemoteConnection {namespace}/{ref} does not cover remote bucket {wanted[1]!r} yet "
        "(it is widened at the remote's next refresh; the bucket must exist on the remote)",
    )


@dataclass(frozen=True)
class ReplicationExternal:
    noun: ClassVar[str] = "replication"
    write_only: ClassVar[Mapping[str, tuple[Action, str]]] = {}

    res: resource.Resolved[v1alpha1.ReplicationSpec]
    want: models.ReplicationSettings
    # Set where a create is proven first (spec.validateBeforeCreate).
    validate_first: Callable[[models.ReplicationCreate], Awaitable[None]] | None = None

    @property
    def endpoints(self) -> Endpoints[models.Replication]:
        return Endpoints.of(self.res.client.replications, self.res.org_id)

    async def _local_bucket_id(self) -> str:
        ref, client = self.res.spec.local_bucket, self.res.client
        bucket = await (client.get_bucket(ref.id) if ref.id else client.find_bucket(self.res.org_id, ref.name or ""))
        if bucket is None:
            what = f"ID {ref.id}" if ref.id else f"name {ref.name!r}"
            raise Blocked(Reason.BUCKET_NOT_FOUND, f"no local bucket with {what} in {self.res.where}")
        return bucket.id

    async def _create_body(self) -> models.ReplicationCreate:
        return replications.create_body(
            self.want, org_id=self.res.org_id, local_bucket_id=await self._local_bucket_id()
        )

    async def check_creatable(self) -> None:
        if self.validate_first is None:
            return
        try:
            await self.validate_first(await self._create_body())
        except errors.APIError as error:
            raise Blocked(
                Reason.REMOTE_VALIDATION_FAILED,
                f"replication {self.res.name!r} was not created: InfluxDB's validation of the stream "
                f"(spec.validateBeforeCreate) failed: {error.message}",
            ) from error

    async def create(self) -> models.Replication:
        return await self.res.client.replications.create(await self._create_body())

    async def check_adoptable(self, have: models.Replication) -> None:
        local_bucket_id = await self._local_bucket_id()
        if have.localBucketID != local_bucket_id:
            wanted = self.res.spec.local_bucket.name
            raise Blocked(
                Reason.NAME_CONFLICT,
                f"replication {have.name!r} (ID {have.id}) replicates the local bucket with ID {have.localBucketID}, "
                f"not {f'bucket {wanted!r}' if wanted else 'the bucket'} (ID {local_bucket_id}); "
                "the local bucket cannot be changed in place",
            )

    def drift(self, have: models.Replication, *, adopted: bool) -> Drift:
        return drift(self.want, have)

    async def update(self, have: models.Replication, differing: Drift) -> models.Replication:
        return await self.res.client.replications.update(have.id, correction(self.want, differing))


def _validator(
    rt: Runtime, res: resource.Resolved[v1alpha1.ReplicationSpec]
) -> Callable[[models.ReplicationCreate], Awaitable[None]]:
    """`?validate=true` within the operator's bounds: a slot among the few
    validates at once, and --validate-timeout."""

    async def validate(body: models.ReplicationCreate) -> None:
        await _show_validating(rt, res.obj)
        async with rt.validations.slots:
            await res.client.validate_new_replication(body, timeout=rt.settings.validate_timeout)

    return validate


async def _show_validating(rt: Runtime, obj: Obj) -> None:
    """Ready=Unknown/Validating while a first create waits on its validate
    (minutes, against a remote that does not answer). Retries keep showing
    the last refusal instead, so that each does not announce it again."""
    meta, status = obj["metadata"], obj["status"]
    if conditions.get(status.get("conditions") or [], conditions.READY) is not None:
        return
    waiting = conditions.Condition(
        conditions.READY, "Unknown", Reason.VALIDATING, "InfluxDB is validating the stream before it is created"
    )
    listed = conditions.apply(status.get("conditions") or [], [waiting], generation=meta["generation"])
    await rt.write_status(KIND.plural, meta["namespace"], meta["name"], {"conditions": listed})
    status["conditions"] = listed


@dataclass(frozen=True)
class Thresholds:
    stalled_after: float  # seconds
    queue_full_warning: float


def thresholds(rt: Runtime, res: resource.Resolved[v1alpha1.ReplicationSpec]) -> Thresholds:
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


def _observe(
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


def _health(
    obj: Obj, have: models.Replication, dp: dataplane.DataPlane | None, limits: Thresholds
) -> conditions.Condition:
    before = conditions.get(obj["status"].get("conditions") or [], conditions.HEALTHY)
    if dp is not None and not dp.covered:
        if before is not None and before.get("reason") in ALERTING:
            # A trend still being rebuilt (after a restart) neither raises nor clears an alert.
            return conditions.Condition(
                conditions.HEALTHY, before["status"], Reason(before["reason"]), before["message"]
            )
        dp = None
    previous = obj["status"].get("remainingBytesToBeSynced")
    ref = obj["spec"].get("remote") or {}
    connection = (ref.get("connectionRef") or {}).get("name")
    remote = f"RemoteConnection {connection!r}" if connection else f"the remote {ref.get('id', '')}".rstrip()
    return replications.health(
        have, dp, full_warning=limits.queue_full_warning, previous_remaining=previous, remote=remote
    )


def _export(
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


class _Inputs(NamedTuple):
    """Everything a refresh of a replication reads besides its own snapshot and
    the clock. Specs and metadata are compared as snapshots (a watch event
    makes new ones); status fields by value: the refresh updates a snapshot's
    status in place, and kopf then keeps that snapshot (a recreated remote's
    new ID would otherwise go unseen)."""

    instance: tuple[object, ...]  # spec, metadata, orgID
    remote: tuple[object, ...]  # spec, ID, minted token
    have: models.Replication | None  # what InfluxDB lists
    counters: models.QueueCounters | None
    kept: object  # a validate's result


def _inputs(rt: Runtime, refs: Refs, obj: Obj, listing: Listing) -> _Inputs:
    meta, spec = obj["metadata"], obj["spec"]
    recorded = rt.recorded_id(obj) or ""
    inst = one(refs.instances, (meta["namespace"], spec.get("instanceRef", {}).get("name", ""))) or {}
    connection = ((spec.get("remote") or {}).get("connectionRef") or {}).get("name")
    remote = (one(refs.remotes, (meta["namespace"], connection)) if connection else None) or {}
    inst_status, remote_status = inst.get("status") or {}, remote.get("status") or {}
    return _Inputs(
        (inst.get("spec"), inst.get("metadata"), inst_status.get("orgID")),
        (remote.get("spec"), remote_status.get("id"), remote_status.get("mintedToken")),
        listing.replications.get(recorded),
        listing.counters_of(recorded),
        rt.validations.kept.get(meta["uid"]),
    )


def unchanged(rt: Runtime, refs: Refs, obj: Obj, listing: Listing | None) -> bool:
    """Whether the refresh may skip `obj`: its last refresh changed nothing and
    nothing it reads has changed since (its own snapshot is the same: a watch
    event makes a new one, and the refresh's status writes forget the record).
    Only an idle stream qualifies, whose figures cannot move with time alone;
    its sample still goes into the trend. At rest this is most of a fleet,
    each costing a few lookups instead of a reconcile."""
    quiet = rt.quiet.get(obj["metadata"]["uid"])
    if listing is None or quiet is None or quiet[0] is not obj:
        return False
    seen = _inputs(rt, refs, obj, listing)
    if seen != quiet[1] or seen.have is None:
        return False
    rt.trends[obj["metadata"]["uid"]].add(
        dataplane.Sample(
            time.monotonic(), seen.have.currentQueueSizeBytes, seen.have.remainingBytesToBeSynced, seen.counters
        )
    )
    # Skipped, it needs no validated spec: ~3 KB each, validated again when next reconciled.
    forget_spec(obj["metadata"]["uid"])
    return True


def _remember_if_quiet(
    rt: Runtime,
    refs: Refs,
    res: resource.Resolved[v1alpha1.ReplicationSpec],
    synced: bool,
    dp: dataplane.DataPlane | None,
    listing: Listing | None,
) -> None:
    uid = res.obj["metadata"]["uid"]
    trend = rt.trends.get(uid)
    idle = (
        listing is not None
        and not synced
        and res.writes
        and not res.spec.heartbeat
        and dp is not None
        and dp.covered
        and not dp.stalled
        and trend is not None
        and trend.last_loss_at is None
        and trend.samples[-1].remaining_bytes == 0
    )
    if idle:
        assert listing is not None
        rt.quiet[uid] = (res.obj, _inputs(rt, refs, res.obj, listing))
    else:
        rt.quiet.pop(uid, None)


async def sync(rt: Runtime, refs: Refs, obj: Obj, listing: Listing | None) -> Result:
    """Make InfluxDB hold the replication `obj` declares; report what it holds
    and how its data plane is doing."""
    meta = obj["metadata"]
    labels = (meta["namespace"], meta["name"], obj["spec"].get("instanceRef", {}).get("name", ""))
    res = await resource.resolve(rt, refs, obj, KIND)
    try:
        want = replications.desired(res.spec, name=res.name, remote_id=remote_id(refs, res.namespace, res.spec))
    except Blocked as blocked:
        if blocked.reason is Reason.REMOTE_TOKEN_PENDING and listing is None:
            # The remote's token is widened by the instance's refresh: run it now, not
            # at the end of its period (from handlers only, whose retries back off).
            rt.wake((res.namespace, res.inst.name))
        raise
    listed = rt.listed(obj, listing)
    seen = listed.replications if listed else None
    # Only a handler validates: a recreate by the refresh must not hold it up for minutes.
    first = _validator(rt, res) if res.spec.validate_before_create and listing is None else None
    synced = await resource.run(rt, KIND, res, ReplicationExternal(res, want, first), seen)
    if synced.events and res.writes:  # read-only modes announce findings, and write nothing
        rt.wrote[meta["uid"]] = time.monotonic()
    have, limits = synced.have, thresholds(rt, res)
    dp, lost = _observe(rt, obj, have, listing, limits)
    # A heartbeat is a write too: none for a paused or observed stream.
    lag = await heartbeats.beat(rt, refs, res, have, listing) if listing and res.spec.heartbeat and res.writes else None
    _export(labels, have, dp, lost, limits, lag)
    # Figures are shown once their window is covered, so a restart does not rewrite them.
    shown = (
        {"data_plane": replications.data_plane_status(dataplane.steadied(rt.trends[meta["uid"]], dp), lag)}
        if dp is not None and dp.covered
        else {}
    )
    _remember_if_quiet(rt, refs, res, bool(synced.events), dp, listing)
    conds, events, fields = resource.report(res, synced, "replication", _health(obj, have, dp, limits))
    status = replications.observed(have).model_copy(update=fields | shown)
    applied = res.paused is None
    return Result(status=status, conditions=conds, events=events, synced=bool(synced.events), applied=applied)


async def delete(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> None:
    """Deletes the queue with the replication (unless orphaned); nothing waits on it."""
    spec = v1alpha1.ReplicationSpec.model_validate(obj["spec"])
    metrics.replications.forget((obj["metadata"]["namespace"], obj["metadata"]["name"], spec.instance_ref.name))
    try:
        await resource.delete(rt, refs, obj, KIND)
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"deleting replication {spec.name or obj['metadata']['name']!r}") from error
