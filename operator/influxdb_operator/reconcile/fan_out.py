"""A ReplicationSet's fan-out, pure: which instances and buckets it selects,
what its children are called and hold, and what must change to get there.

Child names are derived, not stored: the same set, instance and bucket give
the same name after any restart, so a create that was in flight when the
operator died is found (409) instead of made twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..api import v1alpha1
from .reasons import NEEDS_HUMAN

# A child's name: at most a DNS label, whatever the set, instance and bucket
# names (a bucket name may hold anything but a leading underscore).
NAME_MAX = 63
_HASH_LEN = 8
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Bucket:
    """What selection needs of an InfluxDB bucket."""

    name: str
    labels: frozenset[str] = frozenset()
    system: bool = False  # InfluxDB's type "system"
    retention: int = 0  # seconds; 0: forever
    id: str = ""


def selects_instance(selector: v1alpha1.LabelSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes' label selector semantics."""
    if any(labels.get(key) != value for key, value in selector.match_labels.items()):
        return False
    for term in selector.match_expressions:
        present = term.key in labels
        if term.operator == "In" and not (present and labels[term.key] in term.values):
            return False
        if term.operator == "NotIn" and present and labels[term.key] in term.values:
            return False
        if term.operator == "Exists" and not present:
            return False
        if term.operator == "DoesNotExist" and present:
            return False
    return True


def pattern(selector: v1alpha1.BucketSelector) -> re.Pattern[str] | None:
    """The compiled pattern; `re.error` for one Python cannot read (the API
    server checks with RE2, which takes some Python does not, and back)."""
    return re.compile(selector.pattern) if selector.pattern is not None else None


def selects_bucket(selector: v1alpha1.BucketSelector, compiled: re.Pattern[str] | None, bucket: Bucket) -> bool:
    if bucket.system or bucket.name in v1alpha1.SYSTEM_BUCKETS or bucket.name.startswith("_"):
        return False  # InfluxDB's own: replicating them would copy another server's internals
    if selector.names and bucket.name not in selector.names:
        return False
    if compiled is not None and compiled.search(bucket.name) is None:
        return False
    return set(selector.labels) <= bucket.labels


def child_name(set_name: str, instance: str, bucket: str) -> str:
    """`<set>-<instance>-<bucket>-<hash>`, lowercased into a DNS label: the
    hash of the exact names keeps two buckets apart that read alike once
    lowercased or cut short (`Temp_A`, `temp-a`). The instance is in it even
    for one instance, so switching `instanceRef` to a selector that picks the
    same instance keeps every child (and its queue)."""
    digest = hashlib.sha256(f"{set_name}\0{instance}\0{bucket}".encode()).hexdigest()[:_HASH_LEN]
    readable = _NOT_DNS.sub("-", "-".join([set_name, instance, bucket]).lower()).strip("-")
    return f"{readable[: NAME_MAX - _HASH_LEN - 1].rstrip('-')}-{digest}"


def fill(template: str, *, instance: str, bucket: str = "") -> str:
    return template.replace(v1alpha1.INSTANCE_PLACEHOLDER, instance).replace(v1alpha1.BUCKET_PLACEHOLDER, bucket)


# The keys of a child's spec that the set owns; a hand edit of any is set back.
TEMPLATE_KEYS = (
    "maxQueueSizeBytes",
    "maxAgeSeconds",
    "dropNonRetryableData",
    "deletionPolicy",
    "health",
    "heartbeat",
)
OWNED_KEYS = ("instanceRef", "localBucket", "remote", "remoteBucket", *TEMPLATE_KEYS)


def child_spec(spec: v1alpha1.ReplicationSetSpec, instance: str, bucket: str) -> dict[str, Any]:
    """A child's whole spec as the set declares it (defaults written out, so
    that it compares equal to what the API server stored)."""
    template = spec.template.model_dump(by_alias=True, exclude_none=True, mode="json")
    return {
        "instanceRef": {"name": instance},
        "localBucket": {"name": bucket},
        "remote": {"connectionRef": {"name": fill(spec.remote.connection_ref.name, instance=instance)}},
        "remoteBucket": {"name": fill(spec.remote_bucket_name, instance=instance, bucket=bucket)},
        **template,
    }


@dataclass(frozen=True)
class Child:
    """A child as the set sees it in the index."""

    name: str
    instance: str
    spec: Mapping[str, Any]
    ready: tuple[str, str, str] | None = None  # the Ready condition's status, reason, message
    deleting: bool = False


@dataclass
class Plan:
    create: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> spec
    reset: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> merge patch of the spec
    remove: list[str] = field(default_factory=list)
    matched: int = 0
    wanted: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> spec, every child selected


def plan(
    set_name: str,
    spec: v1alpha1.ReplicationSetSpec,
    buckets: Mapping[str, Collection[Bucket] | None],
    children: Iterable[Child],
) -> Plan:
    """From the selected instances' buckets (None: not listed yet, its
    children are left as they are) and the children there are, what to do."""
    compiled = pattern(spec.buckets)
    wanted: dict[str, dict[str, Any]] = {}
    for instance, listed in buckets.items():
        for bucket in listed or ():
            if selects_bucket(spec.buckets, compiled, bucket):
                wanted[child_name(set_name, instance, bucket.name)] = child_spec(spec, instance, bucket.name)
    result = Plan(matched=len(wanted), wanted=wanted)
    seen: set[str] = set()
    for child in children:
        seen.add(child.name)
        if child.deleting:
            continue
        desired = wanted.get(child.name)
        if desired is None:
            if buckets.get(child.instance, ()) is not None:  # listed (or no longer selected): gone
                result.remove.append(child.name)
            else:
                result.matched += 1  # selected, not listed yet: as last known
            continue
        patch = _reset(child.spec, desired)
        if patch:
            result.reset[child.name] = patch
    result.create = {name: s for name, s in wanted.items() if name not in seen}
    return result


def _reset(actual: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that sets the owned keys back (None removes one the template has not)."""
    patch: dict[str, Any] = {key: value for key, value in desired.items() if actual.get(key) != value}
    patch.update({key: None for key in TEMPLATE_KEYS if key not in desired and actual.get(key) is not None})
    patch.pop("localBucket", None)  # immutable once created; a child that differs was not made here
    patch.pop("instanceRef", None)
    return patch


def longer(remote: int, local: int) -> bool:
    """Whether a remote retention keeps points at least as long as the local one (0: forever)."""
    return remote == 0 or (local != 0 and remote >= local)


class Summary(NamedTuple):
    ready: int
    stuck: int  # not Ready for a reason only a person can clear (NEEDS_HUMAN)
    problems: list[v1alpha1.ChildProblem]  # the first `limit` not Ready: the stuck first, then by name


def summary(children: Iterable[Child], limit: int = 20) -> Summary:
    """How many children are Ready, how many are stuck, and the first of those that are not Ready."""
    ready, problems = 0, []
    for child in children:
        if child.ready is not None and child.ready[0] == "True":
            ready += 1
        else:
            reason, message = (child.ready[1], child.ready[2]) if child.ready else ("Pending", "")
            problems.append(v1alpha1.ChildProblem(name=child.name, reason=reason, message=message))
    problems.sort(key=lambda p: (p.reason not in NEEDS_HUMAN, p.name))
    return Summary(ready, sum(p.reason in NEEDS_HUMAN for p in problems), problems[:limit])
