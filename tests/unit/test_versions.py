"""influxd's reported versions read as the gate and the capabilities need them,
and a starting influxd's 503 told apart from a hard error."""

from __future__ import annotations

import pytest

from influxdb_operator.influx import errors, versions
from influxdb_operator.reconcile import tokens
from influxdb_operator.reconcile.outcome import from_influx
from influxdb_operator.reconcile.reasons import Reason, of_instance


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("v2.9.1", versions.Version(2, 9, 1)),  # as official builds report it
        ("2.7.12", versions.Version(2, 7, 12)),  # as the testbin's build stamps it
        ("v2.7", versions.Version(2, 7, 0)),
        (" 2.10.1\n", versions.Version(2, 10, 1)),
        ("2.10.1-rc1", versions.Version(2, 10, 1, "-rc1")),
        ("2.9.1+dirty", versions.Version(2, 9, 1, "+dirty")),
    ],
)
def test_release_versions_parse(reported: str, expected: versions.Version) -> None:
    parsed = versions.parse(reported)
    assert parsed == expected
    assert parsed is not None
    assert parsed.suffix == expected.suffix


@pytest.mark.parametrize("reported", ["dev", "", None, "2", "v2.x", "abc1234", "2.9.1 (git: abc)"])
def test_strings_that_state_no_version_are_unknown(reported: str | None) -> None:
    assert versions.parse(reported) is None


def test_a_release_candidate_counts_as_its_release() -> None:
    candidate = versions.parse("2.7.0-rc1")
    assert candidate == versions.OLDEST
    assert str(candidate) == "2.7.0-rc1"


@pytest.mark.parametrize(
    ("reported", "refused"),
    [
        ("2.6.1", True),
        ("v2.6.99", True),
        ("1.8.10", True),
        ("2.7.0", False),
        ("v2.7.12", False),
        ("2.9.1", False),
        ("2.10.1", False),
        ("2.11.0", False),  # newer than known: not refused, taken as the newest known
        ("dev", False),  # unknown: not refused
    ],
)
def test_the_gate_refuses_only_versions_older_than_the_oldest_supported(reported: str, refused: bool) -> None:
    assert versions.too_old(versions.parse(reported)) is refused


def test_the_supported_range_is_2_7_to_2_10() -> None:
    assert (versions.Version(2, 7, 0), versions.Version(2, 10, 0)) == (versions.OLDEST, versions.NEWEST)
    assert versions.SUPPORTED == "2.7 to 2.10"


def test_capabilities_follow_the_versions_that_changed_them() -> None:
    def of(reported: str) -> versions.Capabilities:
        return versions.of(versions.parse(reported))

    v27, v28, v29, v210 = of("v2.7.12"), of("2.8.0"), of("2.9.1"), of("2.10.1")
    assert not v27.tokens_shown_once
    assert not v28.tokens_shown_once
    assert v29.tokens_shown_once
    assert v210.tokens_shown_once
    assert not v27.max_age_validated
    assert v29.max_age_validated
    assert not v27.max_age_zero_is_a_week
    assert not v28.max_age_zero_is_a_week
    assert v29.max_age_zero_is_a_week
    assert v210.max_age_zero_is_a_week
    assert not v29.strict_authorization_permissions
    assert v210.strict_authorization_permissions
    assert not v29.local_bucket_in_org
    assert v210.local_bucket_in_org
    assert all(c.replication_metrics for c in (v27, v29, v210))
    assert not any(c.validates_remote_bucket_by_name for c in (v27, v29, v210))
    assert of("2.10.1-rc1") == v210
    # A build that states no version is taken as the newest.
    assert versions.of(None) == v210 == of("2.11.0")


def test_capabilities_are_frozen() -> None:
    caps = versions.of(None)
    with pytest.raises(AttributeError):
        caps.local_bucket_in_org = False  # type: ignore[misc]


def test_a_starting_influxd_is_temporarily_unavailable_not_an_error() -> None:
    error = errors.from_response(503, {"status": "starting"}, what="POST /api/v2/replications")
    assert isinstance(error, errors.Starting)
    assert isinstance(error, errors.Unavailable)
    assert error.message == "POST /api/v2/replications: HTTP 503: InfluxDB is still starting"
    blocked = from_influx(error, doing="InfluxDB at http://edge")
    assert blocked.reason is Reason.UNAVAILABLE
    assert "still starting" in blocked.message
    assert of_instance(blocked.reason) is Reason.INSTANCE_UNREACHABLE


def test_another_503_is_unavailable_and_a_500_stays_a_server_error() -> None:
    other = errors.from_response(503, {"code": "unavailable", "message": "no backend"}, what="GET /api/v2/orgs")
    assert type(other) is errors.Unavailable
    assert from_influx(other, doing="x").reason is Reason.UNAVAILABLE
    failing = errors.from_response(500, {"status": "starting"}, what="GET /api/v2/orgs")
    assert type(failing) is errors.ServerError
    assert from_influx(failing, doing="x").reason is Reason.INFLUXDB_ERROR


def test_minted_permissions_meet_the_stricter_checks_of_2_10_so_no_version_branches() -> None:
    """influxd 2.10 (authorization/middleware_auth.go) refuses an org named by ID
    with an orgID, and a bucket permission not naming the bucket's org: the
    permissions minted for every version already meet that."""
    assert versions.of(versions.parse("2.10.1")).strict_authorization_permissions
    for buckets in ([], ["b2", "b1"]):
        for permission in tokens.permissions("o1", buckets):
            resource = permission.resource
            if resource.type == "orgs":
                assert (resource.id, resource.orgID) == ("o1", None)
            else:
                assert resource.type == "buckets"
                assert resource.id in buckets
                assert resource.orgID == "o1"
