"""Every reason has a meaning, and the docs list them as the code does."""

from __future__ import annotations

from influxdb_operator.reconcile import reasons
from support import readme


def test_every_reason_and_action_has_a_meaning() -> None:
    assert set(reasons.MEANINGS) == set(reasons.Reason) | set(reasons.Action)
    assert all(meaning.strip() for meaning in reasons.MEANINGS.values())


def test_reasons_are_unique_across_conditions_and_events() -> None:
    assert not {str(r) for r in reasons.Reason} & {str(a) for a in reasons.Action}


def test_the_docs_list_the_reasons_of_the_code() -> None:
    (holder, _) = readme.SECTIONS["reasons"]
    text = holder.read_text()
    assert readme.render(holder, text) == text, f"{holder.name} is stale: run `make docs`"
