"""`make release`'s decisions that need no registry: which registries are plain
HTTP, which version may be released, and the summary a release prints."""

from __future__ import annotations

import pytest

import release


@pytest.mark.parametrize(
    ("reference", "http"),
    [
        ("127.0.0.1:5000/iro", True),
        ("localhost:5000/iro", True),
        ("[::1]:5000/iro", True),
        ("127.8.9.10:80/a/b", True),
        ("ghcr.io/influxdb-replication-operator", False),
        ("registry.example:5000/iro", False),
        ("10.0.0.1:5000/iro", False),
    ],
)
def test_only_loopback_registries_are_spoken_to_in_plain_http(reference: str, http: bool) -> None:
    assert release.plain_http(reference) is http


def test_a_version_other_than_the_packages_is_refused() -> None:
    with pytest.raises(release.ReleaseError, match=r"VERSION 99\.0\.0 is not the package's version"):
        release.release("99.0.0", "127.0.0.1:1/iro", release.PLATFORMS, "python:3.11-slim-bookworm")


def test_the_summary_names_digest_sizes_packages_chart_and_a_stand_in_base() -> None:
    digest = "sha256:" + "a" * 64
    record = {
        "version": "1.2.3",
        "image": "127.0.0.1:5000/iro/influxdb-replication-operator:1.2.3",
        "digest": digest,
        "seconds": 42,
        "platforms": {
            "linux/amd64": {
                "digest": "sha256:" + "b" * 64,
                "size": 71_234_567,
                "sbom": {"path": "/x/a.json", "packages": 212, "digest": "sha256:" + "c" * 64},
            },
            "linux/arm64": {
                "digest": "sha256:" + "d" * 64,
                "size": 70_000_000,
                "sbom": {"path": "/x/b.json", "packages": 213, "digest": "sha256:" + "e" * 64},
            },
        },
        "chart": {
            "ref": "oci://127.0.0.1:5000/iro/charts/influxdb-replication-operator",
            "version": "1.2.3",
            "digest": "sha256:" + "f" * 64,
        },
        "base": {"ref": "127.0.0.1:5000/iro/stand-in/debian-python:bookworm-x", "standin": "python:3.11-slim-bookworm"},
    }
    shown = release.summary(record)
    assert f"influxdb-replication-operator:1.2.3@{digest}" in shown
    for line, figures in (("linux/amd64", ("71.2 MB", "212 packages")), ("linux/arm64", ("70.0 MB", "213 packages"))):
        (shown_line,) = [each for each in shown.splitlines() if line in each]
        assert all(figure in shown_line for figure in figures), shown_line
    assert "--version 1.2.3" in shown
    assert "a stand-in for python:3.11-slim-bookworm" in shown
