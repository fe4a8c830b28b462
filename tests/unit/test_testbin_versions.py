"""The testbin's versions picked as INFLUXD / KUBE / HELM_VERSION say, and the matrix's
verdict read from pytest's own report: a run that skipped or ran nothing is not a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import binaries
from support import matrix


@pytest.fixture
def testbin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bin/ shaped like build.sh's: TOOL (the default) and TOOL@VERSION links."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("influxd", "influxd@2.9.1", "influxd@2.7.12", "influxd@2.10.1", "helm", "helm@3.21.4", "helm@4.3.2"):
        target = tmp_path / "cache" / name.replace("@", "-") / name.split("@")[0]
        target.parent.mkdir(parents=True)
        target.write_text("#!/bin/sh\n")
        target.chmod(0o755)
        (bindir / name).symlink_to(target)
    monkeypatch.setenv("TESTBIN_DIR", str(bindir))
    for variable in set(binaries.SELECTORS.values()):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def test_unselected_is_the_default_link(testbin: Path) -> None:
    assert binaries.path("influxd") == str(testbin / "cache/influxd/influxd")


@pytest.mark.parametrize(
    ("variable", "value", "tool", "expected"),
    [
        ("INFLUXD", "2.7.12", "influxd", "influxd-2.7.12"),
        ("INFLUXD", "v2.10.1", "influxd", "influxd-2.10.1"),
        ("INFLUXD", "2.10", "influxd", "influxd-2.10.1"),  # a prefix picks the newest it names
        ("INFLUXD", "2", "influxd", "influxd-2.10.1"),  # 2.10.1 is newer than 2.9.1, not older
        ("HELM_VERSION", "3", "helm", "helm-3.21.4"),
        ("HELM_VERSION", "4", "helm", "helm-4.3.2"),
    ],
)
def test_the_selected_version_is_linked(
    testbin: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, tool: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert binaries.path(tool) == str(testbin / "cache" / expected / tool)


def test_a_selected_version_not_built_says_how_to_build_it(testbin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFLUXD", "2.7.1")  # not 2.7.12: a prefix ends at a dot
    with pytest.raises(FileNotFoundError, match=r"INFLUXD=2\.7\.1 make testbin"):
        binaries.path("influxd")


def test_a_tool_without_versions_ignores_the_selectors(testbin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBE", "1.32.9")
    assert binaries.path("helm") == str(testbin / "cache/helm/helm")


def junit(tmp_path: Path, tests: int, failures: int = 0, errors: int = 0, skipped: int = 0) -> Path:
    report = tmp_path / "report.xml"
    report.write_text(
        f'<testsuites><testsuite name="pytest" tests="{tests}" failures="{failures}" errors="{errors}" '
        f'skipped="{skipped}"></testsuite></testsuites>'
    )
    return report


def test_all_passed_is_good(tmp_path: Path) -> None:
    found = matrix.counts(junit(tmp_path, tests=12))
    assert found == matrix.Counts(ran=12, passed=12, failed=0, skipped=0)
    assert found.good


@pytest.mark.parametrize(
    ("kwargs", "passed"),
    [
        ({"tests": 12, "skipped": 1}, 11),  # a skipped test: that version is not tested
        ({"tests": 12, "failures": 1, "errors": 1}, 10),
        ({"tests": 0}, 0),  # nothing ran: nothing was tested
    ],
)
def test_skipped_failed_or_empty_is_not_good(tmp_path: Path, kwargs: dict[str, int], passed: int) -> None:
    found = matrix.counts(junit(tmp_path, **kwargs))
    assert found.passed == passed
    assert not found.good
