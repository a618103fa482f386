"""What ``GET /healthz`` says: is feeds alive and publishing?

:class:`HealthMonitor` is fed by the daemon (a publish, a poll) and, called,
returns a :class:`~feeds.core.models.Health`: ``ok`` while the last successful
publish (or, before the first, the start) is at most ``stale_after`` seconds
old, else not ok with the reason.
The clock is injectable, so tests drive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from feeds.core.models import Health


class HealthMonitor:
    """Call :meth:`published` after each successful publish and :meth:`polled` after each poll."""

    def __init__(self, stale_after: float, *, clock: Callable[[], float] = time.time) -> None:
        self.stale_after = stale_after
        self.clock = clock
        self.started = clock()
        self.last_publish: float | None = None
        self.items = 0
        self._failing: set[str] = set()
        self._due: dict[str, float] = {}

    def published(self, items: int, at: float | None = None) -> None:
        self.last_publish = self.clock() if at is None else at
        self.items = items

    def polled(self, source: str, *, ok: bool, next_due: float | None = None) -> None:
        (self._failing.discard if ok else self._failing.add)(source)
        if next_due is None:
            self._due.pop(source, None)
        else:
            self._due[source] = next_due

    def __call__(self) -> Health:
        now = self.clock()
        last = self.last_publish
        since = now - (self.started if last is None else last)
        ok = since <= self.stale_after
        if last is None:
            what = "no publish yet" if ok else "no publish succeeded"
            reason = f"{what} since the start {since:.0f}s ago"
        else:
            reason = "" if ok else f"no publish succeeded for {since:.0f}s"
        if not ok:
            reason += f" (stale after {self.stale_after:.0f}s)"
        return Health(
            ok=ok,
            reason=reason,
            last_publish=last,
            items=self.items,
            sources_failing=len(self._failing),
            oldest_due=min(self._due.values(), default=None),
        )
