"""The operator process's own state, in one object handed to where it is used.

One operator process acts at a time (a single replica, replaced with the
Recreate strategy), so this memory is the only one there is: IDs recorded
ahead of the watch, one lock per object so handlers and the refresh never
work on one object at once, wake-ups of the per-instance refresh, and the
InfluxDB clients. The two ways out to Kubernetes (status writes and Events)
are passed in, so this layer needs no kopf.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import SecretStr

from ..api.v1alpha1 import MintedTokenStatus
from ..config import Settings
from ..influx.client import InfluxClient
from ..reconcile.dataplane import Trend
from ..reconcile.outcome import Event
from .child_store import ChildStore
from .clients import ClientCache
from .listing import BucketListing, Listing
from .world import Key, Obj, forget_spec

# Objects kopf works on at once per instance (their events, their handlers).
# Unbounded, a restart with a thousand pending changes ran a thousand handlers
# at once, and their ends opened as many new connections to the API server
# (kopf's client has no pool limit): over half a GiB of TLS buffers, kept by
# the allocator afterwards. Per instance, so a frozen server holds up only its
# own resources.
HANDLERS_PER_INSTANCE = 16

# (plural, namespace, name, merge patch of the status)
StatusWriter = Callable[[str, str, str, dict[str, object]], Awaitable[None]]
# (the object, its kind, the events): posted in the background
EventPoster = Callable[[Obj, str, Sequence[Event]], None]


class SecretRefused(Exception):
    """Kubernetes answered that the Secret was not written (nothing was)."""


class SecretStore(Protocol):
    """Secrets the operator owns (minted tokens): written and deleted, never logged."""

    async def put(self, owner: Obj, owner_kind: str, name: str, data: Mapping[str, str]) -> None:
        """Create or replace Secret `name` in the owner's namespace, owned by it;
        `SecretRefused` if one of that name is not the owner's, or the API refuses."""

    async def delete(self, namespace: str, name: str) -> None:
        """Delete it; already gone is fine."""


@dataclass(frozen=True)
class Minted:
    """A token this process minted, ahead of the Secrets watch; with the
    status recorded for it once its rotation finished (ahead of the watch of
    the RemoteConnection, which may still show the status before), or the
    status it is meant to get while its rotation is not finished yet."""

    authorization_id: str
    token: SecretStr
    record: MintedTokenStatus | None = None
    pending: MintedTokenStatus | None = None


@dataclass
class Beats:
    """A replication's heartbeats: when this process last wrote one, and the lag last measured."""

    sent_at: float = -math.inf  # monotonic
    lag: float | None = None


@dataclass
class Validation:
    """A background validate of one replication: the annotation value it is
    to answer (a newer one, set while it runs, is answered next)."""

    wanted: str
    obj: Obj  # the newest snapshot seen
    task: asyncio.Task[None] | None = None


