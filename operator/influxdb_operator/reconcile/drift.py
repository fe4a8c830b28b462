"""Drift between the settings a spec asks for and what InfluxDB holds.

Computed over every field the desired settings model sets, so a field added
to the model (and to `desired`) is compared and corrected with no code here.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

S = TypeVar("S", bound=BaseModel)

Drift = dict[str, tuple[Any, Any]]  # field -> (observed, desired)


def drift(want: BaseModel, have: BaseModel) -> Drift:
    """The fields `want` sets (not None) whose value in `have` differs."""
    wanted = want.model_dump(exclude_none=True)
    return {name: (getattr(have, name), value) for name, value in wanted.items() if getattr(have, name) != value}


def correction(want: S, differing: Drift) -> S:
    """The PATCH body: `want` with only the differing fields set."""
    return type(want).model_validate({name: desired for name, (_, desired) in differing.items()})
