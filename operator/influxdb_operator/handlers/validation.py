"""The validate annotation of Replications: every watch event of one that
has it is checked for a value not answered yet (kopf's filter leaves the
rest out, silently); the validate itself runs in the background
(`managed.validation`)."""

from __future__ import annotations

from typing import Any

import kopf

from ..api import v1alpha1
from ..managed import validation
from . import indexes
from .lifecycle import runtime


@kopf.on.event(v1alpha1.GROUP, v1alpha1.VERSION, "replications", annotations={validation.ANNOTATION: kopf.PRESENT})
async def validate_requested(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    value = body.metadata.annotations.get(validation.ANNOTATION)
    if value is None or event.get("type") == "DELETED":
        return
    rt = runtime(memo)
    if validation.answered(rt, body.metadata.uid or "", dict(body.status), value):
        return
    validation.request(rt, indexes.refs(kwargs), indexes.snapshot(body), value)
