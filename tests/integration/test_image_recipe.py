"""The image's build steps, replayed without Docker: the hash-pinned locks alone
(installed with --require-hashes, as the Dockerfile does, so pip refuses any
dependency they do not pin) must be enough to build and run the operator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_steps_build_a_working_operator(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    # The steps replayed here are the Dockerfile's own.
    locks = "-r /wheels/requirements.lock -r /wheels/requirements-build.lock"
    assert f'pip install --require-hashes "$@" {locks}' in dockerfile
    assert 'pip install --no-deps --no-build-isolation "$@" /src' in dockerfile
    assert "USER 65532:65532" in dockerfile
    assert 'ENTRYPOINT ["influxdb-replication-operator"]' in dockerfile

    venv = tmp_path / "operator"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    lock_files = ["-r", str(ROOT / "requirements.lock"), "-r", str(ROOT / "requirements-build.lock")]
    subprocess.run([*pip, "--require-hashes", *lock_files], check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", str(ROOT)], check=True, timeout=600)
    check = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout
    helped = subprocess.run(
        [str(venv / "bin/influxdb-replication-operator"), "--help"], capture_output=True, text=True, check=True
    )
    assert "--liveness" in helped.stdout
    imported = subprocess.run(
        [str(venv / "bin/python"), "-c", "import influxdb_operator.handlers"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
