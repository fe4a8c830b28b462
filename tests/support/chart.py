"""The Helm chart as its users render it: `helm` from the testbin, and the
rendered documents as dicts."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from sandbox import binaries

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/chart/influxdb-replication-operator"
RELEASE_NAMESPACE = "influxdb-replication-operator"


def helm(*args: str) -> str:
    done = subprocess.run([binaries.path("helm"), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def render(
    *sets: str, namespace: str = RELEASE_NAMESPACE, release: str = "influxdb-replication-operator"
) -> list[dict[str, Any]]:
    """`helm template` of the chart as `release`, with `--set`s."""
    flags = [f"--set={s}" for s in sets]
    out = helm("template", release, str(CHART), f"--namespace={namespace}", *flags)
    return [d for d in yaml.safe_load_all(out) if d]
