"""The retention trap: a remote bucket that keeps points for less time than
the local one (here 1h under 30d) is reported on the Replication, with a
Warning Event, where the operator can read the remote (remoteInstanceRef)."""

from __future__ import annotations

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import condition, eventually
from support.scenario import Setup

HOUR, DAYS_30 = 3600, 30 * 86400


def bucket(server: influx.Influx, name: str, retention: int) -> str:
    rules = [{"type": "expire", "everySeconds": retention}]
    status, body = server.request(
        "POST", "/api/v2/buckets", {"orgID": server.orgID, "name": name, "retentionRules": rules}
    )
    assert status == 201, (status, body)
    return str(body["id"])


def test_a_shorter_remote_retention_is_a_warning_and_a_healthy_reason(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    edge, cloud, u, ns = sandbox.edge, sandbox.cloud, setup.unique, setup.namespace
    bucket(edge, f"long-{u}", DAYS_30)
    bucket(cloud, f"short-{u}", HOUR)
    setup.kubectl.apply(
        manifests.instance("cloudinst", ns, url=cloud.url, org=cloud.org, secret="cloud-token"),
        manifests.minted_remote("tocloud", ns, instance="edge", remote_instance="cloudinst", name=f"tocloud-{u}"),
    )
    name = f"trap-{u}"
    setup.kubectl.apply(
        manifests.replication(
            name, ns, instance="edge", local_bucket=f"long-{u}", connection="tocloud", remote_bucket=f"short-{u}"
        )
    )
    setup.ready("replication", name, timeout=90)
    healthy = eventually(
        lambda: (
            (c := condition(setup.kubectl.get("replication", name), "Healthy")).get("reason")
            == "RemoteRetentionShorter"
            and c
        ),
        timeout=60,
        what="Healthy RemoteRetentionShorter",
    )
    assert healthy["status"] == "False"
    assert "1h" in healthy["message"]
    assert "720h" in healthy["message"]
    warnings = [e for e in setup.kubectl.events(name) if e["reason"] == "RemoteRetentionShorter"]
    assert [e["type"] for e in warnings] == ["Warning"]

    # A remote bucket that keeps points at least as long raises nothing.
    bucket(cloud, f"long-{u}", 0)
    fine = f"fine-{u}"
    setup.kubectl.apply(
        manifests.replication(
            fine, ns, instance="edge", local_bucket=f"long-{u}", connection="tocloud", remote_bucket=f"long-{u}"
        )
    )
    setup.ready("replication", fine, timeout=90)
    assert condition(setup.kubectl.get("replication", fine), "Healthy").get("reason") != "RemoteRetentionShorter"
