"""The README holds no placeholder where a figure or a word belongs."""

from __future__ import annotations

from support import readme


def test_the_readme_holds_no_placeholder() -> None:
    found = readme.placeholders(readme.README.read_text(), readme.source_text())
    assert found == [], f"README.md holds placeholders: {found} (if one is a real acronym, add it to readme.WORDS)"


def test_placeholders_are_told_from_acronyms_and_variables() -> None:
    text = (
        "A scrape costs SCRAPE10K of CPU over TLS; TBD. Set BENCH_SIZES, not BENCH_SIZE_GUESS.\n"
        "`kubectl get NAME` and\n```console\nNAME   READY\n```\n"
    )
    assert readme.placeholders(text, "os.environ['BENCH_SIZES']") == ["SCRAPE10K", "TBD", "BENCH_SIZE_GUESS"]
