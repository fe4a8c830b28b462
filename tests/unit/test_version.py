"""One version: pyproject.toml's. The chart, the operator's --version, `make version`
and the CHANGELOG follow it, so a release cannot carry two."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from influxdb_operator import __main__ as cli

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/chart/influxdb-replication-operator/Chart.yaml"


def package_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as pyproject:
        return str(tomllib.load(pyproject)["project"]["version"])


def release_notes(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / ".github/release_notes.py"), *args], capture_output=True, text=True, check=False
    )


def test_the_chart_carries_the_package_version() -> None:
    chart = yaml.safe_load(CHART.read_text())
    version = package_version()
    assert (chart["version"], chart["appVersion"]) == (version, version), (
        f"{CHART.relative_to(ROOT)}: version and appVersion must be {version} (pyproject.toml), "
        "then run `make manifests`"
    )


def test_the_operator_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    printed = capsys.readouterr().out
    assert printed == f"influxdb-replication-operator {package_version()}\n", (
        "the installed package is older than pyproject.toml: `make venv` installs it again"
    )


def test_make_version_prints_it_from_pyproject() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "version"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == f"{package_version()}\n"


def test_the_changelog_has_a_section_for_the_current_version() -> None:
    done = release_notes(package_version())
    assert done.returncode == 0, done.stderr
    assert "### " in done.stdout, "a section lists its changes under Added, Changed, Fixed, ..."


def test_the_changelog_opens_with_unreleased() -> None:
    headings = [line for line in (ROOT / "CHANGELOG.md").read_text().splitlines() if line.startswith("## ")]
    assert headings[0] == "## [Unreleased]"
    assert headings[1].startswith(f"## [{package_version()}] - ")


SAMPLE = """# Changelog

## [Unreleased]

### Fixed

- not yet released

## [1.1.0] - 2027-02-01

### Added

- the middle one

## [1.0.0] - 2027-01-01

### Added

- the first one
- [a link][x] inside is kept

[x]: https://example.com/x
[unreleased]: https://example.com/compare/v1.1.0...HEAD
[1.1.0]: https://example.com/v1.1.0
"""


@pytest.mark.parametrize(
    ("version", "notes"),
    [
        ("1.1.0", "### Added\n\n- the middle one\n"),
        ("1.0.0", "### Added\n\n- the first one\n- [a link][x] inside is kept\n"),
    ],
)
def test_release_notes_are_the_versions_section_alone(tmp_path: Path, version: str, notes: str) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(SAMPLE)
    done = release_notes(version, str(changelog))
    assert done.returncode == 0, done.stderr
    assert done.stdout == notes


@pytest.mark.parametrize(("version", "why"), [("1.2.0", "no section"), ("1.0", "no section"), ("Unreleased", "empty")])
def test_release_notes_fail_without_a_section(tmp_path: Path, version: str, why: str) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(SAMPLE.replace("- not yet released\n", "").replace("### Fixed\n\n", ""))
    done = release_notes(version, str(changelog))
    assert done.returncode == 1
    assert done.stdout == ""
    assert why in done.stderr
