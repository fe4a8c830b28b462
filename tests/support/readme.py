"""The README's generated sections: `python -m support.readme` (`make docs`)
rewrites them; tests compare them with what the code generates."""

from __future__ import annotations

import re
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


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    sys.exit(0)
