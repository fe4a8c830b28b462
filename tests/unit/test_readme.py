"""The README and the docs hold no placeholder where a figure or a word belongs,
and the README's quick start is the docs' release install."""

from __future__ import annotations

import re

from support import readme


def test_no_page_holds_a_placeholder() -> None:
    code = readme.source_text()
    for path in readme.pages():
        found = readme.placeholders(path.read_text(), code)
        assert found == [], (
            f"{path.name} holds placeholders: {found} (if one is a real acronym, add it to readme.WORDS)"
        )


def test_the_quick_start_is_the_release_install_the_e2e_suite_runs() -> None:
    """The README's quick start repeats docs/install.md's release install, which
    tests/e2e/test_helm.py runs; the same block, so running one runs both."""
    (quick,) = re.findall(r"## Quick start\n.*?```sh\n(.*?)```", readme.README.read_text(), re.DOTALL)
    (install,) = re.findall(r"\n## Install a release\n.*?```sh\n(.*?)```", readme.page("install.md"), re.DOTALL)
    assert quick == install


def test_placeholders_are_told_from_acronyms_and_variables() -> None:
    text = (
        "A scrape costs SCRAPE10K of CPU over TLS; TBD. Set BENCH_SIZES, not BENCH_SIZE_GUESS.\n"
        "`kubectl get NAME` and\n```console\nNAME   READY\n```\n"
    )
    assert readme.placeholders(text, "os.environ['BENCH_SIZES']") == ["SCRAPE10K", "TBD", "BENCH_SIZE_GUESS"]
