"""What `make release` pushed, read back from the registry as a user's tools read it:
one index over both platforms, labelled; an SBOM attached to each; the arm64
operator runs (under QEMU here); the chart's default image is that release's."""

from __future__ import annotations

import json
import os
import posixpath
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from e2e.world import FIGURES

import release as release_tool
from sandbox import binaries, emulation

pytestmark = pytest.mark.e2e

# e_machine in an ELF header (offset 18, little-endian).
ELF_MACHINES = {0x3E: "amd64", 0xB7: "arm64"}


def crane(*args: str) -> str:
    return subprocess.run(
        [binaries.path("crane"), "--insecure", *args], capture_output=True, text=True, check=True, timeout=300
    ).stdout


def repository(record: dict[str, Any]) -> str:
    return str(record["image"]).rsplit(":", 1)[0]


def test_one_index_holds_both_platforms_with_their_labels(release: dict[str, Any]) -> None:
    index = json.loads(crane("manifest", f"{repository(release)}@{release['digest']}"))
    platforms = {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in index["manifests"]
        if m.get("platform", {}).get("os") != "unknown"  # buildx's provenance attestations
    }
    assert platforms == {p: release["platforms"][p]["digest"] for p in ("linux/amd64", "linux/arm64")}
    assert crane("digest", release["image"]).strip() == release["digest"], "the tag names the released index"
    revision = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    for where, digest in platforms.items():
        config = json.loads(crane("config", f"{repository(release)}@{digest}"))
        labels = config["config"]["Labels"]
        assert config["architecture"] == where.split("/")[1]
        assert labels["org.opencontainers.image.version"] == release["version"]
        assert labels["org.opencontainers.image.revision"].removesuffix("-dirty") == revision
        assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
        assert labels["org.opencontainers.image.source"].startswith("https://github.com/")


def test_each_platform_has_an_sbom_of_what_the_image_holds_attached(release: dict[str, Any]) -> None:
    locked = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1].split()[0]
        for line in (Path(__file__).resolve().parents[2] / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    for where, made in release["platforms"].items():
        found = subprocess.run(
            [
                binaries.path("oras"),
                "discover",
                "--plain-http",
                "--format",
                "json",
                "--artifact-type",
                release_tool.SBOM_TYPE,
                f"{repository(release)}@{made['digest']}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        attached = json.loads(found.stdout)
        digests = [r["digest"] for r in attached.get("referrers", attached.get("manifests", []))]
        assert made["sbom"]["digest"] in digests, f"{where}: SBOM not attached ({attached})"
        sbom = json.loads(Path(made["sbom"]["path"]).read_text())
        assert sbom["bomFormat"] == "CycloneDX"
        components = {(c.get("name", "").lower().replace("_", "-"), c.get("version")) for c in sbom["components"]}
        packages = [c for c in sbom["components"] if c.get("type") not in ("file", "operating-system")]
        assert len(packages) == made["sbom"]["packages"]
        # Every locked Python distribution, at its locked version, and the base's Debian packages.
        missing = {(name, version) for name, version in locked.items() if (name, version) not in components}
        assert not missing, f"{where}: the SBOM lacks locked distributions {sorted(missing)}"
        if release["base"]["standin"]:  # Debian's python3.11; the official base builds its own
            assert any(name.startswith("python3.11") for name, _ in components), f"{where}: no Debian python3.11"
        else:
            assert any(c.get("type") == "operating-system" for c in sbom["components"]), f"{where}: no base OS"
        assert ("influxdb-replication-operator", release["version"]) in components
        build_tools = [
            c["purl"]
            for c in sbom["components"]
            if c.get("purl", "").startswith(("pkg:pypi/pip@", "pkg:pypi/setuptools@"))
        ]
        assert not build_tools, f"{where}: the image carries build tools {build_tools}"


def _inside(root: Path, path: str) -> Path:
    """`path` of the image's filesystem under `root`, its symbolic links followed inside it."""
    for _ in range(40):
        target = root / path.lstrip("/")
        if not target.is_symlink():
            return target
        link = os.readlink(target)
        here = posixpath.dirname(path)
        path = posixpath.normpath(link if link.startswith("/") else posixpath.join(here, link))
    raise AssertionError(f"{path}: too many links")


def test_the_arm64_operator_starts_and_answers_help_under_emulation(release: dict[str, Any], tmp_path: Path) -> None:
    emulation.ensure("arm64")
    digest = release["platforms"]["linux/arm64"]["digest"]
    root = tmp_path / "rootfs"
    root.mkdir()
    export = [binaries.path("crane"), "--insecure", "export", f"{repository(release)}@{digest}", "-"]
    with subprocess.Popen(export, stdout=subprocess.PIPE) as exported:
        assert exported.stdout is not None
        with tarfile.open(fileobj=exported.stdout, mode="r|") as layers:
            # The image's own files, owners and modes kept: it is run as it would run in a container.
            layers.extractall(root, filter="fully_trusted")  # noqa: S202
    assert exported.returncode == 0
    # The interpreter the operator runs on, wherever the base keeps it.
    python = _inside(root, "/opt/operator/bin/python3")
    machine = int.from_bytes(python.read_bytes()[18:20], "little")
    assert ELF_MACHINES.get(machine) == "arm64", f"the arm64 image's {python} is {hex(machine)}"
    config = json.loads(crane("config", f"{repository(release)}@{digest}"))["config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    # As root, chroot as the image's user; elsewhere (GitHub's runners) in a user namespace.
    enter = (
        ["chroot", "--userspec=65532:65532", str(root)]
        if os.geteuid() == 0
        else ["unshare", "--map-root-user", f"--root={root}"]
    )

    def operator(*args: str) -> str:
        done = subprocess.run(
            [*enter, *config["Entrypoint"], *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "--liveness" in operator("--help")
    assert "--namespace" in operator("import", "--help")
    FIGURES["arm64 under QEMU"] = "the operator answers --help and import --help"


def test_the_pushed_chart_defaults_to_the_released_image_by_tag_and_digest(release: dict[str, Any]) -> None:
    chart = release["chart"]
    rendered = subprocess.run(
        [binaries.path("helm"), "template", "check", chart["ref"], "--version", chart["version"], "--plain-http"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    images = {line.split("image:", 1)[1].strip() for line in rendered.splitlines() if line.strip().startswith("image:")}
    assert images == {f"{release['image']}@{release['digest']}"}
    FIGURES["chart"] = f"{chart['ref']} --version {chart['version']}"
