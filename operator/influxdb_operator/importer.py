"""`influxdb-replication-operator import`: manifests for the remotes and
replications an InfluxDB already holds, so a fleet made with the influx CLI
comes under Git in one step.

Only GET calls are made. Each remote's token Secret is referenced by a name
(`<resource>-token`, key `token`) and never filled in: InfluxDB never shows
a remote's token, and the instance's own token is only used, never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from .api import v1alpha1
from .influx import errors, models, versions
from .influx.client import InfluxClient

_K8S_NAME_LEN = 63  # a DNS label: valid as any object's name


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "import",
        help="print manifests for an InfluxDB's existing remotes and replications",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", required=True, help="InfluxDB base URL, e.g. http://influxdb.edge:8086")
    org = parser.add_mutually_exclusive_group(required=True)
    org.add_argument("--org", help="organization name")
    org.add_argument("--org-id", help="organization ID")
    parser.add_argument("--token-file", type=Path, help="file holding the token (default: $INFLUX_TOKEN)")
    parser.add_argument("--instance", default="influxdb", help="the InfluxDBInstance the manifests reference")
    parser.add_argument("--namespace", default=None, help="namespace to put in the manifests (default: none)")
    parser.add_argument(
        "--manage", action="store_true", help="managementPolicy Manage with adoptExisting (default: Observe)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        token = _token(args.token_file)
        text = asyncio.run(_import(args, token))
    except (errors.InfluxError, ImportFailed) as error:
        print(f"import: {getattr(error, 'message', error)}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


class ImportFailed(Exception):
    pass


def _token(path: Path | None) -> SecretStr:
    value = path.read_text().strip() if path is not None else os.environ.get("INFLUX_TOKEN", "").strip()
    if not value:
        raise ImportFailed("no token: give --token-file or set INFLUX_TOKEN")
    return SecretStr(value)


@dataclass(frozen=True)
class Found:
    remotes: list[models.Remote]
    replications: list[models.Replication]
    buckets: dict[str, str]  # local bucket ID -> name, where readable


async def _import(args: argparse.Namespace, token: SecretStr) -> str:
    async with InfluxClient(args.url, token) as client:
        org_id = args.org_id
        if org_id is None:
            org = await client.find_org(args.org)
            if org is None:
                raise ImportFailed(f"no organization named {args.org!r} on {args.url}")
            org_id = org.id
        found = await _collect(client, org_id)
        version = (await client.health()).version
    docs = manifests(found, instance=args.instance, namespace=args.namespace, manage=args.manage)
    warnings = _never_purged(found, version) + out_of_bounds(found)
    return _header(docs, warnings) + yaml.safe_dump_all(docs, sort_keys=False)


def _never_purged(found: Found, version: str | None) -> str:
    """A warning for replications holding `maxAgeSeconds` 0 on an influxd that
    reads it as "never purge" (2.7, 2.8): the CRD's 0 is a week, so Observe
    reports them as drift and Manage would set the week."""
    if versions.of(versions.parse(version)).max_age_zero_is_a_week:
        return ""
    names = sorted(r.name for r in found.replications if r.maxAgeSeconds == 0)
    if not names:
        return ""
    return (
        f"# influxd {version} never purges the queue of a replication whose maxAgeSeconds is 0; in these\n"
        "# manifests 0 means a week (as from influxd 2.9), so Observe reports it as drift and Manage sets\n"
        f"# a week: {', '.join(json.dumps(n, ensure_ascii=False) for n in names)}\n"
    )


def out_of_bounds(found: Found) -> str:
    """A warning for replications whose `maxAgeSeconds` the CRD refuses (influxd
    before 2.9 takes any): written as InfluxDB holds them, so the API server
    refuses those manifests, naming the field, until a value in bounds is chosen."""
    low, high = v1alpha1.MIN_MAX_AGE_SECONDS, v1alpha1.MAX_MAX_AGE_SECONDS
    names = sorted(r.name for r in found.replications if 0 < r.maxAgeSeconds < low or r.maxAgeSeconds > high)
    if not names:
        return ""
    return (
        f"# maxAgeSeconds out of the CRD's bounds (0, or {low} to {high}): the API server refuses these\n"
        f"# until you choose a value in bounds: {', '.join(json.dumps(n, ensure_ascii=False) for n in names)}\n"
    )


async def _collect(client: InfluxClient, org_id: str) -> Found:
    remotes = await client.remotes.list(org_id)
    replications = await client.replications.list(org_id)
    buckets: dict[str, str] = {}
    for bucket_id in sorted({r.localBucketID for r in replications}):
        bucket = await client.get_bucket(bucket_id)
        if bucket is not None:
            buckets[bucket_id] = bucket.name
    return Found(remotes, replications, buckets)


def k8s_name(name: str, taken: set[str], fallback: str) -> str:
    """A lowercase DNS label made from an InfluxDB name, unique among `taken` (which it joins)."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:_K8S_NAME_LEN].strip("-") or fallback
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = base[: _K8S_NAME_LEN - len(suffix)].rstrip("-") + suffix
    taken.add(candidate)
    return candidate


