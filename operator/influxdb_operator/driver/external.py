"""The contract every managed InfluxDB object meets, and the one driver that
runs it - in the spirit of crossplane-runtime's managed reconciler.

A kind gives an `External`: how to find its object (by ID, by name), create
it, compare it with the spec (pure `drift`), correct it and delete it.
`sync` does the rest, the same for every kind: observe by the recorded ID
(from the refresh's listing when there is one), else by name; guard creates
with the create-pending marker; adopt, report a conflict, recreate what was
deleted out of band, and PATCH drift back. `look` is its read-only half, for
paused resources and managementPolicy Observe; `remove` deletes the object,
including one whose create landed before its ID was stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from ..influx import errors
from ..influx.client import Collection
from ..reconcile import plan
from ..reconcile.drift import Drift
from ..reconcile.outcome import Blocked, Event
from ..reconcile.reasons import Action, Reason


class HasID(Protocol):
    @property
    def id(self) -> str: ...


H = TypeVar("H", bound=HasID)


@dataclass(frozen=True)
class Endpoints(Generic[H]):
    """A kind's lookups, bound to one org: how the driver observes."""

    get: Callable[[str], Awaitable[H | None]]
    find: Callable[[str], Awaitable[list[H]]]  # by name

    @staticmethod
    def of(collection: Collection[Any, Any, Any], org_id: str) -> Endpoints[Any]:
        return Endpoints(collection.get, lambda name: collection.list(org_id, name=name))


class External(Protocol[H]):
    """A kind's InfluxDB object, the whole lifecycle: observe (`endpoints`),
    create, compare (`drift`, pure), update and delete. The driver calls
    nothing else of a kind, and decides when to call each."""

    noun: ClassVar[str]
    # Fields InfluxDB never shows (drift entries only this side can know of),
    # with the Event that announces a change of them.
    write_only: ClassVar[Mapping[str, tuple[Action, str]]]

    @property
    def endpoints(self) -> Endpoints[H]: ...

    async def check_creatable(self) -> None:
        """Raise `Blocked` to refuse a create; runs before the create-pending
        marker is stored, so a refusal leaves nothing that a later attempt
        could take for a create of its own."""

    async def create(self) -> H: ...

    async def check_adoptable(self, have: H) -> None:
        """Raise `Blocked` if `have` cannot become this resource's object."""

    def drift(self, have: H, *, adopted: bool) -> Drift: ...

    async def update(self, have: H, differing: Drift) -> H: ...

    async def delete(self, influx_id: str) -> bool:
        """False if it was already gone, which is no error; raise `Blocked`
        where InfluxDB refuses for a reason the user can act on."""


@dataclass(frozen=True)
class Target:
    """The resource, as far as the driver needs it."""

    name: str  # in InfluxDB
    recorded_id: str | None
    create_pending: bool
    adopt_existing: bool
    spec_changed: bool  # a new generation: changes are "Updated", not "DriftCorrected"
    # recorded_id is of an object only observed so far (managementPolicy was
    # Observe): it becomes this resource's under the adopt rules only.
    takeover: bool = False


@dataclass(frozen=True)
class Synced(Generic[H]):
    have: H
    events: list[Event]
    # Read-only (`look`): how the object differs from the spec, uncorrected.
    differing: Drift | None = None


async def _by_id(ext: External[H], recorded: str | None, seen: Mapping[str, H] | None) -> H | None:
    """A listing (`seen`) answers only for presence: absence there may be
    stale (a create may have landed since) and acting on it could duplicate,
    so it is confirmed with a direct lookup."""
    if seen is not None and recorded and recorded in seen:
        return seen[recorded]
    return await ext.endpoints.get(recorded) if recorded else None


async def observe(ext: External[H], target: Target, seen: Mapping[str, H] | None) -> tuple[H | None, H | None]:
    """(the object with the recorded ID, else one with the name, else neither)."""
    by_id = await _by_id(ext, target.recorded_id, seen)
    if by_id is not None:
        return by_id, None
    same_name = await ext.endpoints.find(target.name)
    return None, (same_name[0] if same_name else None)


async def look(ext: External[H], target: Target, seen: Mapping[str, H] | None, *, by_name: bool) -> Synced[H] | None:
    """Read-only: the object with the recorded ID (else, if `by_name`, one
    with the name) and its observable drift; None if there is none. No
    recorded ID and no name lookup costs no call at all."""
    have = await _by_id(ext, target.recorded_id, seen)
    if have is None and by_name:
        same_name = await ext.endpoints.find(target.name)
        have = same_name[0] if same_name else None
    if have is None:
        return None
    shown = {name: pair for name, pair in ext.drift(have, adopted=False).items() if name not in ext.write_only}
    return Synced(have, [], shown)


