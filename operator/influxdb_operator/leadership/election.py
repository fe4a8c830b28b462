"""The election's rules, apart from any I/O, so each move can be tested alone.

As client-go's leaderelection: a Lease expires when its record has not
changed for its duration *by the observer's own clock* (the time it first
saw that record), never by comparing the holder's renewTime to local time,
so clock skew between nodes cannot hand the Lease to two holders. Writes
carry the observed resourceVersion: of two candidates that saw the same
expired record, the API server lets exactly one write through.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """controller-runtime's defaults. The leader gives up `renew_deadline`
    after the start of its last good renewal, while the others wait
    `lease_duration` after they saw it: the difference is the margin for a
    write already on the wire and for clocks that run at different rates."""

    lease_duration: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline:
            raise ValueError("the lease duration must be longer than the renew deadline")
        # client-go's rule: room for at least one retry, jittered by 1.2, before the deadline.
        if not self.renew_deadline > 1.2 * self.retry_period > 0:
            raise ValueError("the renew deadline must be longer than 1.2 retry periods")


@dataclass(frozen=True)
class Record:
    """A Lease's spec, as the election reads and writes it."""

    holder: str  # "": released, anyone may take it
    lease_duration: int
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0


@dataclass(frozen=True)
class Observed:
    """A Lease as last read: its record (None: no Lease yet), its
    resourceVersion, and when (this process's clock) that version was first seen."""

    record: Record | None
    version: str | None
    since: float


class Move(enum.StrEnum):
    CREATE = "create"  # no Lease: create it, holding it
    TAKE = "take"  # free or expired: update it, holding it
    RENEW = "renew"  # ours: update its renewTime
    WAIT = "wait"  # another holds it and it is still valid


def observe(previous: Observed | None, record: Record | None, version: str | None, now: float) -> Observed:
    """The observation after a read: the clock of an unchanged version keeps running."""
    if previous is not None and previous.version == version and previous.record == record:
        return previous
    return Observed(record, version, now)


def decide(observed: Observed, me: str, now: float) -> Move:
    record = observed.record
    if record is None:
        return Move.CREATE
    if record.holder == me:
        return Move.RENEW
    if not record.holder or now - observed.since >= record.lease_duration:
        return Move.TAKE
    return Move.WAIT


def written(move: Move, current: Record | None, me: str, timing: Timing, wall: datetime.datetime) -> Record:
    """The record a CREATE, TAKE or RENEW writes at wall-clock time `wall`."""
    stamp = micro_time(wall)
    if move is Move.RENEW and current is not None:
        return Record(me, timing.lease_duration, current.acquire_time or stamp, stamp, current.transitions)
    if move is Move.WAIT:
        raise ValueError("waiting writes nothing")
    # A new holder: one more transition, unless there was no Lease at all.
    transitions = 0 if current is None else current.transitions + 1
    return Record(me, timing.lease_duration, stamp, stamp, transitions)


def released(current: Record, wall: datetime.datetime) -> Record:
    """What a leader that stops cleanly writes: no holder, as client-go's
    ReleaseOnCancel, so a standby takes over at its next retry rather than
    after the lease duration."""
    stamp = micro_time(wall)
    return Record("", 1, current.acquire_time, stamp, current.transitions)


def micro_time(wall: datetime.datetime) -> str:
    """Kubernetes' MicroTime: RFC 3339 with microseconds, in UTC."""
    return wall.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
