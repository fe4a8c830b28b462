"""The fixes to kopf: ToggleSet's waiters are woken when the set flips, not
on every toggle dropped (kopf's own: N²/2 wake-ups for N objects); patches
are sent PATCHES_AT_ONCE at a time; watched objects arrive without what no one
here reads, their strings shared; an object's event waits for the operator's
admission before kopf builds anything to handle it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Iterable
from contextlib import nullcontext
from typing import Any, cast

import pytest
from kopf._cogs.aiokits.aiotoggles import ToggleSet
from kopf._cogs.clients import patching, watching
from kopf._cogs.structs.references import Resource
from kopf._core.reactor import processing

from influxdb_operator import sharing
from influxdb_operator.handlers import kopf_fixes, lifecycle
from influxdb_operator.state.runtime import Runtime

N = 300
REPLICATIONS = Resource("influxdb.replication.dev", "v1alpha1", "replications")


def test_the_fix_is_what_kopf_runs() -> None:
    assert ToggleSet.drop_toggle is kopf_fixes.drop_toggle
    assert ToggleSet.make_toggle is kopf_fixes.make_toggle
    assert ToggleSet.drop_toggles is kopf_fixes.drop_toggles
    assert patching.patch_obj is kopf_fixes.patch_obj
    assert watching.continuous_watch is kopf_fixes.continuous_watch
    assert "continuous_watch" in watching.infinite_watch.__code__.co_names, "kopf looks it up in its module"
    assert processing.process_resource_causes is kopf_fixes.process_resource_causes
    assert "process_resource_causes" in processing.process_resource_event.__code__.co_names


def watched(resource: Resource, sent: list[object], monkeypatch: pytest.MonkeyPatch) -> list[object]:
    async def kopfs_own(**kwargs: object) -> AsyncIterator[object]:
        for event in sent:
            yield event

    async def scenario() -> list[object]:
        monkeypatch.setattr(kopf_fixes, "_continuous_watch", kopfs_own)
        return [event async for event in kopf_fixes.continuous_watch(resource=resource)]

    return asyncio.run(scenario())


def replication(kind: str | None) -> dict[str, object]:
    metadata = {
        "name": "r",
        "uid": "u",
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        "annotations": {kopf_fixes.LAST_APPLIED: "{}", "influxdb.replication.dev/pause": "true"},
    }
    return {"type": kind, "object": {"metadata": metadata, "spec": {"name": "r"}}}


def test_watched_objects_arrive_without_managed_fields_or_the_last_applied_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = [replication(None), watching.Bookmark.LISTED, replication("MODIFIED"), {"type": "DELETED", "object": {}}]
    listed, bookmark, modified, deleted = watched(REPLICATIONS, sent, monkeypatch)
    assert bookmark is watching.Bookmark.LISTED
    assert deleted == {"type": "DELETED", "object": {}}
    for event in (listed, modified):
        assert event == {
            "type": event["type"],  # type: ignore[index]
            "object": {
                "metadata": {"name": "r", "uid": "u", "annotations": {"influxdb.replication.dev/pause": "true"}},
                "spec": {"name": "r"},
            },
        }
    # Two events' objects, each decoded anew, hold one copy of each key and short string.
    one, two = listed["object"], modified["object"]  # type: ignore[index]
    assert [id(k) for k in one["metadata"]] == [id(k) for k in two["metadata"]]
    assert one["spec"]["name"] is two["spec"]["name"]


def test_secrets_are_slimmed_in_place_and_their_strings_not_kept_in_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = {"type": None, "object": {"metadata": {"name": "s", "managedFields": []}, "data": {"token": "dG9r"}}}
    obj = secret["object"]
    (event,) = watched(Resource("", "v1", "secrets"), [secret], monkeypatch)
    assert event["object"] is obj  # type: ignore[index]
    assert obj == {"metadata": {"name": "s"}, "data": {"token": "dG9r"}}
    assert "dG9r" not in sharing._STRINGS


def test_patches_in_flight_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    in_flight = highest = 0

    async def slow_patch(**kwargs: object) -> tuple[None, None]:
        nonlocal in_flight, highest
        in_flight += 1
        highest = max(highest, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return None, None

    async def scenario() -> None:
        monkeypatch.setattr(kopf_fixes, "_patches", asyncio.Semaphore(kopf_fixes.PATCHES_AT_ONCE))
        monkeypatch.setattr(kopf_fixes, "_patch_obj", slow_patch)
        await asyncio.gather(*(kopf_fixes.patch_obj(name=str(i)) for i in range(10 * kopf_fixes.PATCHES_AT_ONCE)))

    asyncio.run(scenario())
    assert highest == kopf_fixes.PATCHES_AT_ONCE


def test_start_up_wakes_each_waiter_a_bounded_number_of_times() -> None:
    """kopf's pattern: the listing makes a toggle per object, and each object's
    worker drops its own, then waits until every object is indexed."""
    evaluations = 0

    def counting_all(states: Iterable[bool]) -> bool:
        nonlocal evaluations
        evaluations += 1
        return all(states)

    async def scenario() -> list[bool]:
        indexed = ToggleSet(counting_all)
        toggles = [await indexed.make_toggle(name=str(i)) for i in range(N)]
        finished: list[bool] = []

        async def worker(i: int) -> None:
            for _ in range(i):  # indexed one after another, as the listing arrives
                await asyncio.sleep(0)
            await indexed.drop_toggle(toggles[i])
            await indexed.wait_for(True)
            finished.append(True)

        await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(N))), timeout=30)
        return finished

    assert len(asyncio.run(scenario())) == N  # every waiter went on, once all were dropped
    assert evaluations < 10 * N, f"{evaluations} evaluations of the set for {N} objects: quadratic again"


def test_waiters_see_every_flip() -> None:
    async def scenario() -> None:
        toggles = ToggleSet(all)
        first = await toggles.make_toggle()
        off = asyncio.ensure_future(toggles.wait_for(False))
        on = asyncio.ensure_future(toggles.wait_for(True))
        await asyncio.sleep(0.01)
        assert off.done()
        assert not on.done()
        second = await toggles.make_toggle()
        await toggles.drop_toggles([first])
        await asyncio.sleep(0.01)
        assert not on.done()  # one is still off
        await toggles.drop_toggle(second)
        await asyncio.wait_for(on, timeout=5)

    asyncio.run(scenario())


def test_kopf_builds_nothing_for_an_event_before_its_admission(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    @contextlib.asynccontextmanager
    async def admission(resource: Resource, body: object) -> AsyncIterator[None]:
        seen.append(f"admitted {resource.plural} {body}")
        yield
        seen.append("left")

    async def kopfs_own(**kwargs: object) -> tuple[list[float], bool]:
        seen.append("causes built and handled")
        return [], True

    monkeypatch.setattr(kopf_fixes, "admission", admission)
    monkeypatch.setattr(kopf_fixes, "_process_resource_causes", kopfs_own)
    result = asyncio.run(kopf_fixes.process_resource_causes(resource=REPLICATIONS, body="r1"))
    assert result == ([], True)
    assert seen == ["admitted replications r1", "causes built and handled", "left"]


class Places:
    """`Runtime.slot` alone: one semaphore per instance key."""

    def __init__(self) -> None:
        self.taken: dict[tuple[str, str], asyncio.Semaphore] = {}

    def slot(self, instance: tuple[str, str]) -> asyncio.Semaphore:
        return self.taken.setdefault(instance, asyncio.Semaphore(1))


def test_the_operators_admission_is_the_instances_place_unless_settled_or_an_instance() -> None:
    places = Places()
    admit = functools.partial(lifecycle._admission, cast(Runtime, places))
    replication: dict[str, Any] = {
        "metadata": {"namespace": "edge", "name": "r1", "generation": 2},
        "spec": {"instanceRef": {"name": "edge-1"}},
    }
    instance = {"metadata": {"namespace": "edge", "name": "edge-1"}, "spec": {}}
    assert admit(REPLICATIONS, replication) is places.slot(("edge", "edge-1"))
    # An instance's own events (a new URL for a server that does not answer) never wait behind its dependents.
    assert isinstance(admit(Resource(REPLICATIONS.group, "v1alpha1", "influxdbinstances"), instance), nullcontext)
    # Settled (the echo of a status write): no place; a handler that runs for it anyway takes one itself.
    ready = {"type": "Ready", "status": "True"}
    settled = replication | {"status": {"id": "0a", "observedGeneration": 2, "conditions": [ready]}}
    assert isinstance(admit(REPLICATIONS, settled), nullcontext)
    assert lifecycle.admits_itself(settled)
    deleting = settled | {"metadata": settled["metadata"] | {"deletionTimestamp": "2026-11-28T00:00:00Z"}}
    assert admit(REPLICATIONS, deleting) is places.slot(("edge", "edge-1"))
    assert not lifecycle.admits_itself(deleting)
    assert list(places.taken) == [("edge", "edge-1")]
    secret = {"metadata": {"namespace": "edge", "name": "token"}}
    assert isinstance(admit(Resource("", "v1", "secrets"), secret), nullcontext)
    assert list(places.taken) == [("edge", "edge-1")]  # no place made for a Secret
