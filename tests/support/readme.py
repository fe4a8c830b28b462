"""The README and the docs site's pages (docs/*.md) as tests read them: their
commands, which tests run as written; their generated sections, which
`python -m support.readme` (`make docs`) rewrites and tests compare with what
the code generates; and no placeholder left in their prose."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from influxdb_operator.reconcile import reasons

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# Generated sections: name -> (the page that holds it, its generator).
SECTIONS = {"reasons": (DOCS / "reasons.md", reasons.table)}


def pages() -> list[Path]:
    """The README and every page of the docs site."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def page(name: str) -> str:
    """A docs page's text, by its path under docs/ ("install.md")."""
    return (DOCS / name).read_text()


def render(path: Path, text: str) -> str:
    """`text` (of the page at `path`) with its generated sections filled in anew."""
    for name, (holder, generate) in SECTIONS.items():
        if holder != path:
            continue
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        text, count = pattern.subn(lambda m, g=generate: m.group(1) + g() + m.group(2), text)  # type: ignore[misc]
        if count != 1:
            raise ValueError(f"{path.name} has no single {name} section")
    return text


# Capitalised words the README's prose may hold: acronyms, HTTP methods, signals,
# an iptables chain. Any other ALL-CAPS word there is taken for a placeholder left
# behind (SCRAPE10K, TBD), unless it holds an underscore and the code reads it
# (an environment variable such as BENCH_SIZES).
WORDS = frozenset(
    "API CEL CHANGELOG CLI CNI CPU CRD CRI DNS EKS FORWARD GET HTTP JSON NAT OCI OSS PATCH PEM PKI QEMU RBAC README RSS"  # noqa: SIM905
    " LICENSE SBOM SIGINT SIGKILL SIGSTOP SIGTERM TLS UID URL UTC".split()
)
SOURCES = ("Makefile", "operator/**/*.py", "tests/**/*.py", "tests/testbin/build.sh")


def placeholders(text: str, code: str) -> list[str]:
    """The ALL-CAPS words of `text`'s prose that are neither in WORDS nor names
    `code` uses. Code blocks and spans are left out: they hold real output
    (kubectl's NAME, READY) and commands, which tests run."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    found = []
    # A file's name (RELEASING.md) is no placeholder either.
    for word in re.findall(r"(?<![\w./$-])[A-Z][A-Z0-9_]{2,}(?![\w-]|\.\w)", prose):
        known = word in WORDS or ("_" in word and re.search(rf"\b{word}\b", code))
        if not known and word not in found:
            found.append(word)
    return found


def source_text() -> str:
    """The project's code, for the names `placeholders` accepts."""
    return "\n".join(path.read_text() for pattern in SOURCES for path in sorted(ROOT.glob(pattern)))


def commands(prefix: str) -> list[list[str]]:
    """The command lines of the README and the docs that start with `prefix`, as
    argv lists (a trailing `> file` dropped), each once: tests run them as documented."""
    found: list[list[str]] = []
    for line in (line for path in pages() for line in path.read_text().splitlines()):
        text = line.strip()
        if text.startswith(prefix):
            argv = shlex.split(text.split(" > ", 1)[0])
            if argv not in found:
                found.append(argv)
    return found


if __name__ == "__main__":
    for holder, _ in SECTIONS.values():
        holder.write_text(render(holder, holder.read_text()))
    sys.exit(0)
