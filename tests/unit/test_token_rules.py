"""Minted tokens' pure rules: scope, naming, and when a new one is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from influxdb_operator.api import v1alpha1
from influxdb_operator.reconcile import tokens

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _minted(*buckets: tuple[str, str | None], request: str | None = None, age: float = 0) -> v1alpha1.MintedTokenStatus:
    return v1alpha1.MintedTokenStatus.model_validate(
        {
            "authorizationID": "0" * 16,
            "instance": "cloud",
            "secretName": "r-minted-token",
            "buckets": [{"id": i, "name": n} for i, n in buckets],
            "issuedAt": (NOW - timedelta(seconds=age)).isoformat(),
            "rotationRequest": request,
        }
    )


def _user(ref: dict[str, str], *held: dict[str, str]) -> dict[str, object]:
    return {"spec": {"remoteBucket": ref}, "held": list(held)}


def test_permissions_write_on_exactly_the_buckets_or_only_read_the_org() -> None:
    scopes = tokens.permissions("org1", ["b2", "b1", "b2"])
    assert [(p.action, p.resource.type, p.resource.id, p.resource.orgID) for p in scopes] == [
        ("write", "buckets", "b1", "org1"),
        ("write", "buckets", "b2", "org1"),
    ]
    [only] = tokens.permissions("org1", [])
    assert (only.action, only.resource.type, only.resource.id) == ("read", "orgs", "org1")


def test_targets_keep_the_bucket_influxdb_still_holds_until_it_moved() -> None:
    users = [_user({"name": "new"}, {"name": "old"}, {"id": "old-id"}), _user({"id": "abc"}), _user({})]
    assert tokens.targets(users) == {("name", "new"), ("name", "old"), ("id", "old-id"), ("id", "abc")}


def test_description_names_the_resource_and_secret_names_fit() -> None:
    assert tokens.description("ns", "r", "u-1") == "influxdb-replication-operator: ns/r RemoteConnection uid u-1"
    assert tokens.secret_name("r") == "r-minted-token"
    long = tokens.secret_name("x" * 253)
    assert len(long) <= 253
    assert long.endswith("-minted-token")
    assert long != tokens.secret_name("x" * 252 + "y")


def test_buckets_changed_only_when_the_referenced_set_differs() -> None:
    minted = _minted(("id1", "metrics"))
    assert not tokens.buckets_changed(minted, {("name", "metrics")})
    assert not tokens.buckets_changed(minted, {("id", "id1")})
    assert not tokens.buckets_changed(minted, {("id", "id1"), ("name", "metrics")})
    assert tokens.buckets_changed(minted, {("name", "metrics"), ("name", "other")})
    assert tokens.buckets_changed(minted, set())
    assert tokens.covered(minted, ("name", "metrics"))
    assert tokens.covered(minted, ("id", "id1"))
    assert not tokens.covered(minted, ("name", "other"))


def test_why_new() -> None:
    assert tokens.why_new(None, request=None, period=None, now=NOW) == "no token was minted yet"
    minted = _minted(("id1", "m"), request="a", age=100)
    assert tokens.why_new(minted, request="a", period=None, now=NOW) is None
    assert tokens.why_new(minted, request=None, period=None, now=NOW) is None  # annotation removed: nothing asked
    assert "rotation requested" in (tokens.why_new(minted, request="b", period=None, now=NOW) or "")
    assert tokens.why_new(minted, request="a", period=101, now=NOW) is None
    assert "period" in (tokens.why_new(minted, request="a", period=100, now=NOW) or "")
