"""One version: pyproject.toml's. The chart, the operator's --version and `make version`
follow it, so a release cannot carry two."""

from __future__ import annotations

import subprocess
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
    # An install older than pyproject.toml reports its own version: `make venv` reinstalls.
    assert printed == f"influxdb-replication-operator {package_version()}\n"


def test_make_version_prints_it_from_pyproject() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "version"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == f"{package_version()}\n"
