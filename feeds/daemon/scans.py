"""``feeds run``: the posts folders' scans (held by :class:`feeds.daemon.scheduler.Daemon`) and the ids they need.

A scan runs on a filesystem notification from a posts folder (watchfiles), and
at the source's interval as a fallback; only new and changed files are read.
Requests coalesce: while a scan runs, the ones that arrive make one more scan.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from feeds.config import Settings
from feeds.core.errors import display, reason
from feeds.core.text import counted
from feeds.ingest.scan import scan_paths, scan_posts
from feeds.runtime.workers import Workers
from feeds.sources.posts import PostContext, may_hold_posts, scanned_here
from feeds.store import Store
from feeds.store.siteids import fix_ids

log = logging.getLogger("feeds")


class Host(Protocol):
    """What the scans use of the daemon that holds them."""

    settings: Settings  # the daemon's current settings (replaced on a reload; the ids fixed here)
    store: Store
    workers: Workers
    stopping: asyncio.Event

    def poke(self) -> None: ...  # something changed: publish
    def spawn(self, work: Coroutine[Any, Any, Any]) -> None: ...  # run in the background


class PostScanner:
    """The daemon's post scans: requested by a notification, an interval or a reload; one at a time."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.scan_lock = asyncio.Lock()
        self.scan_request: tuple[set[str] | None, str] | None = None  # the next scan to run: sources, why
        self.contexts: dict[str, PostContext] = {}  # what each posts source's files were read with
        self.scanned = False  # the first scan names every bad post; later ones the changed files
        self.folder_problems: set[str] = set()
        self.unreadable: set[str] = set()  # folders inside the posts folders that cannot be read, as logged
        self.ids_waiting = False  # the store did not answer when the ids' authority was read
        self.notified: dict[str, set[str]] = {}  # paths a notification named since their source's last scan
        self.watcher: asyncio.Task[None] | None = None

    def rewatch(self) -> None:
        """(Re)start watching the posts folders (at the start, and after a reload)."""
        if self.watcher is not None:
            self.watcher.cancel()
        self.watcher = asyncio.get_running_loop().create_task(self.watch())

    async def scan_job(self, names: list[str] | None = None, why: str = "interval") -> None:
        """Rescan posts folders (``names``, default all); name the bad posts; tell the publisher.

        Requests coalesce: while a scan runs, the ones that arrive are merged into
        one more scan after it (a slow scan never piles up scans behind it).
        """
        if self.host.stopping.is_set():
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
                while self.scan_request is not None and not self.host.stopping.is_set():
                    (wanted, why), self.scan_request = self.scan_request, None
                    await self._scan_once(wanted, why)
        except asyncio.CancelledError:
            if not self.host.stopping.is_set():
                raise

    async def ids_ready(self) -> bool:
        """Whether the settings carry the ids' recorded authority and base (:mod:`feeds.store.siteids`),
        read from the store (recorded there the first time) before the first scan or publish."""
        if self.host.settings.site.id_base:
            return True
        try:
            self.host.settings = await asyncio.to_thread(fix_ids, self.host.settings, self.host.store)
        except Exception as exc:
            if not self.ids_waiting:  # once, not at every retry
                log.error("ids: %s; scans and publishes wait for the store", reason(exc))
            self.ids_waiting = True
            return False
        self.contexts = {}
        if self.ids_waiting:  # the scans skipped meanwhile: one now
            self.ids_waiting = False
            log.info("ids: the store answers again")
            self.host.spawn(self.scan_job(why="store back"))
        return True

    async def _scan_once(self, wanted: set[str] | None, why: str) -> None:
        if not await self.ids_ready():
            return
        sources = [s for s in scanned_here(self.host.settings) if wanted is None or s.name in wanted]
        started = time.perf_counter()
        # A notification's scan reads only the paths it named (cost of the change, not of the folder),
        # when it can; a whole scan covers what was named before it.
        named = {s.name: self.notified.pop(s.name, set()) for s in sources}
        try:
            scan = None
            if why == "changed" and len(sources) == 1 and named[sources[0].name]:
                scan = await asyncio.to_thread(scan_paths, self.host.settings, self.host.store, sources[0],
                                               named[sources[0].name])  # fmt: skip
            whole = scan is None
            if scan is None:
                scan = await asyncio.to_thread(scan_posts, self.host.settings, self.host.store, sources=sources,
                                               workers=self.host.workers)  # fmt: skip
        except Exception as exc:
            log.error("scan %s: %s", ", ".join(s.name for s in sources), reason(exc))
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
        if whole:
            for line in sorted(set(scan.unreadable) - self.unreadable):  # a folder inside that cannot be read
                log.warning("%s", line)
            self.unreadable = set(scan.unreadable)
        skip = len(scan.missing) + len(scan.unreadable)
        for line in scan.log_lines(None if not self.scanned else scan.fresh)[skip:]:
            log.warning("%s", line)
        self.scanned = True
        if scan.changed or why == "start":
            log.info("scan %s: %s, %d read, %.0f ms (%s, %d removed)",
                     ",".join(s.name for s in sources), counted(len(scan.results), "post"), scan.read,
                     (time.perf_counter() - started) * 1000, why, scan.removed)  # fmt: skip
        if scan.changed:
            self.host.poke()

    async def watch(self) -> None:
        """Rescan a posts folder as soon as a file in it changes (the interval rescan stays as fallback)."""
        folders = {str(s.path): s.name for s in scanned_here(self.host.settings) if s.path and s.path.is_dir()}
        if not folders or not self.host.settings.schedule.watch:
            return

        def wanted(_: object, path: str) -> bool:  # only what a scan reads: never the store's own writes
            return any(may_hold_posts(folder, path) for folder in folders
                       if path == folder or path.startswith(folder.rstrip("/") + "/"))  # fmt: skip

        try:
            from watchfiles import awatch

            logging.getLogger("watchfiles").setLevel(logging.WARNING)  # not "1 change detected" per change
            # Its own stop event: watchfiles sets it when the watch is cancelled (a reload restarts it).
            done = asyncio.Event()
            self.host.spawn(self._stop_with_daemon(done))
            async for changes in awatch(*folders, stop_event=done, debounce=150, step=30, watch_filter=wanted,
                                        recursive=True, ignore_permission_denied=True):  # fmt: skip
                touched = {name for folder, name in folders.items() for _, path in changes
                           if path == folder or path.startswith(folder.rstrip("/") + "/")}  # fmt: skip
                for folder, name in folders.items():
                    inside = folder.rstrip("/") + "/"
                    self.notified.setdefault(name, set()).update(p for _, p in changes if p.startswith(inside))
                    if any(p == folder for _, p in changes):  # the folder itself: a whole scan
                        self.notified[name].add(folder)
                if touched:
                    await self.scan_job(sorted(touched), why="changed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("file notifications unavailable (%s); posts folders are rescanned at their interval",
                        reason(exc))  # fmt: skip

    async def _stop_with_daemon(self, done: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(self.host.stopping.wait())
        finished = asyncio.ensure_future(done.wait())
        try:
            await asyncio.wait({stopping, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            finished.cancel()
        done.set()
