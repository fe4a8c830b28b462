"""The rooms of the code stay findable: a module's name alone says which
room it is in, and the rooms that came out of `managed/` (the driver, the
process state, the kinds, the refresh) stay small enough to read whole."""

from __future__ import annotations

import collections
from pathlib import Path

import influxdb_operator

PACKAGE = Path(influxdb_operator.__file__).parent
# Modules every package may have: their folder names them.
SHARED_NAMES = {"__init__.py", "__main__.py"}
ROOMS = ("driver", "state", "kinds", "refresh.py")
MAX_LINES = 250


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_found() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in modules()}
    assert {"driver/external.py", "state/runtime.py", "refresh.py", "handlers/kube.py"} <= names


def test_no_module_name_repeats_across_folders() -> None:
    where = collections.defaultdict(list)
    for path in modules():
        if path.name not in SHARED_NAMES:
            where[path.name].append(path.relative_to(PACKAGE).as_posix())
    repeated = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not repeated, f"rename so the name alone tells the room: {repeated}"


def test_the_rooms_out_of_managed_hold_no_module_over_the_bound() -> None:
    rooms = [PACKAGE / room for room in ROOMS]
    found = [path for room in rooms for path in ([room] if room.is_file() else sorted(room.rglob("*.py")))]
    assert len(found) > len(ROOMS)
    too_long = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in found
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long, f"split by job (at most {MAX_LINES} lines): {too_long}"