def manifests(found: Found, *, instance: str, namespace: str | None, manage: bool) -> list[dict[str, Any]]:
    """RemoteConnections, then Replications; names in InfluxDB kept in spec.name."""
    remote_names: dict[str, str] = {}  # InfluxDB ID -> resource name
    taken: set[str] = set()
    docs = []
    for remote in sorted(found.remotes, key=lambda r: (r.name, r.id)):
        name = remote_names[remote.id] = k8s_name(remote.name, taken, "remote")
        spec: dict[str, Any] = {"remoteURL": remote.remoteURL}
        if remote.remoteOrgID:
            spec["remoteOrgID"] = remote.remoteOrgID
        if remote.allowInsecureTLS:
            spec["allowInsecureTLS"] = True
        spec["remoteTokenSecretRef"] = {"name": f"{name}-token", "key": "token"}
        docs.append(_doc("RemoteConnection", name, namespace, instance, remote, spec, manage))
    taken = set()
    for rep in sorted(found.replications, key=lambda r: (r.name, r.id)):
        name = k8s_name(rep.name, taken, "replication")
        local = found.buckets.get(rep.localBucketID)
        connection = remote_names.get(rep.remoteID)
        spec = {
            "localBucket": {"name": local} if local else {"id": rep.localBucketID},
            "remote": {"connectionRef": {"name": connection}} if connection else {"id": rep.remoteID},
            "remoteBucket": {"name": rep.remoteBucketName} if rep.remoteBucketName else {"id": rep.remoteBucketID},
            "maxQueueSizeBytes": rep.maxQueueSizeBytes,
            "maxAgeSeconds": rep.maxAgeSeconds,
            "dropNonRetryableData": rep.dropNonRetryableData,
        }
        docs.append(_doc("Replication", name, namespace, instance, rep, spec, manage))
    return docs


def _doc(
    kind: str,
    name: str,
    namespace: str | None,
    instance: str,
    have: models.Remote | models.Replication,
    spec: dict[str, Any],
    manage: bool,
) -> dict[str, Any]:
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    common: dict[str, Any] = {"instanceRef": {"name": instance}, "name": have.name}
    if have.description:
        common["description"] = have.description
    if manage:
        policy: dict[str, Any] = {"managementPolicy": "Manage", "adoptExisting": True}
    else:
        policy = {"managementPolicy": "Observe", "id": have.id}
    return {"apiVersion": v1alpha1.API_VERSION, "kind": kind, "metadata": metadata, "spec": common | spec | policy}


def _header(docs: Iterable[dict[str, Any]], warning: str = "") -> str:
    secrets = [d["spec"]["remoteTokenSecretRef"]["name"] for d in docs if d["kind"] == "RemoteConnection"]
    lines = ["# Generated by `influxdb-replication-operator import`."]
    if secrets:
        lines.append("# Each RemoteConnection names a Secret for its remote's token (key `token`), which InfluxDB")
        lines.append("# never shows; create them before switching to Manage: " + ", ".join(secrets))
    return "\n".join(lines) + "\n" + warning
