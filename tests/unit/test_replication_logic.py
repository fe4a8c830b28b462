"""Desired body, drift and health of a replication, from spec and observation."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from influxdb_operator.api import v1alpha1
from influxdb_operator.influx import models, versions
from influxdb_operator.kinds.replication import replication_external
from influxdb_operator.reconcile import dataplane, replications
from influxdb_operator.reconcile.drift import correction, drift

ORG_ID, LOCAL_BUCKET_ID, REMOTE_ID = "0" * 16, "1" * 16, "2" * 16
NEWEST, V2_7 = versions.of(versions.parse("2.10.1")), versions.of(versions.parse("2.7.12"))


def spec(**overrides: Any) -> v1alpha1.ReplicationSpec:
    raw: dict[str, Any] = {
        "instanceRef": {"name": "edge"},
        "localBucket": {"name": "metrics"},
        "remote": {"connectionRef": {"name": "cloud"}},
        "remoteBucket": {"name": "metrics"},
    }
    raw.update(overrides)
    return v1alpha1.ReplicationSpec.model_validate(raw)


def observed(**overrides: Any) -> models.Replication:
    raw: dict[str, Any] = {
        "id": "3" * 16,
        "orgID": ORG_ID,
        "name": "r",
        "description": "",
        "remoteID": REMOTE_ID,
        "localBucketID": LOCAL_BUCKET_ID,
        "remoteBucketID": None,
        "RemoteBucketName": "metrics",
        "maxQueueSizeBytes": v1alpha1.DEFAULT_QUEUE_BYTES,
        "maxAgeSeconds": v1alpha1.DEFAULT_MAX_AGE_SECONDS,
        "dropNonRetryableData": False,
        "currentQueueSizeBytes": 0,
        "remainingBytesToBeSynced": 0,
        "latestResponseCode": 204,
    }
    raw.update(overrides)
    return models.Replication.model_validate(raw)


def test_defaults_match_influxdb() -> None:
    want = replications.desired(spec(), name="r", remote_id=REMOTE_ID, caps=NEWEST)
    assert want.maxQueueSizeBytes == 67108860
    assert want.maxAgeSeconds == 604800
    assert want.dropNonRetryableData is False


def test_create_body_omits_unset_remote_bucket_id() -> None:
    want = replications.desired(spec(), name="r", remote_id=REMOTE_ID, caps=NEWEST)
    body = replication_external.create_body(want, org_id=ORG_ID, local_bucket_id=LOCAL_BUCKET_ID).wire()
    assert "remoteBucketID" not in body
    assert body["remoteBucketName"] == "metrics"


def test_get_answer_with_capital_r_and_null_parses() -> None:
    have = observed(remoteBucketID="", latestResponseCode=None)
    assert have.remoteBucketName == "metrics"
    assert have.remoteBucketID is None
    assert have.latestResponseCode is None


def test_matching_observation_has_no_drift() -> None:
    want = replications.desired(spec(), name="r", remote_id=REMOTE_ID, caps=NEWEST)
    assert drift(want, observed()) == {}


@pytest.mark.parametrize(
    ("field", "value", "spec_field", "spec_value"),
    [
        ("maxQueueSizeBytes", 40000000, "maxQueueSizeBytes", 50000000),
        ("maxAgeSeconds", 0, "maxAgeSeconds", 3600),
        ("dropNonRetryableData", True, "dropNonRetryableData", False),
        ("description", "changed by hand", "description", "declared"),
        ("name", "renamed", "name", "r"),
    ],
)
def test_each_patchable_field_drifts_and_is_corrected(field: str, value: Any, spec_field: str, spec_value: Any) -> None:
    want = replications.desired(spec(**{spec_field: spec_value}), name="r", remote_id=REMOTE_ID, caps=NEWEST)
    differing = drift(want, observed(**{field: value}))
    assert differing == {field: (value, spec_value)}
    assert correction(want, differing).wire() == {field: spec_value}


def test_drift_covers_every_patchable_field() -> None:
    """A field added to the PATCH model is compared and corrected, or this fails:
    `desired` must set it, and a changed observation of it must show as drift."""
    for field in models.ReplicationSettings.model_fields:
        assert field in models.Replication.model_fields, f"the GET model lacks {field}"
        remote_bucket = {"id": "4" * 16} if field == "remoteBucketID" else {"name": "metrics"}
        want = replications.desired(spec(remoteBucket=remote_bucket), name="r", remote_id=REMOTE_ID, caps=NEWEST)
        wanted = getattr(want, field)
        assert wanted is not None, f"desired() does not set {field}"
        other: Any = not wanted if isinstance(wanted, bool) else wanted + 1 if isinstance(wanted, int) else "x"
        wire_key = "RemoteBucketName" if field == "remoteBucketName" else field  # as GET spells it
        differing = drift(want, observed(**{wire_key: other}))
        assert set(differing) == {field}
        assert correction(want, differing).wire() == {field: wanted}


def test_remote_bucket_by_id_compares_the_id() -> None:
    want = replications.desired(spec(remoteBucket={"id": "4" * 16}), name="r", remote_id=REMOTE_ID, caps=NEWEST)
    assert drift(want, observed(remoteBucketID="5" * 16)) == {"remoteBucketID": ("5" * 16, "4" * 16)}


def test_health_reports_remote_errors() -> None:
    health = replications.health(
        observed(latestResponseCode=401, latestErrorMessage="unauthorized"),
        None,
        full_warning=3600,
        previous_remaining=0,
        remote="RemoteConnection 'cloud'",
    )
    assert (health.status, health.reason) == ("False", "RemoteError")
    assert health.message == "RemoteConnection 'cloud' last answered HTTP 401: unauthorized"


def test_health_reports_a_nearly_full_queue() -> None:
    have = observed(currentQueueSizeBytes=int(0.9 * v1alpha1.DEFAULT_QUEUE_BYTES))
    assert replications.health(have, None, full_warning=3600, previous_remaining=None).reason == "QueueNearlyFull"


def test_health_reports_a_growing_backlog() -> None:
    have = observed(remainingBytesToBeSynced=5_000_000)
    assert replications.health(have, None, full_warning=3600, previous_remaining=2_000_000).reason == "BacklogGrowing"


def test_small_backlog_growth_is_not_degraded() -> None:
    have = observed(remainingBytesToBeSynced=20_000)
    assert replications.health(have, None, full_warning=3600, previous_remaining=10_000).reason == "Replicating"


def test_health_is_good_when_the_remote_accepts() -> None:
    health = replications.health(observed(), None, full_warning=3600, previous_remaining=0)
    assert (health.status, health.reason) == ("True", "Replicating")


def test_a_queue_that_holds_less_than_the_warning_of_the_inflow_gets_a_sizing_hint() -> None:
    inflow = 110_000.0  # bytes/s: the default queue (64 MiB) holds about 10 minutes of it
    dp = dataplane.DataPlane(
        fill_rate=inflow,
        drain_rate=inflow,
        backlog_rate=0.0,
        queue_full_in=math.inf,
        backlog_drained_in=0.0,
        stalled=False,
        losing=False,
        dropped=dataplane.Dropped(),
        window=90.0,
        covered=True,
    )
    hint = replications.health(observed(), dp, full_warning=3600, previous_remaining=0)
    assert (hint.status, hint.reason) == ("True", "QueueUndersized")
    hour = int(hint.message.rsplit(": ", 1)[1].split()[0])
    assert inflow * 3600 <= hour <= inflow * 3600 * 1.1
    assert len(str(hour).rstrip("0")) <= 2, "two significant digits"
    # An inflow a little different says the same: the status is not rewritten each refresh.
    wobble = dataclasses.replace(dp, fill_rate=inflow * 1.002, drain_rate=inflow * 1.002)
    assert replications.health(observed(), wobble, full_warning=3600, previous_remaining=0).message == hint.message
    # A queue that holds the warning's worth of inflow needs no hint, nor does a quiet stream.
    assert replications.health(observed(), dp, full_warning=600, previous_remaining=0).reason == "Replicating"
    quiet = dataclasses.replace(dp, fill_rate=0.0)
    assert replications.health(observed(), quiet, full_warning=3600, previous_remaining=0).reason == "Replicating"


def test_max_age_zero_means_a_week_on_every_version() -> None:
    """2.7 and 2.8 keep a stored 0 as "never purge", 2.9+ as the week: the
    operator sends the week itself to the former, and then sees no drift."""
    zero = spec(maxAgeSeconds=0)
    assert replications.desired(zero, name="r", remote_id=REMOTE_ID, caps=NEWEST).maxAgeSeconds == 0
    old = replications.desired(zero, name="r", remote_id=REMOTE_ID, caps=V2_7)
    assert old.maxAgeSeconds == v1alpha1.DEFAULT_MAX_AGE_SECONDS == versions.DEFAULT_MAX_AGE_SECONDS
    assert drift(old, observed(maxAgeSeconds=v1alpha1.DEFAULT_MAX_AGE_SECONDS)) == {}
    # A 2.7 replication holding 0 (made by hand, or before) is set to the week.
    assert drift(old, observed(maxAgeSeconds=0)) == {"maxAgeSeconds": (0, v1alpha1.DEFAULT_MAX_AGE_SECONDS)}
    # Any other value is sent as it is, on every version.
    for caps in (NEWEST, V2_7):
        assert (
            replications.desired(spec(maxAgeSeconds=60), name="r", remote_id=REMOTE_ID, caps=caps).maxAgeSeconds == 60
        )
