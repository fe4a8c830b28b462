"""`influxdb-replication-operator import`, run as the README documents it,
against an influxd holding remotes and replications made with raw API calls:
the manifests apply, every resource becomes Ready in Observe mode, and no
write reaches that influxd while the operator runs on them (its own request
counters say so). No token appears in the output, Events, status or the
operator's log."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

import sandbox as sandbox_module
from influxdb_operator.influx import versions
from sandbox import binaries
from support import canary, manifests, readme
from support.kubectl import Kubectl, condition
from support.operator_process import OperatorProcess
from support.scenario import ScratchInfluxd

PERIOD = 2  # the test instance's resyncPeriod, in seconds
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_REQUESTS = re.compile(r"^http_api_requests_total\{([^}]*)\} (\S+)$", re.MULTILINE)
ROOT = Path(__file__).resolve().parents[2]


def requests_by_method(url: str) -> Counter[tuple[str, str]]:
    """influxd's `http_api_requests_total`, summed by (method, path)."""
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    counts: Counter[tuple[str, str]] = Counter()
    for labels, value in _REQUESTS.findall(text):
        found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        counts[found["method"], found["path"]] += int(float(value))
    return counts


def documented_import(url: str, org: str, token_file: Path, *extra: str) -> str:
    """The README's import command with this influxd's URL, org and token file."""
    (argv,) = readme.commands("influxdb-replication-operator import")
    values = {"--url": url, "--org": org, "--token-file": str(token_file)}
    args = argv[1:]
    for i, arg in enumerate(args[:-1]):
        if arg in values:
            args[i + 1] = values[arg]
    script = Path(sys.executable).parent / argv[0]  # the installed entry point
    done = subprocess.run(
        [str(script), *args, *extra], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_imported_streams_are_observed_without_a_single_write(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    operator: OperatorProcess,
    namespace: str,
    scratch_influxd: ScratchInfluxd,
    tmp_path: Path,
) -> None:
    _, edge = scratch_influxd("imported")
    cloud = sandbox.cloud
    canaries = [f"canary-{secrets.token_hex(8)}" for _ in range(2)]
    logs_bucket_id = edge.create_bucket("Logs.Raw")
    remote_ids = []
    for name, token in zip(["Cloud Primary", "cloud_primary"], canaries, strict=True):
        status, body = edge.request(
            "POST",
            "/api/v2/remotes",
            {
                "name": name,
                "orgID": edge.orgID,
                "remoteURL": cloud.url,
                "remoteOrgID": cloud.orgID,
                "remoteAPIToken": token,
            },
        )
        assert status == 201, body
        remote_ids.append(body["id"])
    replications = [
        {
            "name": "Metrics → Cloud",
            "remoteID": remote_ids[0],
            "localBucketID": edge.bucketID,
            "remoteBucketName": cloud.bucket,
            "maxQueueSizeBytes": 67108860,
            "maxAgeSeconds": 604800,
            "description": "made with the influx CLI",
        },
        {
            "name": "logs",
            "remoteID": remote_ids[1],
            "localBucketID": logs_bucket_id,
            "remoteBucketID": cloud.bucketID,
            "maxQueueSizeBytes": 40000000,
            "dropNonRetryableData": True,
        },
    ]
    for body in replications:
        status, made = edge.request("POST", "/api/v2/replications", {"orgID": edge.orgID, **body})
        assert status == 201, made
    token_file = tmp_path / "edge-token"
    token_file.write_text(edge.token)

    before = requests_by_method(edge.url)
    output = documented_import(edge.url, edge.org, token_file)
    assert not canary.leaks([*canaries, edge.token], output=output), "a token appears in the import's output"
    docs = list(yaml.safe_load_all(output))
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    remotes, streams = by_kind["RemoteConnection"], by_kind["Replication"]
    assert sorted(remotes) == ["cloud-primary", "cloud-primary-2"]
    assert sorted(streams) == ["logs", "metrics-cloud"]
    assert {d["spec"]["managementPolicy"] for d in docs} == {"Observe"}
    logs = streams["logs"]["spec"]
    assert logs["localBucket"] == {"name": "Logs.Raw"}
    assert logs["remoteBucket"] == {"id": cloud.bucketID}
    assert logs["dropNonRetryableData"] is True
    metrics = streams["metrics-cloud"]["spec"]
    assert metrics["name"] == "Metrics → Cloud"
    assert metrics["remoteBucket"] == {"name": cloud.bucket}
    assert metrics["localBucket"] == {"name": edge.bucket}
    assert metrics["remote"] == {"connectionRef": {"name": remotes["cloud-primary"]["metadata"]["name"]}}
    secret_names = [d["spec"]["remoteTokenSecretRef"]["name"] for d in remotes.values()]
    assert sorted(secret_names) == ["cloud-primary-2-token", "cloud-primary-token"]

    # Apply, with the Secrets named and the instance referenced (--instance edge).
    k = kubectl.in_namespace(namespace)
    k.apply(
        manifests.secret("edge-token", namespace, edge.token),
        manifests.instance("edge", namespace, url=edge.url, org=edge.org, secret="edge-token", resync=f"{PERIOD}s"),
        *[manifests.secret(name, namespace, token) for name, token in zip(secret_names, canaries, strict=True)],
    )
    k("apply", "-f", "-", input=output)
    # "logs" holds maxAgeSeconds 0 (not sent): a week from influxd 2.9, as the CRD's 0; before,
    # never purged, which Observe reports (and the import's output says) rather than hides.
    zero_is_a_week = versions.of(versions.parse(edge.request("GET", "/health")[1]["version"])).max_age_zero_is_a_week
    warned = "never purges the queue of a replication whose maxAgeSeconds is 0" in output
    assert warned is not zero_is_a_week
    assert ('"logs"' in output.split("apiVersion")[0]) is warned
    for kind, named in (("remoteconnection", remotes), ("replication", streams)):
        for name in named:
            obj = k.wait_ready(kind, name, timeout=60)
            assert obj["status"]["observing"] is True
            synced = condition(obj, "Synced")
            if name == "logs" and not zero_is_a_week:
                assert synced["reason"] == "DriftDetected", synced
                assert "maxAgeSeconds is 0 in InfluxDB" in synced["message"], synced
            else:
                assert synced["reason"] == "ReconcileSuccess", synced
    time.sleep(3 * PERIOD)  # three more refreshes of them all

    after = requests_by_method(edge.url)
    gets = sum(n for (method, _), n in (after - before).items() if method == "GET")
    assert gets > 0, "the operator never read this influxd: the counters prove nothing"
    written = {key: n for key, n in (after - before).items() if key[0] in WRITES}
    assert written == {}, f"writes reached influxd while only observing: {written}"

    canary.assert_nowhere([*canaries, edge.token], k, operator, output=output)


def test_import_with_manage_by_org_id_and_a_token_from_the_environment(scratch_influxd: ScratchInfluxd) -> None:
    _, edge = scratch_influxd("managed-import")
    status, remote = edge.request(
        "POST",
        "/api/v2/remotes",
        {"name": "-", "orgID": edge.orgID, "remoteURL": "http://127.0.0.1:1", "remoteAPIToken": "x"},
    )
    assert status == 201, remote
    argv = [sys.executable, "-m", "influxdb_operator", "import", "--url", edge.url, "--org-id", edge.orgID, "--manage"]
    env = {**os.environ, "INFLUX_TOKEN": edge.token, "PYTHONPATH": str(ROOT / "operator")}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert not canary.leaks([edge.token], output=done.stdout), "the token appears in the import's output"
    (doc,) = yaml.safe_load_all(done.stdout)
    assert doc["metadata"]["name"] == "remote"  # nothing left of "-": the kind's fallback
    assert doc["spec"]["managementPolicy"] == "Manage"
    assert doc["spec"]["adoptExisting"] is True
    assert "id" not in doc["spec"]
    assert doc["spec"]["name"] == "-"
    assert doc["spec"]["instanceRef"] == {"name": "influxdb"}  # --instance's default


def test_import_without_a_token_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "INFLUX_TOKEN"} | {"PYTHONPATH": str(ROOT / "operator")}
    argv = [sys.executable, "-m", "influxdb_operator", "import", "--url", "http://127.0.0.1:1", "--org", "o"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)
    assert done.returncode == 1
    assert "no token: give --token-file or set INFLUX_TOKEN" in done.stderr
    assert done.stdout == ""


