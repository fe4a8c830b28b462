"""Tokens must appear nowhere the operator writes: Events, status, its log,
and the import's output. Failures name where, never the token."""

from __future__ import annotations

from collections.abc import Iterable

from support.kubectl import Kubectl
from support.operator_process import OperatorProcess


def leaks(tokens: Iterable[str], **texts: str) -> list[str]:
    """The names of the `texts` that contain one of `tokens`."""
    values = list(tokens)
    return sorted(where for where, text in texts.items() if any(token in text for token in values))


def assert_nowhere(tokens: Iterable[str], kubectl: Kubectl, operator: OperatorProcess, **more: str) -> None:
    """No token in the namespace's Events and resources (status included), the
    operator's log, or `more` (e.g. a command's output)."""
    seen = kubectl("get", "events,influxdbinstances,remoteconnections,replications", "-o", "json")
    found = leaks(tokens, kubernetes=seen, operator_log=operator.log.read_text(errors="replace"), **more)
    assert not found, f"a token appears in: {found}"
