"""``feeds serve``: serve an output folder on its own, reading what to serve from the state store.

The served files are the store's outputs (``output_fingerprints()``), read again
whenever the store's files change (checked at most every ``recheck`` seconds),
so a ``feeds build`` from cron, or a daemon without ``--listen``, publishes and
this process serves.  ``/healthz`` counts the last write of the store (every
poll and every publish that changed anything writes it) as the last sign of
life: 503 when the store has not been written for ``[serve] stale_after``.

A PostgreSQL store (``[state] url``) has no file to watch: it is read again at
every check, and its last sign of life is the latest poll or posts scan it
records.  The outputs served are this node's (``--node``, else host and output
folder, as the daemon that publishes them names itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from feeds.config import Settings
from feeds.config.serve import DEFAULT_LISTEN
from feeds.core.errors import FeedsError
from feeds.core.models import Health
from feeds.serving.metrics import Metrics
from feeds.store import Store, display_url

log = logging.getLogger("feeds")


class StoreOutputs:
    """``files()`` and ``health()`` for :func:`feeds.serving.http.start_server`, read from the state store."""

    def __init__(
        self,
        state_path: Path | str,
        *,
        stale_after: float,
        recheck: float = 0.5,
        clock: Callable[[], float] = time.time,
        node: str | None = None,
        posts: Sequence[str] = (),
    ) -> None:
        self.state_path = state_path  # a SQLite file, or a postgresql:// URL
        self.stale_after = stale_after
        self.recheck = recheck
        self.clock = clock
        self.node = node  # PostgreSQL: whose outputs are served
        self.posts = tuple(posts)  # PostgreSQL: the posts sources whose scans are signs of life
        self._checked = float("-inf")
        self._signature: tuple[tuple[int, int], ...] | None = None
        self._files: frozenset[str] = frozenset()
        self._items = 0
        self._failing = 0
        self._due: float | None = None
        self._error = ""
        self._store: Store | None = None

    @classmethod
    def of(cls, settings: Settings, **kwargs: object) -> StoreOutputs:
        """The outputs of the store ``settings`` name (SQLite or PostgreSQL)."""
        if settings.state_url is None:
            return cls(settings.state_path, **kwargs)  # type: ignore[arg-type]
        from feeds.store import default_node

        node = settings.node or default_node(settings.output.dir)
        names = [s.name for s in settings.sources if not s.remote]
        return cls(settings.state_url, node=node, posts=names, **kwargs)  # type: ignore[arg-type]

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
            where = display_url(self.state_path) if isinstance(self.state_path, str) else self.state_path
            reason = f"no state store at {where}: nothing was published yet"
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
        if isinstance(self.state_path, str):
            self._read()
            return
        signature = tuple(_stat(Path(f"{self.state_path}{suffix}")) for suffix in ("", "-wal"))
        signature = tuple(s for s in signature if s is not None)
        if signature == self._signature:
            return
        self._signature = signature
        if not signature:
            self._files, self._error = frozenset(), ""
            return
        self._read()

    def _read(self) -> None:
        from feeds.store import open_store

        try:
            if isinstance(self.state_path, str):  # PostgreSQL: one store kept open, read at every check
                if self._store is None:
                    if not _pg_exists(self.state_path):
                        self._files, self._signature, self._error = frozenset(), None, ""
                        return
                    self._store = open_store(self.state_path, node=self.node, busy_timeout=5.0)
                self._read_from(self._store)
            else:
                with open_store(self.state_path) as store:
                    self._read_from(store)
            self._error = ""
        except (FeedsError, ValueError) as exc:
            self._error = f"cannot read the state store: {exc}"
            self._signature = None  # try again at the next check

    def _read_from(self, store: Store) -> None:
        self._files = frozenset(store.output_fingerprints())
        self._items = int(store.meta("items") or 0)
        states = store.source_states().values()
        self._failing = sum(1 for s in states if s.failures)
        self._due = min((s.next_due for s in states if s.next_due is not None), default=None)
        if isinstance(self.state_path, str):  # the last poll or scan: the store's last write
            written = max([s.last_attempt or 0.0 for s in states] + _scans(store, self.posts))
            self._signature = ((int(written * 1e9), 0),) if written else ()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _pg_exists(url: str) -> bool:
    from feeds.store import postgres_backend

    return bool(postgres_backend(url).exists(url, timeout=5.0))


def _scans(store: Store, posts: Sequence[str]) -> list[float]:
    """When the posts sources were last scanned (or failed to be), as recorded in the store."""
    import json

    from feeds.ingest.scan import scan_meta_key

    out: list[float] = []
    for name in posts:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            value = json.loads(store.meta(scan_meta_key(name)) or "{}")
            out.append(max(float(value.get("at") or 0), float(value.get("failed_at") or 0)))
    return out


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
    from feeds.serving.http import start_server

    outputs = StoreOutputs.of(settings, stale_after=settings.serve.stale_seconds(settings.schedule.interval))
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
        outputs.close()
    log.info("stopped")
