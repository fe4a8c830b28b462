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
