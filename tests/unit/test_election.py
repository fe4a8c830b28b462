"""The election's rules: who may write the Lease, and what they write."""

from __future__ import annotations

import datetime

import pytest

from influxdb_operator.leadership import election, fencing
from influxdb_operator.leadership.election import Move, Record

TIMING = election.Timing()
WALL = datetime.datetime(2026, 12, 6, 0, 0, 0, 123456, tzinfo=datetime.UTC)
OTHER = Record("pod-a_1111", 15, "2026-12-05T23:00:00.000000Z", "2026-12-05T23:59:59.000000Z", 3)


def seen(record: Record | None, version: str | None = "1", at: float = 100.0) -> election.Observed:
    return election.observe(None, record, version, at)


def test_controller_runtime_defaults() -> None:
    assert (TIMING.lease_duration, TIMING.renew_deadline, TIMING.retry_period) == (15, 10.0, 2.0)


@pytest.mark.parametrize(("duration", "deadline", "retry"), [(10, 10.0, 2.0), (15, 2.0, 2.0), (15, 10.0, 0.0)])
def test_timings_that_cannot_keep_one_leader_are_refused(duration: int, deadline: float, retry: float) -> None:
    with pytest.raises(ValueError, match="must be longer"):
        election.Timing(duration, deadline, retry)


def test_no_lease_is_created() -> None:
    assert election.decide(seen(None, None), "me_1", 100.0) is Move.CREATE


def test_a_held_lease_is_waited_on_until_unchanged_for_its_duration() -> None:
    observed = seen(OTHER, at=100.0)
    assert election.decide(observed, "me_1", 114.9) is Move.WAIT
    assert election.decide(observed, "me_1", 115.0) is Move.TAKE


def test_the_holders_renewal_restarts_the_wait() -> None:
    first = seen(OTHER, "1", at=100.0)
    renewed = Record(OTHER.holder, 15, OTHER.acquire_time, "2026-12-06T00:00:02.000000Z", 3)
    later = election.observe(first, renewed, "2", 110.0)
    assert later.since == 110.0
    assert election.decide(later, "me_1", 120.0) is Move.WAIT


def test_the_same_version_read_again_keeps_its_clock() -> None:
    first = seen(OTHER, "1", at=100.0)
    assert election.observe(first, OTHER, "1", 114.0) is first


def test_skewed_renew_time_does_not_matter_only_the_observers_clock() -> None:
    """A renewTime far in the past (the holder's clock is behind) is not expiry."""
    old = Record(OTHER.holder, 15, "2000-01-01T00:00:00.000000Z", "2000-01-01T00:00:00.000000Z", 3)
    assert election.decide(seen(old, at=100.0), "me_1", 101.0) is Move.WAIT


def test_a_released_lease_is_taken_at_once() -> None:
    free = election.released(OTHER, WALL)
    assert (free.holder, free.lease_duration, free.transitions) == ("", 1, 3)
    assert election.decide(seen(free, at=100.0), "me_1", 100.0) is Move.TAKE


def test_our_own_lease_is_renewed() -> None:
    mine = Record("me_1", 15, "2026-12-05T23:00:00.000000Z", "2026-12-05T23:59:00.000000Z", 4)
    assert election.decide(seen(mine), "me_1", 100.0) is Move.RENEW
    renewed = election.written(Move.RENEW, mine, "me_1", TIMING, WALL)
    assert renewed == Record("me_1", 15, mine.acquire_time, "2026-12-06T00:00:00.123456Z", 4)


def test_a_restarted_process_is_another_candidate() -> None:
    """Same Pod, new suffix: its predecessor's Lease is not taken for its own."""
    assert election.decide(seen(OTHER, at=100.0), "pod-a_2222", 101.0) is Move.WAIT


def test_taking_over_counts_a_transition_and_stamps_acquire_time() -> None:
    taken = election.written(Move.TAKE, OTHER, "me_1", TIMING, WALL)
    assert taken == Record("me_1", 15, "2026-12-06T00:00:00.123456Z", "2026-12-06T00:00:00.123456Z", 4)
    created = election.written(Move.CREATE, None, "me_1", TIMING, WALL)
    assert created.transitions == 0
    with pytest.raises(ValueError, match="writes nothing"):
        election.written(Move.WAIT, OTHER, "me_1", TIMING, WALL)


class Exited(Exception):
    pass


def exit_(why: str) -> None:
    raise Exited(why)


def test_the_fence_is_open_for_a_standby_and_a_leader_in_time() -> None:
    fence = fencing.Fence(exit_)
    fence.check()
    fence.lead_until(fencing.clock() + 60)
    fence.check()


def test_the_fence_ends_a_leader_past_its_deadline() -> None:
    fence = fencing.Fence(exit_)
    fence.lead_until(fencing.clock() - 0.001)
    with pytest.raises(Exited, match="lapsed"):
        fence.check()


def test_the_fence_only_moves_forward() -> None:
    """A renewal that started earlier and ended later cannot shorten the lease."""
    fence = fencing.Fence(exit_)
    fence.lead_until(fencing.clock() + 60)
    fence.lead_until(fencing.clock() - 1)
    fence.check()
    fence.disarm()
    fence.lead_until(fencing.clock() - 1)
    with pytest.raises(Exited):
        fence.check()


def test_the_flags_carry_the_timings_and_refuse_what_cannot_work() -> None:
    from influxdb_operator.__main__ import parse

    assert parse(["--leader-elect"]).timing == TIMING
    assert parse(["--leader-elect", "--lease-duration=6", "--renew-deadline=4", "--retry-period=1"]).timing == (
        election.Timing(6, 4.0, 1.0)
    )
    for refused in (["--standalone", "--leader-elect"], ["--leader-elect", "--renew-deadline=20"]):
        with pytest.raises(SystemExit):
            parse(refused)