@dataclass
class Validations:
    """Validates run beside everything else, a few at once (`slots`); what
    they recorded in status is kept here by UID, for every reconcile to
    write along (`conditions.carry`) rather than undo from an older snapshot."""

    slots: asyncio.Semaphore
    running: dict[str, Validation] = field(default_factory=dict)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)

    def forget(self, uid: str) -> None:
        self.kept.pop(uid, None)
        running = self.running.pop(uid, None)
        if running is not None and running.task is not None:
            running.task.cancel()

    async def stop(self) -> None:
        tasks = [v.task for v in self.running.values() if v.task is not None]
        for uid in list(self.running):
            self.forget(uid)
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Runtime:
    settings: Settings
    write_status: StatusWriter
    post_events: EventPoster
    secrets: SecretStore | None = None  # None where nothing mints tokens (unit tests)
    children: ChildStore | None = None  # None where no ReplicationSet is reconciled (unit tests)
    clients: ClientCache = field(default_factory=ClientCache)
    _ids: dict[str, str] = field(default_factory=dict)
    _locks: collections.defaultdict[str, asyncio.Lock] = field(
        default_factory=lambda: collections.defaultdict(asyncio.Lock)
    )
    _wakeups: dict[Key, asyncio.Event] = field(default_factory=dict)
    _slots: dict[Key, asyncio.Semaphore] = field(default_factory=dict)
    # Per object UID, the data-plane samples of recent refreshes (replications).
    trends: dict[str, Trend] = field(default_factory=dict)
    beats: dict[str, Beats] = field(default_factory=dict)
    # Per object UID, the generation whose spec InfluxDB was last seen to hold.
    applied: dict[str, int] = field(default_factory=dict)
    # Per object UID, the generation its handler last took up in this process.
    handled: dict[str, int] = field(default_factory=dict)
    # Per Replication UID, its retention shortfall as last known (None: none).
    retention: dict[str, str | None] = field(default_factory=dict)
    # Per instance, its buckets as last listed (kinds/bucket_listings.py), one listing at a time.
    buckets: dict[Key, BucketListing] = field(default_factory=dict)
    bucket_locks: collections.defaultdict[Key, asyncio.Lock] = field(
        default_factory=lambda: collections.defaultdict(asyncio.Lock)
    )
    # Per instance, its refresh's latest listing.
    listings: dict[Key, Listing] = field(default_factory=dict)
    # Per object UID, when this process last changed its InfluxDB object (monotonic).
    wrote: dict[str, float] = field(default_factory=dict)
    # Per object UID, its snapshot and what its last refresh read, if that changed nothing (replications).
    quiet: dict[str, tuple[Obj, object]] = field(default_factory=dict)
    # Clients for remotes' own APIs (heartbeat lag), by URL and token hash.
    remote_clients: dict[str, InfluxClient] = field(default_factory=dict)
    # Per RemoteConnection UID, the token last minted (fresher than the Secrets index).
    minted: dict[str, Minted] = field(default_factory=dict)
    validations: Validations = field(init=False)

    def __post_init__(self) -> None:
        self.validations = Validations(asyncio.Semaphore(self.settings.validate_concurrency))

    def recorded_id(self, obj: Obj) -> str | None:
        """The InfluxDB ID this process recorded (fresher than any watch event), else the status's."""
        return self._ids.get(obj["metadata"]["uid"]) or obj["status"].get("id")

    def record(self, obj: Obj, influx_id: str) -> None:
        self._ids[obj["metadata"]["uid"]] = influx_id

    def lock(self, obj: Obj) -> asyncio.Lock:
        return self._locks[obj["metadata"]["uid"]]

    def owed_to_handler(self, obj: Obj) -> bool:
        """A generation not applied yet that no handler of this process has
        taken up: the refresh leaves it to the handler, which is on its way (a
        change, or the resume of every object on start-up). The handler's status
        then goes out in kopf's own patch with the diff-base: one write per
        change, where the refresh applying it first made two."""
        meta = obj["metadata"]
        generation: int = meta["generation"]
        return generation != obj["status"].get("observedGeneration") and self.handled.get(meta["uid"]) != generation

    def listed(self, obj: Obj, listing: Listing | None) -> Listing | None:
        """The listing to read `obj`'s InfluxDB object from: `listing` (a
        refresh's), else its instance's latest, so that a restart's backlog
        costs a PATCH per change, not a GET and a PATCH; none if taken before
        this process last changed that object, which it would not show."""
        if listing is None:
            ref = obj["spec"].get("instanceRef", {}).get("name", "")
            listing = self.listings.get((obj["metadata"]["namespace"], ref))
        if listing is None or self.wrote.get(obj["metadata"]["uid"], -math.inf) > listing.taken_at:
            return None
        return listing

    def slot(self, instance: Key) -> asyncio.Semaphore:
        """One of the instance's HANDLERS_PER_INSTANCE places for kopf at work on one of its
        objects' events: taken before kopf builds its handlers' state (`lifecycle._admission`)."""
        return self._slots.setdefault(instance, asyncio.Semaphore(HANDLERS_PER_INSTANCE))

    def forget(self, uid: str) -> None:
        self._locks.pop(uid, None)
        self._ids.pop(uid, None)
        self.trends.pop(uid, None)
        self.beats.pop(uid, None)
        self.quiet.pop(uid, None)
        self.applied.pop(uid, None)
        self.handled.pop(uid, None)
        self.wrote.pop(uid, None)
        self.validations.forget(uid)
        self.minted.pop(uid, None)
        self.retention.pop(uid, None)
        forget_spec(uid)

    async def close(self) -> None:
        await self.validations.stop()
        await self.clients.close()
        while self.remote_clients:
            await self.remote_clients.popitem()[1].close()

    def backoff(self, retry: int) -> float:
        """Exponential, from 2 s up to the configured cap."""
        return float(min(self.settings.max_backoff, 2 * 2 ** min(retry, 10)))

    def wakeup(self, key: Key) -> asyncio.Event:
        """The event a refresh loop waits on; created on first use."""
        return self._wakeups.setdefault(key, asyncio.Event())

    def wake(self, key: Key) -> None:
        """Refresh this instance now rather than at the end of its period."""
        event = self._wakeups.get(key)
        if event is not None:
            event.set()

    def refresh_stopped(self, key: Key) -> None:
        self._wakeups.pop(key, None)
        self.listings.pop(key, None)
        self.buckets.pop(key, None)
        self.bucket_locks.pop(key, None)
