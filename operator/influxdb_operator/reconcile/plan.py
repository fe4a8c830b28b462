"""What to do with one managed InfluxDB object, crossplane-style.

Observe by the recorded ID first; only when that finds nothing look for an
object of the declared name. Create is not idempotent in InfluxDB (IDs are
assigned by the server and a duplicate name is a 500), so a same-name object
is adopted only when it is provably ours - a create of ours was in flight
(`create_pending`) - or the user opted in; otherwise it is a NameConflict and
nothing is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class Verb(StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    NOTHING = "Nothing"
    ADOPT = "Adopt"
    CONFLICT = "Conflict"


@dataclass(frozen=True)
class Plan(Generic[T]):
    verb: Verb
    existing: T | None = None
    # Set when the recorded object vanished (deleted out of band).
    recreate: bool = False


def plan(
    *,
    recorded_id: str | None,
    by_id: T | None,
    by_name: T | None,
    create_pending: bool,
    adopt_existing: bool,
    up_to_date: bool | None,
) -> Plan[T]:
    """`up_to_date` compares `by_id` with the spec; it is ignored when `by_id` is None."""
    if by_id is not None:
        return Plan(Verb.NOTHING if up_to_date else Verb.UPDATE, by_id)
    vanished = recorded_id is not None
    if by_name is not None:
        if create_pending or adopt_existing:
            return Plan(Verb.ADOPT, by_name, recreate=vanished)
        return Plan(Verb.CONFLICT, by_name, recreate=vanished)
    return Plan(Verb.CREATE, recreate=vanished)
