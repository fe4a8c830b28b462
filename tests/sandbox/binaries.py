"""Where `make testbin` left the real servers."""

from __future__ import annotations

import os
from pathlib import Path

# prometheus-operator-crds is a directory: the CRDs of ServiceMonitor and PrometheusRule.
TOOLS = ("kube-apiserver", "kubectl", "etcd", "influxd", "helm", "promtool", "prometheus-operator-crds", "crane")


def testbin_dir() -> Path:
    """`$TESTBIN_DIR`, else the bin/ that tests/testbin/build.sh maintains."""
    if explicit := os.environ.get("TESTBIN_DIR"):
        return Path(explicit)
    cache = Path(
        os.environ.get("TESTBIN_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "influxdb-replication-operator"
        / "testbin"
    )
    return cache / "bin"


def path(tool: str) -> str:
    found = testbin_dir() / tool
    if not os.access(found, os.X_OK):
        raise FileNotFoundError(f"{found} is missing: run `make testbin` first")
    return str(found.resolve())