def test_kubectl_influxdb_import_is_the_operators_import(scratch_influxd: ScratchInfluxd) -> None:
    """The plugin's `import` hands every argument to the operator's own; a -n
    before it names the manifests' namespace."""
    _, edge = scratch_influxd("plugin-import")
    status, remote = edge.request(
        "POST",
        "/api/v2/remotes",
        {"name": "cloud", "orgID": edge.orgID, "remoteURL": "http://127.0.0.1:1", "remoteAPIToken": "x"},
    )
    assert status == 201, remote
    args = ["--url", edge.url, "--org-id", edge.orgID]
    env = {
        **os.environ,
        "INFLUX_TOKEN": edge.token,
        "PYTHONPATH": str(ROOT / "operator"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    plugin = [binaries.path("kubectl"), "influxdb", "-n", "team", "import", *args]
    operator = [sys.executable, "-m", "influxdb_operator", "import", *args, "--namespace", "team"]
    through_kubectl, direct = (
        subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True, env=env)
        for argv in (plugin, operator)
    )
    assert through_kubectl.stdout == direct.stdout
    (doc,) = yaml.safe_load_all(direct.stdout)
    assert doc["kind"] == "RemoteConnection"
    assert doc["metadata"] == {"name": "cloud", "namespace": "team"}
    assert not canary.leaks([edge.token], output=direct.stdout)
