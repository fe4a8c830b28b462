"""Four fixes to kopf (the version pinned in requirements.lock), applied on import.

1. At start-up every object's worker drops its "not indexed yet" toggle from one
`ToggleSet` and then waits on that set's condition until all are dropped.
kopf notifies every waiter on every drop (and on every toggle added), so N
objects cost N²/2 task wake-ups before the first handler runs: seconds at a
thousand objects, minutes at ten thousand. A waiter's predicate depends only
on whether the set is on, so notifying when that flips wakes the same waiters
at the moments that matter, once each.

2. kopf's API client has no connection limit, and nothing bounds how many
objects' patches it sends at once: when a thousand handlers end close
together (a restart's backlog), a thousand TLS connections open at once, and
the allocator keeps their buffers (a GiB at three thousand). At most
PATCHES_AT_ONCE patches are in flight; the rest wait their turn.

3. Every watched object arrives with its `managedFields` (the API server's
record of who set which field) and kubectl's last-applied copy of it, which
neither kopf nor the operator reads: decoded, they are three fifths of a
Replication (17 of 28 KB). At start-up kopf holds every object listed until
its worker is through, so they were most of the memory a restart needed, and
what the allocator kept afterwards. They are dropped as each event arrives.

4. At start-up every object's worker holds its event, and then everything kopf
builds to handle it (causes, diffs, handler state), while it waits its turn at
the handler: at a restart with 10,000 changed objects, 50 KB each at once, and
what the allocator kept afterwards. `admission` is taken before kopf builds
any of it: the operator makes it its per-instance place (`Runtime.slot`), so
the waiting is the same and holds only the events.

`tests/unit/test_kopf_fixes.py` counts the wake-ups and the patches in flight,
checks what a watched object keeps, and fails when a kopf upgrade changes what
is patched here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from kopf._cogs.aiokits.aiotoggles import Toggle, ToggleSet
from kopf._cogs.clients import patching, watching
from kopf._cogs.structs.references import Resource
from kopf._core.reactor import processing

from .. import sharing

PATCHES_AT_ONCE = 32


async def _change(self: ToggleSet, mutate: Callable[[set[Toggle]], object]) -> None:
    async with self._condition:
        before = self.is_on()
        mutate(self._toggles)
        if self.is_on() != before:
            self._condition.notify_all()


async def make_toggle(self: ToggleSet, __val: bool = False, *, name: str | None = None) -> Toggle:
    toggle = Toggle(__val, name=name, condition=self._condition)
    await _change(self, lambda toggles: toggles.add(toggle))
    return toggle


async def drop_toggle(self: ToggleSet, toggle: Toggle) -> None:
    await _change(self, lambda toggles: toggles.discard(toggle))


async def drop_toggles(self: ToggleSet, toggles: Iterable[Toggle]) -> None:
    await _change(self, lambda held: held.difference_update(toggles))


ToggleSet.make_toggle = make_toggle  # type: ignore[method-assign]
ToggleSet.drop_toggle = drop_toggle  # type: ignore[method-assign]
ToggleSet.drop_toggles = drop_toggles  # type: ignore[method-assign]


_patch_obj = patching.patch_obj
_patches = asyncio.Semaphore(PATCHES_AT_ONCE)


async def patch_obj(**kwargs: Any) -> Any:
    async with _patches:
        return await _patch_obj(**kwargs)


patching.patch_obj = patch_obj


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_continuous_watch = watching.continuous_watch


def slim(event: Any, *, shared: bool = True) -> None:
    """Drops what no one here reads from a watch event's object and, unless
    told not to, shares its keys and short strings: at a restart kopf holds
    every object's at once."""
    obj = event.get("object") if isinstance(event, dict) else None
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
        if shared:
            event["object"] = sharing.copy(obj)


async def continuous_watch(**kwargs: Any) -> AsyncIterator[Any]:
    shared = kwargs["resource"].plural != "secrets"  # a token is not kept in a table, even briefly
    async for event in _continuous_watch(**kwargs):
        slim(event, shared=shared)
        yield event


watching.continuous_watch = continuous_watch


Admission = Callable[[Resource, Mapping[str, Any]], AbstractAsyncContextManager[Any]]


def _anyone(resource: Resource, body: Mapping[str, Any]) -> AbstractAsyncContextManager[Any]:
    return contextlib.nullcontext()


admission: Admission = _anyone  # the operator sets its own at start-up
_process_resource_causes = processing.process_resource_causes


async def process_resource_causes(**kwargs: Any) -> Any:
    async with admission(kwargs["resource"], kwargs["body"]):
        return await _process_resource_causes(**kwargs)


processing.process_resource_causes = process_resource_causes  # type: ignore[assignment]
