"""One candidate's campaign: wait for the Lease, hold it, give it back.

`campaign` blocks the main thread until this process holds the Lease, before
kopf starts: a standby runs no handler and writes nothing but its attempts on
an expired Lease. Once leading, a thread renews every retry period; a renewal
that finds another holder, or none that succeeds within the renew deadline,
ends the process (Kubernetes starts it again, as a standby). The fence ends it
too if any request would leave after that deadline, whichever comes first.
"""

from __future__ import annotations

import datetime
import logging
import random
import secrets
import socket
import threading

from .. import metrics
from . import election, fencing
from .lease_store import Conflict, LeaseStore, Read

logger = logging.getLogger(__name__)


def identity(pod: str | None) -> str:
    """The Pod's name and a random suffix: a restarted container is a new
    candidate, which must not mistake its predecessor's Lease for its own."""
    return f"{pod or socket.gethostname()}_{secrets.token_hex(4)}"


def pod_of(holder: str) -> str:
    """The Pod name in a holder identity (Pod names hold no "_")."""
    return holder.rpartition("_")[0] or holder


class Elector:
    def __init__(self, store: LeaseStore, me: str, timing: election.Timing, fence: fencing.Fence) -> None:
        self.store, self.me, self.timing, self.fence = store, me, timing, fence
        self._lease: Read | None = None  # as last written by us
        self._holder: str | None = None  # as last seen
        self._stopping = threading.Event()
        self._renewer: threading.Thread | None = None

    def campaign(self) -> None:
        """Returns once this process leads, the fence armed and the renewals running."""
        metrics.leader.set(0)
        where = f"Lease {self.store.namespace}/{self.store.name}"
        logger.info("standing by for %s as %s", where, self.me)
        observed: election.Observed | None = None
        while True:
            started = fencing.clock()
            try:
                read = self.store.read()
                observed = election.observe(observed, read.record, read.version, fencing.clock())
                self._saw(read.record)
                move = election.decide(observed, self.me, fencing.clock())
                if move is not election.Move.WAIT:
                    self._take(move, read, started)
                    break
            except Conflict:
                logger.debug("another candidate wrote %s first", where)
            except Exception as error:  # noqa: BLE001 - the API server may be away for a while: keep trying
                logger.warning("could not read or take %s: %s", where, error)
            self._stopping.wait(self.timing.retry_period * random.uniform(1.0, 1.2))  # jitter, as client-go's
        logger.info("leading: holding %s", where)
        metrics.leader.set(1)
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renewal", daemon=True)
        self._renewer.start()

    def _take(self, move: election.Move, read: Read, started: float) -> None:
        record = election.written(move, read.record, self.me, self.timing, _now())
        if move is election.Move.CREATE:
            self._lease = self.store.create(record)
        else:
            self._lease = self.store.update(record, read.version)
        self.fence.lead_until(started + self.timing.renew_deadline)
        self._saw(record)

    def _renew_loop(self) -> None:
        while not self._stopping.wait(self.timing.retry_period):
            started = fencing.clock()
            try:
                self._renew()
            except Exception as error:  # noqa: BLE001 - retried until the deadline
                logger.warning("renewal of the Lease failed: %s", error)
            else:
                self.fence.lead_until(started + self.timing.renew_deadline)
            # Past the deadline with no renewal: act no more.
            self.fence.check()

    def _renew(self) -> None:
        assert self._lease is not None
        assert self._lease.record is not None
        record = election.written(election.Move.RENEW, self._lease.record, self.me, self.timing, _now())
        try:
            self._lease = self.store.update(record, self._lease.version)
            return
        except Conflict:
            read = self.store.read()
        self._saw(read.record)
        if read.record is None or read.record.holder != self.me:
            holder = read.record.holder if read.record else "nobody (deleted)"
            fencing.lost(f"the Lease is held by {holder}: lost the leadership")
        renewed = election.written(election.Move.RENEW, read.record, self.me, self.timing, _now())
        self._lease = self.store.update(renewed, read.version)

    def release(self) -> None:
        """After kopf stopped: the Lease is handed back so a standby takes
        over at its next retry, not a lease duration later."""
        self._stopping.set()
        if self._renewer is not None:
            self._renewer.join()
        lease = self._lease
        if lease is None or lease.record is None:
            return
        try:
            self.store.update(election.released(lease.record, _now()), lease.version)
            logger.info("released the Lease")
        except Exception as error:  # noqa: BLE001 - it will expire instead
            logger.warning("could not release the Lease (it expires in %ss): %s", self.timing.lease_duration, error)
        metrics.leader.set(0)

    def _saw(self, record: election.Record | None) -> None:
        holder = record.holder if record else ""
        if holder == self._holder:
            return
        if self._holder is not None and holder:
            metrics.leader_changes.inc()
            logger.info("the leader is now %s (was %s)", holder, self._holder or "nobody")
        elif holder:
            logger.info("the leader is %s", holder)
        self._holder = holder


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
