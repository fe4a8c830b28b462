"""The loop check over two servers' listings, without servers."""

from __future__ import annotations

from influxdb_operator.influx import models
from influxdb_operator.reconcile import loops

EDGE = loops.Endpoint("http://edge:8086/", "0000000000000001")


def listing(
    *, remote_url: str = "http://edge:8086", org: str = "0000000000000001", into: str = "metrics", local: str = "b2"
) -> tuple[dict[str, models.Replication], dict[str, models.Remote]]:
    remote = models.Remote(id="r1", orgID="c", name="to-edge", remoteURL=remote_url, remoteOrgID=org)
    replication = models.Replication.model_validate(
        {
            "id": "p1",
            "orgID": "c",
            "name": "back",
            "remoteID": "r1",
            "localBucketID": local,
            "RemoteBucketName": into,
            "maxQueueSizeBytes": 67108860,
        }
    )
    return {"p1": replication}, {"r1": remote}


def test_a_stream_back_into_the_local_bucket_is_found() -> None:
    replications, remotes = listing()
    found = loops.back_stream(
        replications, remotes, source=EDGE, local_bucket=("name", "metrics"), remote_bucket_id="b2"
    )
    assert found is not None
    assert found.name == "back"


def test_streams_elsewhere_are_not_loops() -> None:
    for other in (
        listing(remote_url="http://other:8086"),  # back to another server
        listing(org="0000000000000009"),  # another org of the same server
        listing(into="logs"),  # into another local bucket
        listing(local="b3"),  # from another remote bucket
    ):
        assert loops.back_stream(*other, source=EDGE, local_bucket=("name", "metrics"), remote_bucket_id="b2") is None