async def sync(
    ext: External[H],
    target: Target,
    *,
    seen: Mapping[str, H] | None,
    mark_pending: Callable[[], Awaitable[None]],
    record: Callable[[str], None],
) -> Synced[H]:
    """Make InfluxDB hold what `ext` wants; `mark_pending` stores the marker durably."""
    by_id, by_name = await observe(ext, target, seen)
    if target.takeover and by_id is not None:
        by_id, by_name = None, by_id  # only observed so far: not known to be ours
    differing = ext.drift(by_id, adopted=False) if by_id is not None else {}
    decision = _decide(target, by_id, by_name, up_to_date=not differing)
    if decision.verb is plan.Verb.CONFLICT:
        assert by_name is not None
        raise _conflict(ext, target, by_name.id)
    if decision.verb is plan.Verb.CREATE:
        await ext.check_creatable()
        # Marked before the POST: if this process dies before the ID is stored,
        # the next one adopts the object of this name as its own.
        await mark_pending()
        have = await ext.create()
        record(have.id)
        return Synced(have, [_created(ext, target, have.id, recreated=decision.recreate)])
    assert decision.existing is not None
    have, events = decision.existing, []
    adopted = decision.verb is plan.Verb.ADOPT
    if adopted:
        await ext.check_adoptable(have)
        record(have.id)
        events.append(Event("Normal", Action.ADOPTED, f"adopted existing {ext.noun} {target.name!r} with ID {have.id}"))
        differing = ext.drift(have, adopted=True)  # what the adopted object holds is not known to be ours
    if differing:
        try:
            have = await ext.update(have, differing)
        except errors.NotFound:
            if seen is None:
                raise
            # Listed, but deleted since: observed again, without the listing.
            return await sync(ext, target, seen=None, mark_pending=mark_pending, record=record)
        events += _changes(ext, target, have.id, differing, adopted=adopted)
    return Synced(have, events)


@dataclass(frozen=True)
class Removed:
    influx_id: str
    gone: bool  # False: it was already gone


async def remove(ext: External[H], target: Target) -> Removed | None:
    """Delete the object with the recorded ID, else, while a create of ours
    may have landed before its ID was stored (create-pending), the one with
    the name; None if there is none to delete."""
    influx_id = target.recorded_id
    if influx_id is None and target.create_pending:
        same_name = await ext.endpoints.find(target.name)
        influx_id = same_name[0].id if same_name else None
    if influx_id is None:
        return None
    return Removed(influx_id, await ext.delete(influx_id))


def _decide(target: Target, by_id: H | None, by_name: H | None, *, up_to_date: bool) -> plan.Plan[H]:
    return plan.plan(
        recorded_id=None if target.takeover else target.recorded_id,
        by_id=by_id,
        by_name=by_name,
        create_pending=target.create_pending,
        adopt_existing=target.adopt_existing,
        up_to_date=up_to_date,
    )


def _conflict(ext: External[H], target: Target, influx_id: str) -> Blocked:
    return Blocked(
        Reason.NAME_CONFLICT,
        f"a {ext.noun} named {target.name!r} (ID {influx_id}) already exists in InfluxDB and is not known to "
        "be this resource's; set spec.adoptExisting: true to take it over, or set spec.name to another name",
    )


def _created(ext: External[H], target: Target, influx_id: str, *, recreated: bool) -> Event:
    verb = Action.RECREATED if recreated else Action.CREATED
    detail = " (it had been deleted outside Kubernetes)" if recreated else ""
    return Event("Normal", verb, f"{verb.lower()} {ext.noun} {target.name!r} with ID {influx_id}{detail}")


def _changes(ext: External[H], target: Target, influx_id: str, differing: Drift, *, adopted: bool) -> list[Event]:
    shown = sorted(f for f in differing if f not in ext.write_only)
    events = []
    if shown:
        action = Action.UPDATED if target.spec_changed else Action.DRIFT_CORRECTED
        events.append(Event("Normal", action, f"set {', '.join(shown)} of {ext.noun} {target.name!r} (ID {influx_id})"))
    if not adopted:  # adopting always sends them; that is no change worth an Event
        for name, (action, what) in ext.write_only.items():
            if name in differing:
                events.append(Event("Normal", action, f"{what} to {ext.noun} {target.name!r} (ID {influx_id})"))
    return events
