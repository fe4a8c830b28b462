"""The docs site: its API reference is what the models render, and it builds
with every link and anchor resolved (mkdocs --strict)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import api_reference

from influxdb_operator.api import crds

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_reference_is_what_the_models_render() -> None:
    for kind in crds.KINDS:
        committed = (ROOT / "docs" / "reference" / api_reference.filename(kind)).read_text()
        assert committed == api_reference.page(kind), f"docs/reference is stale for {kind.kind}: run `make docs`"


def test_every_field_of_the_crds_is_in_the_reference() -> None:
    """A field the CRD has but the page lacks would be a reference that lies by omission."""
    for kind in crds.KINDS:
        page = api_reference.page(kind)
        (version,) = crds.crd(kind)["spec"]["versions"]
        for part in ("spec", "status"):
            schema = version["schema"]["openAPIV3Schema"]["properties"][part]
            for path, _, _ in list(api_reference.fields(schema, part, False))[1:]:
                assert f"`{path}`" in page, f"{kind.kind}: {path} is missing from its reference page"
    (replication,) = (kind for kind in crds.KINDS if kind.kind == "Replication")
    assert "exactly one of" in api_reference.page(replication).split("Rules on `spec`")[1], "its CEL rules are listed"


def test_the_site_builds_with_no_broken_link(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "reference" / "replication" / "index.html").exists()


def _anchors(markdown: str) -> set[str]:
    """The anchors of a page's headings, as GitHub and mkdocs' toc make them."""
    headings = re.findall(r"^#{1,6} (.+)$", re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_readmes_links_into_the_repository_resolve() -> None:
    """mkdocs checks the site's links; the README, read on GitHub, links into it and is checked here."""
    links = re.findall(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)", (ROOT / "README.md").read_text())
    local = [(target, anchor) for target, anchor in links if "://" not in target]
    assert len(local) >= 10, local
    for target, anchor in local:
        path = ROOT / target
        assert path.exists(), f"README links to {target}, which does not exist"
        if anchor:
            assert anchor in _anchors(path.read_text()), f"README links to {target}#{anchor}: no such heading"
