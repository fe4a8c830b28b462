"""The create/adopt/conflict decision that keeps InfluxDB free of duplicates."""

from __future__ import annotations

import pytest

from influxdb_operator.reconcile.plan import Verb, plan

OURS, OTHER = "our-object", "same-name-object"


def decide(**overrides: object) -> tuple[Verb, object, bool]:
    args: dict[str, object] = {
        "recorded_id": None,
        "by_id": None,
        "by_name": None,
        "create_pending": False,
        "adopt_existing": False,
        "up_to_date": None,
    }
    args.update(overrides)
    result = plan(**args)  # type: ignore[arg-type]
    return result.verb, result.existing, result.recreate


def test_nothing_known_nothing_there_creates() -> None:
    assert decide() == (Verb.CREATE, None, False)


def test_recorded_and_matching_does_nothing() -> None:
    assert decide(recorded_id="1", by_id=OURS, up_to_date=True) == (Verb.NOTHING, OURS, False)


def test_recorded_and_drifted_updates() -> None:
    assert decide(recorded_id="1", by_id=OURS, up_to_date=False) == (Verb.UPDATE, OURS, False)


def test_recorded_but_gone_recreates() -> None:
    assert decide(recorded_id="1") == (Verb.CREATE, None, True)


def test_same_name_without_proof_is_a_conflict() -> None:
    assert decide(by_name=OTHER) == (Verb.CONFLICT, OTHER, False)


@pytest.mark.parametrize(("pending", "adopt"), [(True, False), (False, True), (True, True)])
def test_same_name_is_adopted_when_ours_or_opted_in(pending: bool, adopt: bool) -> None:
    assert decide(by_name=OTHER, create_pending=pending, adopt_existing=adopt) == (Verb.ADOPT, OTHER, False)


def test_recorded_gone_and_same_name_pending_adopts_the_interrupted_recreate() -> None:
    assert decide(recorded_id="1", by_name=OTHER, create_pending=True) == (Verb.ADOPT, OTHER, True)


def test_recorded_gone_and_foreign_same_name_is_a_conflict() -> None:
    assert decide(recorded_id="1", by_name=OTHER) == (Verb.CONFLICT, OTHER, True)
