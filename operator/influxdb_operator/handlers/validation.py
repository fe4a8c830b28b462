"""The validate annotation of Replications: every watch event of one that
has it is checked for a value not answered yet (kopf's filter leaves the
rest out, silently); the validate itself runs in the background
(`kinds.replication.validate_on_demand`)."""

from __future__ import annotations

from typing import Any

import kopf

from ..api import v1alpha1
from ..kinds.replication import validate_on_demand
from . import indexes
from .lifecycle import runtime


@kopf.on.event(
    v1alpha1.GROUP, v1alpha1.VERSION, "replications", annotations={validate_on_demand.ANNOTATION: kopf.PRESENT}
)
async def validate_requested(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    value = body.metadata.annotations.get(validate_on_demand.ANNOTATION)
    if value is None or event.get("type") == "DELETED":
        return
    rt = runtime(memo)
    if validate_on_demand.answered(rt, body.metadata.uid or "", dict(body.status), value):
        return
    validate_on_demand.request(rt, indexes.refs(kwargs), indexes.snapshot(body), value)
