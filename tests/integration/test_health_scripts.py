"""The Argo CD health scripts (deploy/argocd/, and the chart's copy) run by
gopher-lua, and kstatus, on their fixtures and on every reason the operator
can write: each answer is the policy's (support.health). The same answers on
objects the real operator wrote are checked by every integration test
(conftest's `health_judged`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from influxdb_operator.api import crds, v1alpha1
from influxdb_operator.reconcile.reasons import NEEDS_HUMAN, Reason
from support import health

CHART_SCRIPT = health.ROOT / "deploy/chart/influxdb-replication-operator/files/argocd/health.lua"
KINDS = [k.kind for k in crds.KINDS]


def _cases() -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind, case)
        for kind in KINDS
        for case in yaml.safe_load((health.CUSTOMIZATIONS / kind / "health_test.yaml").read_text())["tests"]
    ]


def test_every_kind_has_a_script_with_fixtures_and_they_are_the_charts() -> None:
    assert sorted(p.name for p in health.CUSTOMIZATIONS.iterdir()) == sorted(KINDS)
    for kind in KINDS:
        # One script serves every kind: the chart ships one copy of it.
        assert health.script(kind).read_text() == CHART_SCRIPT.read_text(), f"{kind}'s health.lua differs"
        fixtures = {p.name for p in (health.CUSTOMIZATIONS / kind / "testdata").iterdir()}
        tested = {Path(c["inputPath"]).name for k, c in _cases() if k == kind}
        assert fixtures == tested, f"{kind}: fixtures without a test, or tests without a fixture"
    shown = {c["healthStatus"]["status"] for kind, c in _cases() if kind == "Replication"}
    assert shown == {"Healthy", "Progressing", "Degraded", "Suspended"}


@pytest.mark.parametrize(("kind", "case"), _cases(), ids=lambda v: v if isinstance(v, str) else v["inputPath"])
def test_fixture(kind: str, case: dict[str, Any]) -> None:
    obj = yaml.safe_load((health.CUSTOMIZATIONS / kind / case["inputPath"]).read_text())
    assert health.argocd(obj) == case["healthStatus"]
    assert health.expected_argocd(obj) == case["healthStatus"]["status"]
    assert health.judge(obj) == []


def _object(kind: str, *conditions: tuple[str, str, str], **status: Any) -> dict[str, Any]:
    listed = [{"type": t, "status": s, "reason": r, "message": f"about {r}"} for t, s, r in conditions]
    return {
        "apiVersion": v1alpha1.API_VERSION,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns", "generation": 1},
        "status": {"conditions": listed, **status},
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reason", [r for r in Reason if r not in (Reason.AVAILABLE, Reason.RECONCILE_SUCCESS)])
def test_every_reason_of_a_problem(kind: str, reason: Reason) -> None:
    """Ready=False for each reason, as the operator writes it (with Stalled
    when the reason needs a human); Degraded and Failed, or Progressing and
    InProgress, as the policy says."""
    conditions = [("Ready", "False", reason), ("Synced", "False", reason)]
    if reason in NEEDS_HUMAN:
        conditions.append(("Stalled", "True", reason))
    obj = _object(kind, *conditions)
    assert health.judge(obj) == []
    # Paused shows the message alone: Suspended says what the reason would.
    shown = f"about {reason}" if reason is Reason.PAUSED else f"{reason}: about {reason}"
    assert health.argocd(obj)["message"] == shown


@pytest.mark.parametrize(
    "reason",
    [
        *(Reason.REPLICATING, Reason.NO_WRITES_YET, Reason.REMOTE_ERROR, Reason.DATA_LOST, Reason.STALLED),
        *(Reason.QUEUE_FILLING_UP, Reason.QUEUE_NEARLY_FULL, Reason.BACKLOG_GROWING),
        *(Reason.REMOTE_RETENTION_SHORTER, Reason.QUEUE_UNDERSIZED),
    ],
)
def test_every_data_plane_reason(reason: Reason) -> None:
    working = (Reason.REPLICATING, Reason.QUEUE_UNDERSIZED)  # the latter a hint on a working stream
    status = "True" if reason in working else "Unknown" if reason is Reason.NO_WRITES_YET else "False"
    obj = _object(
        "Replication",
        ("Ready", "True", Reason.AVAILABLE),
        ("Synced", "True", Reason.RECONCILE_SUCCESS),
        ("Healthy", status, reason),
        observedGeneration=1,
    )
    assert health.judge(obj) == []
    assert health.argocd(obj)["status"] == ("Degraded" if reason in health.BROKEN_DATA_PLANE else "Healthy")
    assert health.kstatus(obj)["status"] == "Current"


def test_being_deleted_and_paused() -> None:
    deleting = _object("Replication", ("Ready", "True", Reason.AVAILABLE), observedGeneration=1)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert (health.argocd(deleting)["status"], health.kstatus(deleting)["status"]) == ("Progressing", "Terminating")
    paused = _object(
        "Replication", ("Ready", "True", Reason.AVAILABLE), ("Synced", "False", Reason.PAUSED), observedGeneration=1
    )
    assert (health.argocd(paused)["status"], health.kstatus(paused)["status"]) == ("Suspended", "Current")
    assert health.judge(paused) == []
