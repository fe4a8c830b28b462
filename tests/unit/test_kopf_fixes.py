"""The fixes to kopf: ToggleSet's waiters are woken when the set flips, not
on every toggle dropped (kopf's own: N²/2 wake-ups for N objects); patches
are sent PATCHES_AT_ONCE at a time; watched objects arrive without what no one
here reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import pytest
from kopf._cogs.aiokits.aiotoggles import ToggleSet
from kopf._cogs.clients import patching, watching

from influxdb_operator.handlers import kopf_fixes

N = 300


def test_the_fix_is_what_kopf_runs() -> None:
    assert ToggleSet.drop_toggle is kopf_fixes.drop_toggle
    assert ToggleSet.make_toggle is kopf_fixes.make_toggle
    assert ToggleSet.drop_toggles is kopf_fixes.drop_toggles
    assert patching.patch_obj is kopf_fixes.patch_obj
    assert watching.continuous_watch is kopf_fixes.continuous_watch
    assert "continuous_watch" in watching.infinite_watch.__code__.co_names, "kopf looks it up in its module"


def test_watched_objects_arrive_without_managed_fields_or_the_last_applied_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def replication(kind: str | None) -> dict[str, object]:
        metadata = {
            "name": "r",
            "uid": "u",
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            "annotations": {kopf_fixes.LAST_APPLIED: "{}", "influxdb.replication.dev/pause": "true"},
        }
        return {"type": kind, "object": {"metadata": metadata, "spec": {"name": "r"}}}

    sent = [replication(None), watching.Bookmark.LISTED, replication("MODIFIED"), {"type": "DELETED", "object": {}}]

    async def kopfs_own(**kwargs: object) -> AsyncIterator[object]:
        for event in sent:
            yield event

    async def scenario() -> list[object]:
        monkeypatch.setattr(kopf_fixes, "_continuous_watch", kopfs_own)
        return [event async for event in kopf_fixes.continuous_watch(resource="replications")]

    listed, bookmark, modified, deleted = asyncio.run(scenario())
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
