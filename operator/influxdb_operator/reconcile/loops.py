"""Replication loops: a stream A -> B whose remote bucket B already streams
back into A's local bucket would copy every point forever (InfluxDB's
replication is one-way by design). Pure: what the two servers' listings say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..influx import models


@dataclass(frozen=True)
class Endpoint:
    """A server and org, as a remote names it."""

    url: str
    org_id: str

    def is_(self, url: str, org_id: str | None) -> bool:
        return self.url.rstrip("/") == url.rstrip("/") and self.org_id == org_id


def back_stream(
    target_replications: Mapping[str, models.Replication],
    target_remotes: Mapping[str, models.Remote],
    *,
    source: Endpoint,
    local_bucket: tuple[str, str],  # ("id" | "name", value) on the source
    remote_bucket_id: str,  # the remote bucket's ID on the target
) -> models.Replication | None:
    """The target's replication, if any, from the remote bucket back into the local one."""
    kind, value = local_bucket
    for replication in target_replications.values():
        remote = target_remotes.get(replication.remoteID)
        if remote is None or not source.is_(remote.remoteURL, remote.remoteOrgID):
            continue
        into = replication.remoteBucketID if kind == "id" else replication.remoteBucketName
        if into == value and replication.localBucketID == remote_bucket_id:
            return replication
    return None
