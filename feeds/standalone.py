"""``feeds serve``: serve an output folder on its own, reading what to serve from the state store.

The served files are the store's outputs (``output_fingerprints()``), read again
whenever the store's files change (checked at most every ``recheck`` seconds),
so a ``feeds build`` from cron, or a daemon without ``--listen``, publishes and
this process serves.  ``/healthz`` counts the last write of the store (every
poll and every publish that changed anything writes it) as the last sign of
life: 503 when the store has not been written for ``[serve] stale_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Collection
from pathlib import Path

from feeds.config import Settings
from feeds.errors import FeedsError
from feeds.metrics import Metrics
from feeds.models import Health
from feeds.serveconfig import DEFAULT_LISTEN

log = logging.getLogger("feeds")


class StoreOutputs:
    """``files()`` and ``health()`` for :func:`feeds.serve.start_server`, read from the state store."""

    def __init__(
        self, state_path: Path, *, stale_after: float, recheck: float = 0.5, clock: Callable[[], float] = time.time
    ) -> None:
        self.state_path = state_path
        self.stale_after = stale_after
        self.recheck = recheck
        self.clock = clock
        self._checked = float("-inf")
        self._signature: tuple[tuple[int, int], ...] | None = None
        self._files: frozenset[str] = frozenset()
        self._items = 0
        self._failing = 0
        self._due: float | None = None
        self._error = ""

    def files(self) -> Collection[str]:
        self._refresh()
        return self._files

    def health(self) -> Health:
        self._refresh()
        signature = self._signature or ()
        written = max((mtime_ns / 1e9 for mtime_ns, _ in signature), default=None)
        now = self.clock()
        if self._error:
            reason = self._error
        elif written is None:
            reason = f"no state store at {self.state_path}: nothing was published yet"
        elif now - written > self.stale_after:
            reason = f"the state store was last written {now - written:.0f}s ago (stale after {self.stale_after:.0f}s)"
        else:
            reason = ""
        return Health(not reason, reason, written, self._items, self._failing, self._due)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck:
            return
        self._checked = now
        signature = tuple(_stat(Path(f"{self.state_path}{suffix}")) for suffix in ("", "-wal"))
        signature = tuple(s for s in signature if s is not None)
        if signature == self._signature:
            return
        self._signature = signature
        if not signature:
            self._files, self._error = frozenset(), ""
            return
        from feeds.store import open_store

        try:
            with open_store(self.state_path) as store:
                self._files = frozenset(store.output_fingerprints())
                self._items = int(store.meta("items") or 0)
                states = store.source_states().values()
                self._failing = sum(1 for s in states if s.failures)
                self._due = min((s.next_due for s in states if s.next_due is not None), default=None)
            self._error = ""
        except (FeedsError, ValueError) as exc:
            self._error = f"cannot read the state store: {exc}"
            self._signature = None  # try again at the next check


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def run(settings: Settings, listen: str | None = None) -> None:
    """Serve until SIGTERM/SIGINT (``feeds serve``); raises OSError when the address cannot be bound."""
    asyncio.run(_serve(settings, listen or settings.serve.listen or DEFAULT_LISTEN))


async def _serve(settings: Settings, listen: str) -> None:
    from feeds.serve import start_server

    outputs = StoreOutputs(settings.state_path, stale_after=settings.serve.stale_seconds(settings.schedule.interval))
    metrics = Metrics() if settings.serve.metrics else None
    handle = await start_server(settings, listen=listen, files=outputs.files, health=outputs.health, metrics=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("serving %s at %s; SIGTERM or Ctrl-C stops", settings.output.dir, handle.url)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await handle.close()
    log.info("stopped")
