"""A fix to kopf (the version pinned in requirements.lock), applied on import.

At start-up every object's worker drops its "not indexed yet" toggle from one
`ToggleSet` and then waits on that set's condition until all are dropped.
kopf notifies every waiter on every drop (and on every toggle added), so N
objects cost N²/2 task wake-ups before the first handler runs: seconds at a
thousand objects, minutes at ten thousand. A waiter's predicate depends only
on whether the set is on, so notifying when that flips wakes the same waiters
at the moments that matter, once each. `tests/unit/test_kopf_fixes.py` counts
the wake-ups, and fails when a kopf upgrade changes what is patched here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kopf._cogs.aiokits.aiotoggles import Toggle, ToggleSet


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
