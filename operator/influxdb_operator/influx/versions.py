"""Which influxd versions the operator supports, and what differs between them,
decided in one place from the version a server reports on `/health`.

influxd reports its build's version string as it was stamped in: release
builds say "v2.7.12" or "2.9.1", a release candidate "2.10.1-rc1", a build from
source without a stamp "dev". A release candidate is taken as the release it
leads to (the gate and the capabilities look at major.minor.patch only); a
string that is no version at all ("dev", a commit) is `None`: not refused, and
given the newest known behaviour, since such a build comes from a recent tree.

The differences below are those the operator's code or its tests depend on,
each pinned per version by tests/integration/test_influxd_differences.py. Code
asks here (through the version its InfluxDBInstance reported,
`clients.Instance.capabilities`) rather than trying and failing per call; where
the operator already does what is right on every supported version, the record
only documents the difference, with the influxd source file that makes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0
    # "-rc1", "+dirty": shown, never compared (see the module's docstring).
    suffix: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}{self.suffix}"


def parse(reported: str | None) -> Version | None:
    """The version in influxd's own string ("v2.9.1", "2.7.12", "2.10.1-rc1"), or
    None where it states none ("dev", empty, absent)."""
    match = _VERSION.match((reported or "").strip())
    if match is None:
        return None
    major, minor, patch, suffix = match.groups()
    return Version(int(major), int(minor), int(patch or 0), suffix or "")


# The oldest influxd whose APIs the operator uses as it does (replications and
# remotes as 2.7 serves them), and the newest line it is known to work with.
OLDEST = Version(2, 7, 0)
NEWEST = Version(2, 10, 0)
SUPPORTED = f"{OLDEST.major}.{OLDEST.minor} to {NEWEST.major}.{NEWEST.minor}"


def too_old(version: Version | None) -> bool:
    """Older than `OLDEST`: the instance is refused (an unknown version is not)."""
    return version is not None and version < OLDEST


@dataclass(frozen=True)
class Capabilities:
    """What a version does where influxd versions differ."""

    # Tokens are stored hashed and shown only in the answer that creates them:
    # on by default from 2.9 (opt-in in 2.8; influxd's authorization/storage.go).
    # The operator keeps a minted token from the create's answer on every
    # version, so nothing branches on it.
    tokens_shown_once: bool
    # `maxAgeSeconds` outside 0 or 60..5184000 is refused with 400 from 2.9
    # (replication.go, `checkMaxAgeInRange`); before, it is taken unchecked. The
    # CRD admits only what 2.9 accepts, so nothing branches on it.
    max_age_validated: bool
    # What a stored `maxAgeSeconds: 0` means: from 2.9 the default, a week
    # (replications/internal/queue_management.go, `newReplicationQueue`); in 2.7
    # and 2.8 a queue never purged by age. The CRD says 0 is a week, so for those
    # the operator sends (and expects back) the week itself: `max_age_to_send`;
    # `import` warns of replications holding 0 there.
    max_age_zero_is_a_week: bool
    # Authorization create checks the permissions it grants (2.10,
    # authorization/middleware_auth.go): an org or user by ID with an orgID is
    # refused, a bucket must be one of that org. The minted tokens' permissions
    # (reconcile/tokens.py) already meet those rules, so they are the same for all.
    strict_authorization_permissions: bool
    # A replication's local bucket must belong to its org (2.10,
    # replications/service.go); before, any bucket ID is taken (2.9.1's
    # `CreateReplication` only finds it by ID) and another org's data would be
    # replicated. The operator refuses such a bucket itself on every version
    # (`BucketInOtherOrg`) before sending anything, so nothing branches on it.
    local_bucket_in_org: bool
    # `?validate=true` on a new replication checks the remote bucket by ID only,
    # ignoring `remoteBucketName` (2.9.1: replications/service.go,
    # `ValidateNewReplication`); hence the CRD's rule that `validateBeforeCreate`
    # needs `remoteBucket.id`. The same in 2.7.12, 2.9.1 and 2.10.1.
    validates_remote_bucket_by_name: bool
    # `/metrics` has the per-replication `replications_queue_*` series the data
    # plane reads (replications/metrics/replications_metrics.go), added at a
    # replication's first write; without them its counters read as zeros. The
    # same names in 2.7.12, 2.9.1 and 2.10.1.
    replication_metrics: bool


def of(version: Version | None) -> Capabilities:
    """The capabilities of `version`; an unknown one is taken as the newest."""

    def at_least(major: int, minor: int) -> bool:
        return version is None or version >= Version(major, minor)

    return Capabilities(
        tokens_shown_once=at_least(2, 9),
        max_age_validated=at_least(2, 9),
        max_age_zero_is_a_week=at_least(2, 9),
        strict_authorization_permissions=at_least(2, 10),
        local_bucket_in_org=at_least(2, 10),
        validates_remote_bucket_by_name=False,
        replication_metrics=True,
    )


# What `maxAgeSeconds: 0` means to the CRD (and to influxd from 2.9): a week.
DEFAULT_MAX_AGE_SECONDS = 604800


def max_age_to_send(caps: Capabilities, max_age_seconds: int) -> int:
    """The `maxAgeSeconds` that means on this server what the spec's means
    everywhere: 0 becomes the week itself where 0 would never purge."""
    if max_age_seconds == 0 and not caps.max_age_zero_is_a_week:
        return DEFAULT_MAX_AGE_SECONDS
    return max_age_seconds
