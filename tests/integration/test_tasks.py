"""docs/tasks.md's validate and replace tasks, run with the commands as written
there, on the sandbox: the answers they wait for come, and a stream replaced
that way loses no point."""

from __future__ import annotations

import time

import sandbox as sandbox_module
from support import readme
from support.kubectl import condition, eventually
from support.scenario import Setup

OLD, NEW = "metrics-to-cloud", "metrics-to-cloud-v2"
AT = time.time_ns()  # every point's time: a point written to both buckets is the same point


def _documented(prefix: str) -> list[list[str]]:
    found = readme.commands(prefix)
    assert found, f"docs/tasks.md has no command starting {prefix!r}"
    return found


def _run(setup: Setup, argv: list[str]) -> str:
    assert argv[0] == "kubectl", argv
    return setup.kubectl(*argv[1:], timeout=660)


def _points(sandbox: sandbox_module.Sandbox, bucket: str, first: int, count: int) -> None:
    """Points first..first+count-1, each with its own series and a fixed time: written to
    both buckets, a point reaches the cloud twice and is stored once, as the task says."""
    sandbox.edge.write(bucket, "\n".join(f"moved,n=p{first + i} v={first + i} {AT}" for i in range(count)))


def test_validate_as_documented(setup: Setup) -> None:
    setup.kubectl.apply(setup.replication(OLD, name=f"{OLD}-{setup.unique}"))
    setup.ready("replication", OLD)
    (annotate,) = _documented("kubectl annotate --overwrite replication metrics-to-cloud")
    (wait,) = _documented("kubectl wait --for=condition=Validated")
    _run(setup, annotate)
    _run(setup, wait)
    replication = setup.kubectl.get("replication", OLD)
    assert condition(replication, "Validated")["status"] == "True"
    assert replication is not None
    assert replication["status"]["validation"]["requested"] == annotate[-1].split("=", 1)[1]


def test_replace_a_stream_as_documented(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    """The old stream on one edge bucket, its replacement on another, both into
    the same cloud bucket: every point arrives once, and InfluxDB is left with
    the new stream only."""
    new_bucket = f"edge2-{setup.unique}"
    new_bucket_id = sandbox.edge.create_bucket(new_bucket)
    setup.kubectl.apply(setup.replication(OLD, name=f"{OLD}-{setup.unique}"))
    setup.ready("replication", OLD)
    _points(sandbox, setup.edge_bucket, 0, 20)

    replacement = setup.replication(NEW, name=f"{NEW}-{setup.unique}")
    replacement["spec"]["localBucket"] = {"name": new_bucket}
    setup.kubectl.apply(replacement)  # the task's `kubectl apply -f metrics-to-cloud-v2.yaml`
    (ready,) = _documented(f"kubectl wait --for=condition=Ready replication/{NEW}")
    (drained,) = _documented("kubectl wait --for=jsonpath={.status.remainingBytesToBeSynced}=0")
    (delete,) = _documented(f"kubectl delete replication {OLD}")
    _run(setup, ready)
    # Writers move over; a point written to both buckets meanwhile is carried by both streams.
    _points(sandbox, setup.edge_bucket, 20, 10)
    _points(sandbox, new_bucket, 20, 10)
    _points(sandbox, new_bucket, 30, 10)
    _run(setup, drained)
    _run(setup, delete)
    eventually(lambda: setup.kubectl.get("replication", OLD) is None, timeout=30, what="the old stream gone")

    _points(sandbox, new_bucket, 40, 10)
    # Nothing lost: the old stream's backlog drained before it went, the new one carried the rest.
    eventually(lambda: sandbox.cloud.count(setup.cloud_bucket, "moved") == 50, timeout=30, what="50 points arrived")
    left = sandbox.edge.replications(name=f"{NEW}-{setup.unique}")
    assert [r["localBucketID"] for r in left] == [new_bucket_id]
    assert sandbox.edge.replications(name=f"{OLD}-{setup.unique}") == []
