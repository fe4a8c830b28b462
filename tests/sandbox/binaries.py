"""Where `make testbin` left the real servers, in the versions the environment selects."""

from __future__ import annotations

import os
import re
from pathlib import Path

# prometheus-operator-crds is a directory: the CRDs of ServiceMonitor and PrometheusRule.
TOOLS = ("kube-apiserver", "kubectl", "etcd", "influxd", "helm", "promtool", "prometheus-operator-crds", "crane")

# The variable that selects each versioned tool (INFLUXD=2.7.12, KUBE=1.32.9, HELM_VERSION=3;
# not HELM, which tools/release.py reads as the helm command):
# build.sh builds that version and links it as TOOL@VERSION beside the default.
SELECTORS = {
    "influxd": "INFLUXD",
    "helm": "HELM_VERSION",
    **{
        tool: "KUBE"
        for tool in ("kube-apiserver", "kubectl", "kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy")
    },
}


# The default version of each versioned tool is what its wrapper module pins.
TESTBIN_SOURCE = Path(__file__).resolve().parents[1] / "testbin"
DEFAULT_PINS = {
    "influxd": ("influxd", "github.com/influxdata/influxdb/v2"),
    "helm": ("helm4", "helm.sh/helm/v4"),
    **{tool: ("kube", "k8s.io/kubernetes") for tool in SELECTORS if SELECTORS[tool] == "KUBE"},
}


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


def selected(tool: str) -> str | None:
    """The version the environment asks for, e.g. "2.7.12" or "3" (any prefix of a version), or None."""
    variable = SELECTORS.get(tool)
    if variable is None:
        return None
    return os.environ.get(variable, "").removeprefix("v") or None


def default_version(tool: str) -> str:
    """The version tests/testbin/*/go.mod pins for the tool's default build, e.g. "1.37.2"."""
    directory, module = DEFAULT_PINS[tool]
    found = re.search(
        rf"^\s*(?:require\s+)?{re.escape(module)} v(\S+)", (TESTBIN_SOURCE / directory / "go.mod").read_text(), re.M
    )
    if not found:
        raise ValueError(f"tests/testbin/{directory}/go.mod does not require {module}")
    return found.group(1)


def expected_version(tool: str) -> str:
    """What the tool in use should report: the selected version (or prefix), else the default."""
    return selected(tool) or default_version(tool)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name.split("@", 1)[1]))


def path(tool: str) -> str:
    """The tool's binary: the selected version's TOOL@VERSION link (the newest whose version
    starts with the selection), else the default link."""
    found = testbin_dir() / tool
    if version := selected(tool):
        matches = [
            link
            for link in testbin_dir().glob(f"{tool}@*")
            if (linked := link.name.split("@", 1)[1]) == version or linked.startswith(f"{version}.")
        ]
        if not matches:
            raise FileNotFoundError(
                f"{tool} {version} ({SELECTORS[tool]}={version}) is not in {testbin_dir()}: "
                f"run `{SELECTORS[tool]}={version} make testbin` first"
            )
        found = max(matches, key=lambda link: _version_key(link.name))
    if not os.access(found, os.X_OK):
        raise FileNotFoundError(f"{found} is missing: run `make testbin` first")
    return str(found.resolve())
