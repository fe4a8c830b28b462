"""The versions tested beside the defaults, and the run of them (`make test-versions`, `.ci/run`).

The whole suite runs on the defaults (`make test`). On the oldest supported influxd and
Kubernetes, the tests of what those versions change (the CRDs' admission rules, the client,
the lifecycle, minted tokens, validation, the data plane, import) run again, and the chart
test on the Helm major the default run did not use. Each run must run tests, pass them all
and skip none: a version whose tests were skipped has not been tested.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The oldest supported versions (README: Supported versions). Kubernetes 1.32 is the oldest
# minor still under a major provider's support (EKS extended support, to 2027-03); its
# patch is the newest whose modules the Go module proxy serves completely.
OLDEST_INFLUXD = "2.7.12"
OLDEST_KUBE = "1.32.9"
HELM_OTHER = "3"  # the default run uses Helm 4
SUBSET = tuple(
    f"tests/integration/test_{name}.py"
    for name in ("admission", "client", "lifecycle", "tokens", "validate", "dataplane", "import")
)
CHART = ("tests/integration/test_chart.py",)


@dataclass(frozen=True)
class Run:
    label: str
    env: dict[str, str]
    tests: tuple[str, ...]


RUNS = (
    Run(f"influxd {OLDEST_INFLUXD}", {"INFLUXD": OLDEST_INFLUXD}, SUBSET),
    Run(f"Kubernetes {OLDEST_KUBE}", {"KUBE": OLDEST_KUBE}, SUBSET),
    Run(f"Helm {HELM_OTHER}", {"HELM_VERSION": HELM_OTHER}, CHART),
)


@dataclass(frozen=True)
class Counts:
    ran: int
    passed: int
    failed: int
    skipped: int

    @property
    def good(self) -> bool:
        return self.ran > 0 and self.passed == self.ran and self.skipped == 0


def counts(junit: Path) -> Counts:
    """What pytest's JUnit report says ran, passed, failed (or errored) and was skipped."""
    suites = ET.parse(junit).getroot().iter("testsuite")  # noqa: S314 (pytest wrote it, here)
    ran = failed = skipped = 0
    for suite in suites:
        ran += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return Counts(ran=ran, passed=ran - failed - skipped, failed=failed, skipped=skipped)


def build() -> None:
    """Build (or find cached) the versions the runs select."""
    env = {**os.environ, "INFLUXD_VERSIONS": OLDEST_INFLUXD, "KUBE_VERSIONS": OLDEST_KUBE}
    subprocess.run(["bash", str(ROOT / "tests/testbin/build.sh")], env=env, check=True)


def run(one: Run, report_dir: Path) -> Counts:
    junit = report_dir / f"{one.label.replace(' ', '-')}.xml"
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", *one.tests]
    print(f"matrix: {one.label}: {' '.join(argv[1:])}", flush=True)
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **one.env}, check=False)
    if not junit.exists():
        return Counts(ran=0, passed=0, failed=1, skipped=0)
    found = counts(junit)
    if done.returncode and found.failed == 0:  # pytest failed outside any test (collection, a fixture's teardown)
        return Counts(ran=found.ran, passed=found.passed, failed=1, skipped=found.skipped)
    return found


def main() -> int:
    build()
    results: list[tuple[Run, Counts]] = []
    with tempfile.TemporaryDirectory(prefix="matrix-") as reports:
        for one in RUNS:
            results.append((one, run(one, Path(reports))))
    print("matrix: per version (tests ran / passed / failed / skipped):")
    for one, found in results:
        verdict = "ok" if found.good else "FAILED"
        print(
            f"matrix:   {one.label:<20} {found.ran:>4} ran {found.passed:>4} passed "
            f"{found.failed:>3} failed {found.skipped:>3} skipped  {verdict}"
        )
    return 0 if all(found.good for _, found in results) else 1


if __name__ == "__main__":
    sys.exit(main())
