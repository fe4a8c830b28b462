"""A ReplicationSet reconciled outside its handler (the refresh, a recount)
is taken from its newest snapshot under its lock, and left alone while a
change of its spec waits for its handler: a snapshot seen before the handler
ran would undo what the handler made."""

from __future__ import annotations

from typing import Any

from influxdb_operator.config import Settings
from influxdb_operator.kinds import replication_set
from influxdb_operator.state.runtime import Runtime
from influxdb_operator.state.world import Dependents, Obj, Refs

SPEC = {"instanceRef": {"name": "edge"}, "remote": {"connectionRef": {"name": "cloud"}}}


def _set(generation: int, observed: int, *, uid: str = "uid-s", pattern: str = "^a") -> Obj:
    return {
        "metadata": {"name": "s", "namespace": "ns", "uid": uid, "generation": generation},
        "spec": {**SPEC, "buckets": {"pattern": pattern}},
        "status": {"observedGeneration": observed},
    }


async def _never(*_: Any) -> None:
    raise AssertionError("the set must be left to its handler")


def _world(newest: Obj) -> tuple[Runtime, Refs, Dependents]:
    rt = Runtime(Settings(max_backoff=60), write_status=_never, post_events=lambda *_: None)
    refs = Refs({}, {}, {}, {})
    return rt, refs, Dependents({}, {}, {("ns", ""): [newest]}, {})


async def test_a_change_its_handler_has_not_applied_is_left_to_it() -> None:
    seen = _set(1, 1)
    rt, refs, deps = _world(_set(2, 1, pattern="^[ab]"))
    await replication_set.settle_latest(rt, refs, deps, seen)  # _never would fail: nothing written


async def test_a_set_deleted_and_made_again_is_not_the_one_seen() -> None:
    rt, refs, deps = _world(_set(1, 1, uid="uid-new"))
    await replication_set.settle_latest(rt, refs, deps, _set(1, 1))


async def test_the_newest_snapshot_is_the_one_reconciled() -> None:
    """Once applied, the newest spec is what the reconcile reads (here its
    instance is missing: the status written says so, of the newest)."""
    written: list[dict[str, Any]] = []

    async def write(plural: str, namespace: str, name: str, patch: dict[str, Any]) -> None:
        written.append(patch)

    newest = _set(2, 2, pattern="^[ab]")
    rt, refs, deps = _world(newest)
    rt.write_status = write
    await replication_set.settle_latest(rt, refs, deps, _set(1, 1))
    assert [c["reason"] for c in written[0]["conditions"] if c["type"] == "Ready"] == ["InstanceNotFound"]
    assert newest["status"]["conditions"], "the newest snapshot took the status written"


def test_an_instance_refresh_finds_the_sets_that_select_it_by_name_or_label() -> None:
    """`selecting` asks each set of the namespace about the one instance (its
    name, or its labels), not for every instance it selects."""

    def instance(name: str, labels: dict[str, str], namespace: str = "ns") -> Obj:
        return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels}}

    def a_set(name: str, **select: Any) -> Obj:
        spec = {"remote": {"connectionRef": {"name": "cloud"}}, **select}
        return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"}, "spec": spec, "status": {}}

    edges = {("ns", n): [instance(n, {"site": s})] for n, s in (("edge-1", "a"), ("edge-2", "b"))}
    refs = Refs({**edges, ("other", "edge-1"): [instance("edge-1", {"site": "a"}, "other")]}, {}, {}, {})
    by_ref, by_label = (
        a_set("one", instanceRef={"name": "edge-2"}),
        a_set("fleet", instanceSelector={"matchLabels": {"site": "a"}}),
    )
    deps = Dependents({}, {}, {("ns", ""): [by_ref, by_label]}, {})

    def names(key: tuple[str, str]) -> list[str]:
        return [o["metadata"]["name"] for o in replication_set.selecting(refs, deps, key)]

    assert (names(("ns", "edge-1")), names(("ns", "edge-2")), names(("ns", "edge-3"))) == (["fleet"], ["one"], [])
    assert replication_set.instances(refs, by_label) == ["edge-1"]  # not the other namespace's
