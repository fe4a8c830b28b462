"""What Argo CD and kstatus (Flux, `kubectl`-side tools) make of the
operator's objects, computed by their own code (tests/testbin/health/), and
what they should make of them: the policy, written from the reasons' meaning
rather than read back from the Lua script it checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from influxdb_operator.api import v1alpha1
from influxdb_operator.reconcile.reasons import NEEDS_HUMAN, STARTING, Reason
from sandbox import binaries

ROOT = Path(__file__).resolve().parents[2]
CUSTOMIZATIONS = ROOT / "deploy" / "argocd" / "resource_customizations" / v1alpha1.GROUP
# Healthy=False reasons that mean data is not reaching the remote (the others warn).
BROKEN_DATA_PLANE = frozenset({Reason.REMOTE_ERROR, Reason.DATA_LOST, Reason.STALLED})


def script(kind: str) -> Path:
    return CUSTOMIZATIONS / kind / "health.lua"


def _run(argv: list[str], obj: dict[str, Any]) -> dict[str, str]:
    done = subprocess.run(argv, input=json.dumps(obj), capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return dict(json.loads(done.stdout))


def argocd(obj: dict[str, Any]) -> dict[str, str]:
    """Argo CD's health of `obj`: its kind's health.lua run by gopher-lua."""
    return _run([binaries.path("argocd-health"), str(script(obj["kind"]))], obj)


def kstatus(obj: dict[str, Any]) -> dict[str, str]:
    """kstatus' answer for `obj` (sigs.k8s.io/cli-utils' status.Compute)."""
    return _run([binaries.path("kstatus")], obj)


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), None)


def _paused(obj: dict[str, Any]) -> bool:
    if v1alpha1.paused(obj["metadata"].get("annotations")):
        return True
    return any((_condition(obj, t) or {}).get("reason") == Reason.PAUSED for t in ("Ready", "Synced"))


def _lagging(obj: dict[str, Any]) -> bool:
    observed = (obj.get("status") or {}).get("observedGeneration")
    return observed is not None and observed != obj["metadata"].get("generation")


def expected_argocd(obj: dict[str, Any]) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Progressing"  # Argo CD's own rule, before any script
    if _paused(obj):
        return "Suspended"
    ready = _condition(obj, "Ready")
    if ready is None:
        return "Progressing"
    if ready["status"] != "True":
        return "Progressing" if ready["reason"] in STARTING else "Degraded"
    if _lagging(obj):
        return "Progressing"
    if (_condition(obj, "Synced") or {}).get("status") == "False":
        return "Degraded"
    healthy = _condition(obj, "Healthy") or {}
    if healthy.get("status") == "False" and healthy.get("reason") in BROKEN_DATA_PLANE:
        return "Degraded"
    if (_condition(obj, "Validated") or {}).get("status") == "False":
        return "Degraded"
    return "Healthy"


def expected_kstatus(obj: dict[str, Any]) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    if _lagging(obj):
        return "InProgress"
    ready = _condition(obj, "Ready")
    if ready is None:
        # Before the first write the CRD's default shows observedGeneration 0,
        # caught above as lagging; with no generation recorded at all kstatus
        # takes a resource without conditions for Current (its documented default).
        return "Current"
    if ready["status"] != "True":
        return "Failed" if ready["reason"] in NEEDS_HUMAN else "InProgress"
    return "Current"


def state(obj: dict[str, Any]) -> tuple[Any, ...]:
    """What the answers depend on: one evaluation per distinct state."""
    conditions = tuple(
        (c.get("type"), c.get("status"), c.get("reason")) for c in (obj.get("status") or {}).get("conditions") or []
    )
    return (obj["kind"], bool(obj["metadata"].get("deletionTimestamp")), _paused(obj), _lagging(obj), conditions)


def judge(obj: dict[str, Any]) -> list[str]:
    """The disagreements between the tools' answers for `obj` and the policy."""
    problems = []
    name = f"{obj['kind']}/{obj['metadata']['name']} {state(obj)[1:]}"
    argo, want = argocd(obj), expected_argocd(obj)
    if argo.get("status") != want:
        problems.append(f"{name}: Argo CD says {argo}, expected {want}")
    # A problem's reason is in the message Argo CD shows.
    ready = _condition(obj, "Ready") or {"status": "True"}
    shown = argo.get("message") or ""
    failing = ready["status"] != "True" and argo.get("status") in ("Degraded", "Progressing")
    if failing and not obj["metadata"].get("deletionTimestamp") and ready["reason"] not in shown:
        problems.append(f"{name}: Argo CD's message {argo.get('message')!r} does not say {ready['reason']}")
    ks, want = kstatus(obj), expected_kstatus(obj)
    if ks.get("status") != want:
        problems.append(f"{name}: kstatus says {ks}, expected {want}")
    return problems
