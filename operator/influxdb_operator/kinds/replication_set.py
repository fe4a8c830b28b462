"""ReplicationSet: one child Replication per selected bucket, kept in step
with the buckets each selected instance's refresh lists (one more call per
period, only for instances a set selects: no polling per set or per child).

The children are ordinary Replications, reconciled by their own handlers
and the refresh; the set only creates, resets and removes them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Literal

import pydantic

from ..api import v1alpha1
from ..driver import finish
from ..reconcile import conditions
from ..reconcile import fan_out as sets
from ..reconcile.outcome import Blocked, Event, Result
from ..reconcile.reasons import Action, Reason
from ..state.runtime import Runtime
from ..state.world import Dependents, Key, Obj, Refs, every, one, spec_of
from . import remote_buckets

KIND, PLURAL = "ReplicationSet", "replicationsets"


def _spec(obj: Obj) -> v1alpha1.ReplicationSetSpec:
    return spec_of(obj, v1alpha1.ReplicationSetSpec)


def instances(refs: Refs, obj: Obj) -> list[str]:
    """The names of the instances the set selects (its instanceRef's, even before that exists)."""
    spec, namespace = _spec(obj), obj["metadata"]["namespace"]
    if spec.instance_ref is not None:
        return [spec.instance_ref.name]
    return sorted(name for (space, name) in refs.instances if space == namespace and selects(refs, obj, name))


def selects(refs: Refs, obj: Obj, instance: str) -> bool:
    """Whether the set selects the instance of that name in its namespace: one
    name or label match, where `instances` looks at every instance."""
    spec = _spec(obj)
    if spec.instance_ref is not None:
        return spec.instance_ref.name == instance
    selector = spec.instance_selector or v1alpha1.LabelSelector()
    return any(
        not o["metadata"].get("deletionTimestamp")
        and sets.selects_instance(selector, o["metadata"].get("labels") or {})
        for o in every(refs.instances, (obj["metadata"]["namespace"], instance))
    )


def current(deps: Dependents, namespace: str, name: str) -> Obj | None:
    """The set's newest snapshot in the index, unless it is being deleted."""
    found = every(deps.sets_by_namespace, (namespace, ""))
    return next(
        (o for o in found if o["metadata"]["name"] == name and not o["metadata"].get("deletionTimestamp")), None
    )


def listed_by_now(rt: Runtime, refs: Refs, obj: Obj) -> bool:
    """Whether every instance the set selects has had a listing (or a failed
    one) in this process: before, a reconcile could only say BucketsNotListed."""
    try:
        names = instances(refs, obj)
    except pydantic.ValidationError:
        return False
    return all((obj["metadata"]["namespace"], name) in rt.buckets for name in names)


async def settle_latest(rt: Runtime, refs: Refs, deps: Dependents, seen: Obj) -> None:
    """Reconcile the set outside its handler (the refresh, a recount), from
    its newest snapshot taken under its lock: one seen earlier, from before
    its handler applied a newer spec, would undo that (delete the children
    just made). Left to the handler while it is at work or on its way."""
    lock, (namespace, name) = rt.lock(seen), (seen["metadata"]["namespace"], seen["metadata"]["name"])
    if lock.locked():
        return
    async with lock:
        obj = current(deps, namespace, name)
        if obj is None or obj["metadata"]["uid"] != seen["metadata"]["uid"] or rt.owed_to_handler(obj):
            return
        work = functools.partial(sync, rt, refs, deps, obj)
        write = functools.partial(rt.write_status, PLURAL, namespace, name)
        await finish.settle(rt, KIND, v1alpha1.ReplicationSetStatus, obj, work, write)


def selecting(refs: Refs, deps: Dependents, key: Key) -> list[Obj]:
    """The sets of `key`'s namespace that select the instance `key` (a set
    whose spec does not parse selects none: its handler reports it)."""

    def selected(obj: Obj) -> bool:
        try:
            return selects(refs, obj, key[1])
        except pydantic.ValidationError:
            return False

    return [
        o
        for o in every(deps.sets_by_namespace, (key[0], ""))
        if not o["metadata"].get("deletionTimestamp") and selected(o)
    ]


def _children(deps: Dependents, obj: Obj) -> list[sets.Child]:
    meta = obj["metadata"]
    found = []
    for child in every(deps.children_by_set, (meta["namespace"], meta["name"])):
        if child["metadata"].get("controller") != meta["uid"]:
            continue  # labelled, not made by this set: never reset or deleted by it
        ready = conditions.get(child["status"].get("conditions") or [], v1alpha1.ConditionType.READY)
        found.append(
            sets.Child(
                name=child["metadata"]["name"],
                instance=(child["spec"].get("instanceRef") or {}).get("name", ""),
                spec=child["spec"],
                ready=(ready["status"], ready.get("reason", ""), ready.get("message", "")) if ready else None,
                deleting=bool(child["metadata"].get("deletionTimestamp")),
            )
        )
    return found


async def sync(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> Result:
    meta, spec = obj["metadata"], _spec(obj)
    namespace = meta["namespace"]
    try:
        sets.pattern(spec.buckets)
    except re.error as error:
        raise Blocked(Reason.INVALID_PATTERN, f"buckets.pattern {spec.buckets.pattern!r}: {error}") from None
    if spec.instance_ref is not None and one(refs.instances, (namespace, spec.instance_ref.name)) is None:
        raise Blocked(
            Reason.INSTANCE_NOT_FOUND, f"InfluxDBInstance {namespace}/{spec.instance_ref.name} does not exist"
        )
    names = instances(refs, obj)
    buckets = {name: listed.buckets if (listed := rt.buckets.get((namespace, name))) else None for name in names}
    children = _children(deps, obj)
    todo = sets.plan(meta["name"], spec, buckets, children)
    events: list[Event] = []
    taken: list[str] = []
    paused = v1alpha1.paused(meta.get("annotations"))
    if not paused:
        # Only for children to be made and those not Ready (a remote bucket deleted since, say):
        # a set at rest costs the remote no call.
        unsettled = {c.name for c in children if c.ready is None or c.ready[0] != "True"} | set(todo.create)
        due = {name: s for name, s in todo.wanted.items() if name in unsettled}
        if spec.provision_remote_buckets and due:
            events += await remote_buckets.provision(rt, refs, namespace, remote_buckets.needed(due, buckets))
        applied, taken = await _apply(rt, obj, spec, todo)
        events += applied
    gone = set() if paused else set(todo.remove)  # paused: nothing removed, so all still counted
    kept = [c for c in children if c.name not in gone and not c.deleting]
    kept += [sets.Child(name, s["instanceRef"]["name"], s) for name, s in todo.create.items() if name not in taken]
    counted = sets.summary(kept)
    problems = counted.problems + [
        v1alpha1.ChildProblem(name=name, reason=Reason.CHILD_NAME_TAKEN, message="a Replication not of this set")
        for name in taken
    ]
    status = v1alpha1.ReplicationSetStatus(matched=todo.matched, ready=counted.ready, not_ready=problems[:20])
    conds = _conditions(todo, counted, taken, buckets, paused)
    before = conditions.get(obj["status"].get("conditions") or [], v1alpha1.ConditionType.READY) or {}
    ready_now, said = conds[0], (before.get("reason"), before.get("message"))
    if ready_now.reason is Reason.CHILD_NAME_TAKEN and said != (ready_now.reason, ready_now.message):
        events.append(Event("Warning", ready_now.reason, ready_now.message))  # once per change, not per refresh
    return Result(status=status, conditions=conds, events=events)


def _conditions(
    todo: sets.Plan, counted: sets.Summary, taken: list[str], buckets: Mapping[str, object], paused: bool
) -> list[conditions.Condition]:
    ready_type, synced_type = v1alpha1.ConditionType.READY, v1alpha1.ConditionType.SYNCED
    synced = (
        conditions.Condition(synced_type, "False", Reason.PAUSED, f"paused by {v1alpha1.PAUSED_ANNOTATION}=true")
        if paused
        else conditions.Condition(synced_type, "True", Reason.RECONCILE_SUCCESS, "")
    )
    state: tuple[Literal["True", "False"], Reason, str]
    unlisted = sorted(name for name, listed in buckets.items() if listed is None)
    if unlisted:
        state = ("False", Reason.BUCKETS_NOT_LISTED, f"waiting for the bucket listing of {', '.join(unlisted)}")
    elif taken:
        state = ("False", Reason.CHILD_NAME_TAKEN, f"Replications not of this set hold the names {', '.join(taken)}")
    elif counted.stuck:
        # The set itself is stuck while any child is (Stalled: Degraded in Argo CD, Failed in kstatus).
        first = f"{counted.problems[0].name}: {counted.problems[0].reason}"
        state = (
            "False",
            Reason.CHILDREN_FAILING,
            f"{counted.stuck} of {todo.matched} children need a person ({first})",
        )
    elif counted.ready < todo.matched:
        state = ("False", Reason.CHILDREN_NOT_READY, f"{counted.ready} of {todo.matched} children Ready")
    else:
        state = ("True", Reason.AVAILABLE, f"{todo.matched} buckets matched, every child Ready")
    return [conditions.Condition(ready_type, *state), synced]


async def _apply(
    rt: Runtime, obj: Obj, spec: v1alpha1.ReplicationSetSpec, todo: sets.Plan
) -> tuple[list[Event], list[str]]:
    store, namespace = rt.children, obj["metadata"]["namespace"]
    assert store is not None, "the runtime has no ChildStore"
    events: list[Event] = []
    taken: list[str] = []
    for name, child in sorted(todo.create.items()):
        made = await store.create(obj, name, child)
        if made == "created":  # not "existed": its Event was posted when it was
            bucket, instance = child["localBucket"]["name"], child["instanceRef"]["name"]
            events.append(Event("Normal", Action.CHILD_CREATED, f"{name} for bucket {bucket} of {instance}"))
        elif made == "taken":
            taken.append(name)
    for name, patch in sorted(todo.reset.items()):
        await store.reset(namespace, name, patch)
        events.append(Event("Normal", Action.CHILD_RESET, f"{name}: {', '.join(sorted(patch))} set back"))
    for name in sorted(todo.remove):
        if spec.deletion_policy is v1alpha1.DeletionPolicy.ORPHAN:
            await store.release(obj, name)
            events.append(Event("Normal", Action.CHILD_REMOVED, f"{name} orphaned: its bucket no longer matches"))
        else:
            await store.delete(namespace, name)
            events.append(Event("Normal", Action.CHILD_REMOVED, f"{name} deleted: its bucket no longer matches"))
    return events, taken


async def delete(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> None:
    """The children go with the set (Delete) or stay, released (Orphan)."""
    store, spec = rt.children, _spec(obj)
    assert store is not None, "the runtime has no ChildStore"
    for child in _children(deps, obj):
        if spec.deletion_policy is v1alpha1.DeletionPolicy.ORPHAN:
            await store.release(obj, child.name)
        elif not child.deleting:
            await store.delete(obj["metadata"]["namespace"], child.name)
