"""The one driver every managed kind runs, through each branch of its plan,
against an in-memory InfluxDB stand-in (the real one proves it in
tests/integration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from influxdb_operator.driver import external
from influxdb_operator.driver.external import Endpoints, Target
from influxdb_operator.influx import errors
from influxdb_operator.reconcile.drift import Drift
from influxdb_operator.reconcile.outcome import Blocked
from influxdb_operator.reconcile.reasons import Action, Reason


@dataclass(frozen=True)
class Thing:
    id: str
    name: str
    size: int


@dataclass
class FakeExternal:
    """Objects by ID; `calls` records every InfluxDB call in order."""

    noun: ClassVar[str] = "thing"
    write_only: ClassVar[Mapping[str, tuple[Action, str]]] = {"secret": (Action.TOKEN_ROTATED, "sent the secret")}

    want_size: int = 1
    secret_changed: bool = False
    adoptable: bool = True
    creatable: bool = True
    objects: dict[str, Thing] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    next_id: int = 100

    @property
    def endpoints(self) -> Endpoints[Thing]:
        return Endpoints(get=self._get, find=self._find)

    async def _get(self, influx_id: str) -> Thing | None:
        self.calls.append(f"get {influx_id}")
        return self.objects.get(influx_id)

    async def _find(self, name: str) -> list[Thing]:
        self.calls.append(f"find {name}")
        return [t for t in self.objects.values() if t.name == name]

    async def delete(self, influx_id: str) -> bool:
        self.calls.append(f"delete {influx_id}")
        return self.objects.pop(influx_id, None) is not None

    async def check_creatable(self) -> None:
        self.calls.append("check creatable")
        if not self.creatable:
            raise Blocked(Reason.REMOTE_VALIDATION_FAILED, "refused")

    async def create(self) -> Thing:
        self.calls.append("create")
        thing = Thing(str(self.next_id), "t", self.want_size)
        self.objects[thing.id] = thing
        return thing

    async def check_adoptable(self, have: Thing) -> None:
        if not self.adoptable:
            raise Blocked(Reason.NAME_CONFLICT, "not adoptable")

    def drift(self, have: Thing, *, adopted: bool) -> Drift:
        differing: Drift = {"size": (have.size, self.want_size)} if have.size != self.want_size else {}
        if self.secret_changed or adopted:
            differing["secret"] = (None, "new")
        return differing

    async def update(self, have: Thing, differing: Drift) -> Thing:
        self.calls.append(f"update {sorted(differing)}")
        if have.id not in self.objects:
            raise errors.NotFound("replication not found", status=404)
        updated = Thing(have.id, have.name, self.want_size)
        self.objects[have.id] = updated
        return updated


def target(recorded: str | None = None, *, pending: bool = False, adopt: bool = False, new_spec: bool = True) -> Target:
    return Target("t", recorded, create_pending=pending, adopt_existing=adopt, spec_changed=new_spec)


async def run(ext: FakeExternal, tgt: Target, seen: Mapping[str, Thing] | None = None) -> tuple[Thing, list[Any]]:
    recorded: list[str] = []

    async def mark_pending() -> None:
        ext.calls.append("mark pending")

    synced = await external.sync(ext, tgt, seen=seen, mark_pending=mark_pending, record=recorded.append)
    assert recorded in ([], [synced.have.id])
    return synced.have, [(e.type, e.reason) for e in synced.events]


async def test_create_marks_pending_before_it_posts() -> None:
    ext = FakeExternal()
    have, events = await run(ext, target())
    assert ext.calls == ["find t", "check creatable", "mark pending", "create"]
    assert events == [("Normal", Action.CREATED)]
    assert list(ext.objects) == [have.id]


async def test_a_refused_create_leaves_no_marker_and_no_object() -> None:
    # The marker would make a later attempt adopt a same-name object as its own.
    ext = FakeExternal(creatable=False)
    with pytest.raises(Blocked) as refused:
        await run(ext, target())
    assert refused.value.reason is Reason.REMOTE_VALIDATION_FAILED
    assert ext.calls == ["find t", "check creatable"]
    assert ext.objects == {}


async def test_an_object_deleted_out_of_band_is_recreated() -> None:
    ext = FakeExternal()
    have, events = await run(ext, target("42"))
    assert ext.calls == ["get 42", "find t", "check creatable", "mark pending", "create"]
    assert events == [("Normal", Action.RECREATED)]
    assert have.id != "42"


async def test_matching_object_needs_nothing_and_a_listing_saves_the_lookup() -> None:
    ext = FakeExternal(objects={"7": Thing("7", "t", 1)})
    have, events = await run(ext, target("7"), seen=dict(ext.objects))
    assert (have.id, events, ext.calls) == ("7", [], [])


async def test_absence_from_a_listing_is_confirmed_before_anything_is_created() -> None:
    ext = FakeExternal(objects={"7": Thing("7", "t", 1)})
    have, events = await run(ext, target("7"), seen={})
    assert ext.calls == ["get 7"]
    assert (have.id, events) == ("7", [])


async def test_an_object_listed_but_deleted_since_is_recreated_not_reported() -> None:
    # A handler reads its object from the refresh's latest listing, up to a period old.
    ext = FakeExternal(want_size=2)
    have, events = await run(ext, target("7"), seen={"7": Thing("7", "t", 1)})
    assert ext.calls == ["update ['size']", "get 7", "find t", "check creatable", "mark pending", "create"]
    assert events == [("Normal", Action.RECREATED)]
    assert (have.id, have.size) == ("100", 2)


@pytest.mark.parametrize(("new_spec", "action"), [(True, Action.UPDATED), (False, Action.DRIFT_CORRECTED)])
async def test_drift_is_patched_back(new_spec: bool, action: Action) -> None:
    ext = FakeExternal(want_size=2, objects={"7": Thing("7", "t", 1)})
    have, events = await run(ext, target("7", new_spec=new_spec))
    assert ext.calls == ["get 7", "update ['size']"]
    assert have.size == 2
    assert events == [("Normal", action)]


async def test_a_write_only_change_is_sent_and_announced_as_such() -> None:
    ext = FakeExternal(secret_changed=True, objects={"7": Thing("7", "t", 1)})
    _, events = await run(ext, target("7"))
    assert ext.calls == ["get 7", "update ['secret']"]
    assert events == [("Normal", Action.TOKEN_ROTATED)]


async def test_a_same_name_object_of_unknown_origin_is_a_conflict() -> None:
    ext = FakeExternal(objects={"7": Thing("7", "t", 1)})
    with pytest.raises(Blocked) as blocked:
        await run(ext, target())
    assert blocked.value.reason is Reason.NAME_CONFLICT
    assert "create" not in ext.calls


@pytest.mark.parametrize("tgt", [target(pending=True), target(adopt=True)], ids=["create-pending", "opted-in"])
async def test_a_same_name_object_is_adopted_when_provably_ours_or_asked(tgt: Target) -> None:
    ext = FakeExternal(want_size=2, objects={"7": Thing("7", "t", 1)})
    have, events = await run(ext, tgt)
    assert have.id == "7"
    # Adoption sends write-only fields too (their values are unknown), without a rotation Event.
    assert ext.calls == ["find t", "update ['secret', 'size']"]
    assert events == [("Normal", Action.ADOPTED), ("Normal", Action.UPDATED)]


async def test_adoption_can_be_refused_by_the_kind() -> None:
    ext = FakeExternal(adoptable=False, objects={"7": Thing("7", "t", 1)})
    with pytest.raises(Blocked):
        await run(ext, target(pending=True))
    assert not any(c.startswith(("create", "update")) for c in ext.calls)


# --- the read-only half: paused resources and managementPolicy Observe ---


async def test_look_reports_drift_without_writing_and_hides_write_only_fields() -> None:
    ext = FakeExternal(want_size=2, secret_changed=True, objects={"7": Thing("7", "t", 1)})
    found = await external.look(ext, target("7"), None, by_name=False)
    assert found is not None
    assert found.have.id == "7"
    assert found.differing == {"size": (1, 2)}
    assert ext.calls == ["get 7"]


async def test_look_without_an_id_or_a_name_lookup_calls_nothing() -> None:
    ext = FakeExternal(objects={"7": Thing("7", "t", 1)})
    assert await external.look(ext, target(), None, by_name=False) is None
    assert ext.calls == []


async def test_look_by_name_attaches_to_the_object_of_the_name() -> None:
    ext = FakeExternal(objects={"7": Thing("7", "t", 1)})
    found = await external.look(ext, target(), None, by_name=True)
    assert found is not None
    assert found.have.id == "7"
    assert ext.calls == ["find t"]


def takeover(*, adopt: bool) -> Target:
    return Target("t", "7", create_pending=False, adopt_existing=adopt, spec_changed=True, takeover=True)


async def test_an_observed_object_is_not_taken_over_without_adopt_existing() -> None:
    ext = FakeExternal(want_size=2, objects={"7": Thing("7", "t", 1)})
    with pytest.raises(Blocked) as blocked:
        await run(ext, takeover(adopt=False))
    assert blocked.value.reason is Reason.NAME_CONFLICT
    assert not any(c.startswith(("create", "update")) for c in ext.calls)


async def test_an_observed_object_is_adopted_with_adopt_existing() -> None:
    ext = FakeExternal(want_size=2, objects={"7": Thing("7", "t", 1)})
    have, events = await run(ext, takeover(adopt=True))
    assert have.id == "7"
    assert events == [("Normal", Action.ADOPTED), ("Normal", Action.UPDATED)]


async def test_remove_deletes_the_recorded_object_and_says_when_it_was_already_gone() -> None:
    ext = FakeExternal(objects={"7": Thing("7", "t", 1)})
    assert await external.remove(ext, target("7")) == external.Removed("7", gone=True)
    assert await external.remove(ext, target("7")) == external.Removed("7", gone=False)
    assert ext.calls == ["delete 7", "delete 7"]


async def test_remove_finds_a_pending_create_by_name_and_nothing_else() -> None:
    # A create of ours may have landed before its ID was stored; without the marker, a
    # same-name object is not known to be ours and stays.
    ext = FakeExternal(objects={"7": Thing("7", "t", 1)})
    assert await external.remove(ext, target()) is None
    assert ext.calls == []
    assert await external.remove(ext, target(pending=True)) == external.Removed("7", gone=True)
    assert ext.calls == ["find t", "delete 7"]
    assert ext.objects == {}
