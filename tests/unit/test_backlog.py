"""Who takes up a change, and from what: the refresh leaves a new generation
to its handler (one status write, in kopf's patch), and a handler reads its
object from the instance's latest listing unless this process changed that
object after the listing was asked for."""

from __future__ import annotations

from typing import Any

from influxdb_operator.config import Settings
from influxdb_operator.state.listing import Listing
from influxdb_operator.state.runtime import Runtime
from influxdb_operator.state.world import Obj


def _runtime() -> Runtime:
    async def write(*_: Any) -> None:
        raise AssertionError("not expected to write")

    return Runtime(Settings(max_backoff=60), write_status=write, post_events=lambda *_: None)


def _replication(generation: int, observed: int | None) -> Obj:
    return {
        "metadata": {"name": "r", "namespace": "ns", "uid": "uid-r", "generation": generation},
        "spec": {"instanceRef": {"name": "edge"}},
        "status": {"id": "0r", "observedGeneration": observed},
    }


def test_a_new_generation_is_the_handlers_until_it_took_it_up() -> None:
    rt, obj = _runtime(), _replication(2, 1)
    assert rt.owed_to_handler(obj)
    rt.handled["uid-r"] = 1  # an attempt at an older generation does not count
    assert rt.owed_to_handler(obj)
    rt.handled["uid-r"] = 2  # taken up (applied, blocked or paused): the refresh's again
    assert not rt.owed_to_handler(obj)


def test_an_applied_generation_is_the_refreshs() -> None:
    assert not _runtime().owed_to_handler(_replication(3, 3))


def test_a_handler_reads_the_latest_listing_unless_it_changed_the_object_since() -> None:
    rt, obj = _runtime(), _replication(2, 1)
    assert rt.listed(obj, None) is None  # no refresh has listed the instance yet
    before = Listing({}, {}, None, taken_at=100.0)
    rt.listings[("ns", "edge")] = before
    assert rt.listed(obj, None) is before
    rt.wrote["uid-r"] = 101.0  # a change after that listing was asked for: it would not show
    assert rt.listed(obj, None) is None
    assert rt.listed(obj, before) is None  # a refresh holding that listing asks InfluxDB too
    after = Listing({}, {}, None, taken_at=102.0)
    rt.listings[("ns", "edge")] = after
    assert rt.listed(obj, None) is after


def test_forgetting_an_object_forgets_what_it_was_owed() -> None:
    rt = _runtime()
    rt.handled["uid-r"], rt.wrote["uid-r"] = 2, 101.0
    rt.forget("uid-r")
    assert (rt.handled, rt.wrote) == ({}, {})
