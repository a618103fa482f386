"""``feeds run``: the posts folders' scans (a part of :class:`feeds.daemon.scheduler.Daemon`) and the ids they need.

A scan runs on a filesystem notification from a posts folder (watchfiles), and
at the source's interval as a fallback; only new and changed files are read.
Requests coalesce: while a scan runs, the ones that arrive make one more scan.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from feeds.config import Settings
from feeds.core.errors import FeedsError, display
from feeds.ingest.scan import scan_posts
from feeds.runtime.workers import Workers
from feeds.sources.posts import PostContext, scanned_here
from feeds.store import Store
from feeds.store.siteids import fix_ids

log = logging.getLogger("feeds")


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, FeedsError) else f"unexpected error: {type(exc).__name__}: {exc}"


class PostScans:
    """The daemon's post scans; the daemon holds the state named here."""

    settings: Settings
    store: Store
    workers: Workers
    stopping: asyncio.Event
    scan_lock: asyncio.Lock
    scan_request: tuple[set[str] | None, str] | None
    contexts: dict[str, PostContext]
    scanned: bool
    folder_problems: set[str]
    unreadable: set[str]
    ids_waiting: bool
    poke: Callable[[], None]
    spawn: Callable[[Coroutine[Any, Any, Any]], None]

    async def scan_job(self, names: list[str] | None = None, why: str = "interval") -> None:
        """Rescan posts folders (``names``, default all); name the bad posts; tell the publisher.

        Requests coalesce: while a scan runs, the ones that arrive are merged into
        one more scan after it (a slow scan never piles up scans behind it).
        """
        if self.stopping.is_set():
            return
        wanted = None if names is None else set(names)
        if self.scan_request is None:
            self.scan_request = (wanted, why)
        else:
            held, _ = self.scan_request
            self.scan_request = (None if held is None or wanted is None else held | wanted, why)
        if self.scan_lock.locked():
            return  # the scan in progress runs this one when it ends
        try:
            async with self.scan_lock:
                while self.scan_request is not None and not self.stopping.is_set():
                    (wanted, why), self.scan_request = self.scan_request, None
                    await self._scan_once(wanted, why)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise

    async def _ids_ready(self) -> bool:
        """Whether the settings carry the ids' recorded authority and base (:mod:`feeds.store.siteids`),
        read from the store (recorded there the first time) before the first scan or publish."""
        if self.settings.site.id_base:
            return True
        try:
            self.settings = await asyncio.to_thread(fix_ids, self.settings, self.store)
        except Exception as exc:
            if not self.ids_waiting:  # once, not at every retry
                log.error("ids: %s; scans and publishes wait for the store", _reason(exc))
            self.ids_waiting = True
            return False
        self.contexts = {}
        if self.ids_waiting:  # the scans skipped meanwhile: one now
            self.ids_waiting = False
            log.info("ids: the store answers again")
            self.spawn(self.scan_job(why="store back"))
        return True

    async def _scan_once(self, wanted: set[str] | None, why: str) -> None:
        if not await self._ids_ready():
            return
        sources = [s for s in scanned_here(self.settings) if wanted is None or s.name in wanted]
        started = time.perf_counter()
        try:
            scan = await asyncio.to_thread(scan_posts, self.settings, self.store, sources=sources,
                                           workers=self.workers)  # fmt: skip
        except Exception as exc:
            log.error("scan %s: %s", ", ".join(s.name for s in sources), _reason(exc))
            return
        self.contexts.update(scan.contexts)
        for source in sources:  # a missing folder: logged when it goes missing, and when it is back
            line = scan.missing.get(source.name)
            if line and source.name not in self.folder_problems:
                log.error("%s", line)
            elif not line and source.name in self.folder_problems:
                log.info("%s: posts folder is back", display(source.path))
            self.folder_problems.discard(source.name)
            if line:
                self.folder_problems.add(source.name)
        for line in sorted(set(scan.unreadable) - self.unreadable):  # a folder inside that cannot be read
            log.warning("%s", line)
        self.unreadable = set(scan.unreadable)
        skip = len(scan.missing) + len(scan.unreadable)
        for line in scan.problems(None if not self.scanned else scan.fresh)[skip:]:
            log.warning("%s", line)
        self.scanned = True
        if scan.changed or why == "start":
            log.info("scan %s: %d posts, %d read, %.0f ms (%s, %d removed)",
                     ",".join(s.name for s in sources), len(scan.results), scan.read,
                     (time.perf_counter() - started) * 1000, why, scan.removed)  # fmt: skip
        if scan.changed:
            self.poke()

    async def watch(self) -> None:
        """Rescan a posts folder as soon as a file in it changes (the interval rescan stays as fallback)."""
        folders = {str(s.path): s.name for s in scanned_here(self.settings) if s.path and s.path.is_dir()}
        if not folders or not self.settings.schedule.watch:
            return
        try:
            from watchfiles import awatch

            # Its own stop event: watchfiles sets it when the watch is cancelled (a reload restarts it).
            done = asyncio.Event()
            self.spawn(self._stop_with_daemon(done))
            async for changes in awatch(*folders, stop_event=done, debounce=150, step=30,
                                        recursive=True, ignore_permission_denied=True):  # fmt: skip
                touched = {name for folder, name in folders.items() for _, path in changes
                           if path == folder or path.startswith(folder.rstrip("/") + "/")}  # fmt: skip
                if touched:
                    await self.scan_job(sorted(touched), why="changed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("file notifications unavailable (%s); posts folders are rescanned at their interval",
                        _reason(exc))  # fmt: skip

    async def _stop_with_daemon(self, done: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(self.stopping.wait())
        finished = asyncio.ensure_future(done.wait())
        try:
            await asyncio.wait({stopping, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            finished.cancel()
        done.set()
