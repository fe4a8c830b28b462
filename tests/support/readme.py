"""The README's generated sections: `python -m support.readme` (`make docs`)
rewrites them; tests compare them with what the code generates."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from influxdb_operator.reconcile import reasons

README = Path(__file__).resolve().parents[2] / "README.md"

SECTIONS = {"reasons": reasons.table}


def render(text: str) -> str:
    """`text` with every generated section filled in anew."""
    for name, generate in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        text, count = pattern.subn(lambda m, g=generate: m.group(1) + g() + m.group(2), text)  # type: ignore[misc]
        if count != 1:
            raise ValueError(f"README.md has no single {name} section")
    return text


# Capitalised words the README's prose may hold: acronyms, HTTP methods, signals,
# an iptables chain. Any other ALL-CAPS word there is taken for a placeholder left
# behind (SCRAPE10K, TBD), unless it holds an underscore and the code reads it
# (an environment variable such as BENCH_SIZES).
WORDS = frozenset(
    "API CEL CHANGELOG CLI CNI CPU CRD CRI DNS EKS FORWARD GET HTTP JSON NAT OCI OSS PATCH PEM PKI QEMU RBAC README RSS"  # noqa: SIM905
    " SBOM SIGINT SIGKILL SIGSTOP SIGTERM TLS UID URL UTC".split()
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
    root = README.parent
    return "\n".join(path.read_text() for pattern in SOURCES for path in sorted(root.glob(pattern)))


def commands(prefix: str) -> list[list[str]]:
    """The README's command lines that start with `prefix`, as argv lists
    (a trailing `> file` dropped): tests run them as documented."""
    found = []
    for line in README.read_text().splitlines():
        text = line.strip()
        if text.startswith(prefix):
            found.append(shlex.split(text.split(" > ", 1)[0]))
    return found


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    sys.exit(0)
