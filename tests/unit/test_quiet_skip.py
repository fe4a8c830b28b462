"""The refresh's skip of idle replications: taken only while everything the
last refresh read is as it was, status fields updated in place included."""

from __future__ import annotations

from typing import Any

from influxdb_operator.api import v1alpha1
from influxdb_operator.config import Settings
from influxdb_operator.influx import models
from influxdb_operator.kinds.replication import data_plane_observation, idle_skip
from influxdb_operator.reconcile import dataplane
from influxdb_operator.state import world
from influxdb_operator.state.listing import Listing
from influxdb_operator.state.runtime import Runtime
from influxdb_operator.state.world import Obj, Refs

HAVE = models.Replication(
    id="0r", orgID="0o", name="r", remoteID="0a", localBucketID="0b", remoteBucketID="0c", maxQueueSizeBytes=1 << 20
)


def _obj(name: str, spec: dict[str, Any], status: dict[str, Any]) -> Obj:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "generation": 1},
        "spec": spec,
        "status": status,
    }


async def _never(*_: Any) -> None:
    raise AssertionError("not expected to write")


def _world() -> tuple[Runtime, Refs, Obj, Obj, Listing]:
    rt = Runtime(Settings(max_backoff=60), write_status=_never, post_events=lambda *_: None)
    instance = _obj("edge", {"url": "http://edge"}, {"orgID": "0o"})
    remote = _obj("cloud", {"instanceRef": {"name": "edge"}}, {"id": "0a"})
    replication = _obj(
        "r", {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "cloud"}}}, {"id": "0r"}
    )
    refs = Refs({("ns", "edge"): [instance]}, {("ns", "cloud"): [remote]}, {}, {})
    listing = Listing({"0r": HAVE}, {}, None)
    rt.trends[replication["metadata"]["uid"]] = dataplane.Trend(horizon=30.0)
    return rt, refs, replication, remote, listing


def _remember(rt: Runtime, refs: Refs, replication: Obj, listing: Listing) -> None:
    rt.quiet[replication["metadata"]["uid"]] = (replication, idle_skip._inputs(rt, refs, replication, listing))


def test_an_unchanged_idle_replication_is_skipped_and_still_sampled() -> None:
    rt, refs, replication, _, listing = _world()
    _remember(rt, refs, replication, listing)
    uid = replication["metadata"]["uid"]
    world._parsed[uid] = (replication["spec"], v1alpha1.ReplicationSpec.model_construct())
    assert idle_skip.unchanged(rt, refs, replication, listing)
    assert len(rt.trends[uid].samples) == 1
    assert uid not in world._parsed, "a skipped replication holds no validated spec"


def test_a_remote_status_updated_in_place_ends_the_skip() -> None:
    rt, refs, replication, remote, listing = _world()
    _remember(rt, refs, replication, listing)
    remote["status"].update({"id": "0z"})  # the refresh recreated the remote: same snapshot, new ID
    assert not idle_skip.unchanged(rt, refs, replication, listing)


def test_a_new_snapshot_or_listing_entry_ends_the_skip() -> None:
    rt, refs, replication, _, listing = _world()
    _remember(rt, refs, replication, listing)
    assert not idle_skip.unchanged(rt, refs, dict(replication), listing)
    moved = Listing({"0r": HAVE.model_copy(update={"maxAgeSeconds": 5})}, {}, None)
    assert not idle_skip.unchanged(rt, refs, replication, moved)
    assert not idle_skip.unchanged(rt, refs, replication, None)


def test_a_replication_without_series_is_sampled_alike_skipped_or_not() -> None:
    """influxd has no `/metrics` series of a replication before its first write:
    a full refresh and a skip both sample it as zeros. A skip that sampled
    None left windows of both, which showed no rates, then rates again: a
    status write each way, every few periods, for every idle stream."""
    rt, refs, replication, _, _ = _world()
    listing = Listing({"0r": HAVE}, {}, {})  # influxd's metrics on, no series of "0r" yet
    limits = data_plane_observation.Thresholds(stalled_after=15.0, queue_full_warning=0.8)
    data_plane_observation.observe(rt, replication, HAVE, listing, limits)
    _remember(rt, refs, replication, listing)
    assert idle_skip.unchanged(rt, refs, replication, listing)
    samples = rt.trends[replication["metadata"]["uid"]].samples
    assert [s.counters for s in samples] == [models.QueueCounters()] * 2
