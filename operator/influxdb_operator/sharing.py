"""One copy of the strings and field sets that thousands of objects hold alike.

Each watch event and each listing is decoded anew, so without this ten thousand
Replications hold ten thousand copies of "lastTransitionTime", "Available", an
org's ID, and of pydantic's record of which fields a model was given.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# Not `sys.intern`, whose strings some Pythons keep forever: this table forgets
# all when full, and what holds a string keeps it.
_STRINGS: dict[str, str] = {}
_MOST = 1 << 14
_LONGEST = 64


def share(text: str) -> str:
    """The one copy of a short string (a long one is most likely unique)."""
    if len(text) > _LONGEST:
        return text
    shared = _STRINGS.get(text)
    if shared is None:
        if len(_STRINGS) >= _MOST:
            _STRINGS.clear()
        shared = _STRINGS[text] = text
    return shared


def copy(value: Any) -> Any:
    """A copy of decoded JSON with its keys and short strings shared: three times
    as fast as `copy.deepcopy`, which every watch event would pay for."""
    kind = type(value)
    if kind is dict:
        return {share(k): copy(v) for k, v in value.items()}
    if kind is list:
        return [copy(v) for v in value]
    return share(value) if kind is str else value


_FIELD_SETS: dict[frozenset[str], set[str]] = {}


def share_fields_set(model: BaseModel) -> None:
    """Models validated from alike answers share one set of given field names
    (700 bytes each otherwise). pydantic only reads it, and copies it when it
    copies a model; the models it is shared by here are frozen."""
    given = model.__pydantic_fields_set__
    shared = _FIELD_SETS.setdefault(frozenset(given), given)
    object.__setattr__(model, "__pydantic_fields_set__", shared)
