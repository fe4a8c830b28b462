"""Print one version's section of CHANGELOG.md: the notes of its GitHub release.

    python3 .github/release_notes.py VERSION [CHANGELOG]

The release workflow runs it before anything is pushed, so a tag whose version has
no written section fails at once instead of publishing a release without notes.
Standard library only: it runs on the runner's Python, before any install.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Keep a Changelog's link reference definitions (`[0.2.0]: https://...`) close the file.
LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s+\S+\s*$")


def section(changelog: str, version: str) -> str:
    """The body under `## [VERSION]` (or `## [VERSION] - date`), up to the next `## `.

    Raises LookupError when the version has no section or an empty one.
    """
    heading = re.compile(rf"^## \[{re.escape(version)}\](?: - \d{{4}}-\d{{2}}-\d{{2}})?\s*$")
    lines = changelog.splitlines()
    start = next((i for i, line in enumerate(lines) if heading.match(line)), None)
    if start is None:
        raise LookupError(f"CHANGELOG has no section '## [{version}] - YYYY-MM-DD'")
    body: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        body.append(line)
    while body and (not body[-1].strip() or LINK_DEFINITION.match(body[-1])):
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    if not body:
        raise LookupError(f"CHANGELOG's section for {version} is empty")
    return "\n".join(body) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parents[1] / "CHANGELOG.md"
    try:
        sys.stdout.write(section(path.read_text(encoding="utf-8"), argv[0]))
    except LookupError as missing:
        print(f"release_notes: {path}: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
