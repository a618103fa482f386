"""``feeds run``: keep the feeds fresh in the background (APScheduler 3.x).

One job per source at its interval (with jitter, ``coalesce``, ``max_instances=1``,
a generous ``misfire_grace_time``).  A remote source's job polls it with
:func:`~feeds.pipeline.refresh_source`; a posts source's job rescans its folder
(only new/changed/removed files are read).  After a job that changed anything
the feeds are published again; only files whose content changed are rewritten.
SIGTERM/SIGINT stop the scheduler, let the write in progress finish, close the
store and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from feeds.config import Settings
from feeds.fetch import Fetcher
from feeds.models import Source
from feeds.parallel import Workers
from feeds.publish import publish
from feeds.sources import remote
from feeds.sources.posts import PostScan, scan_posts
from feeds.store import Store

log = logging.getLogger("feeds")


class Daemon:
    def __init__(self, settings: Settings, store: Store, workers: Workers) -> None:
        self.settings = settings
        self.store = store
        self.workers = workers
        self.stopping = asyncio.Event()
        self.publish_lock = asyncio.Lock()
        self.dirty = False
        self.scan: PostScan | None = None
        self.fetcher: Fetcher | None = None
        self.running: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ jobs

    async def job(self, source: Source) -> None:
        """A scheduled job; a stop cancels it quietly (the write in progress still finishes)."""
        task = asyncio.current_task()
        assert task is not None
        self.running.add(task)
        try:
            if source.type == "feed":
                await self.poll_due(source)
            else:
                await self.rescan_posts(source)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
        finally:
            self.running.discard(task)

    async def poll_source(self, source: Source) -> None:
        if self.stopping.is_set() or self.fetcher is None:
            return
        outcome = await remote.refresh_contained(
            source, settings=self.settings, store=self.store, fetcher=self.fetcher, workers=self.workers
        )
        (log.warning if outcome.error else log.info)("poll %s", outcome.line())
        if outcome.changed:
            await self.publish(f"source {source.name}")

    async def rescan_posts(self, source: Source) -> None:
        if self.stopping.is_set():
            return
        started = time.perf_counter()
        scan = await asyncio.to_thread(scan_posts, self.settings, self.store, workers=self.workers)
        previous = self.scan
        self.scan = scan
        for line in scan.problems() if previous is None else []:
            log.warning("%s", line)
        changed = scan.read > 0 or previous is None or len(previous.results) != len(scan.results)
        log.info("scan %s: %d posts, %d read, %.0f ms", source.name, len(scan.results), scan.read,
                 (time.perf_counter() - started) * 1000)  # fmt: skip
        due = scan.next_due(time.time())
        if changed or (previous is not None and previous.next_due(time.time() - source.interval) != due):
            await self.publish(f"posts {source.name}")

    async def publish(self, why: str) -> None:
        async with self.publish_lock:  # one write at a time; a stop waits for it
            if self.scan is None:
                self.scan = await asyncio.to_thread(
                    scan_posts, self.settings, self.store, workers=self.workers
                )
            started = time.perf_counter()
            # shielded: a stop does not interrupt a write in progress (asyncio.run waits for the thread)
            done = await asyncio.shield(asyncio.to_thread(
                publish, self.settings, self.store, self.scan.contexts, now=time.time(), report=log.warning,
                workers=self.workers,
            ))  # fmt: skip
            log.info("publish (%s): %d items, %d files written, %d unchanged, %.0f ms", why, done.items,
                     len(done.written), len(done.unchanged), (time.perf_counter() - started) * 1000)  # fmt: skip

    # ------------------------------------------------------------ running

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig)
        serving = asyncio.create_task(self.serve())
        stopped = asyncio.create_task(self.stopping.wait())
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not serving.done():  # stopped during the first build: drop it (a write in progress finishes)
            serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        stopped.cancel()
        async with self.publish_lock:  # let the write in progress finish
            pass
        log.info("stopped")

    async def serve(self) -> None:
        schedule = self.settings.schedule
        async with Fetcher(
            self.settings.fetch, concurrency=schedule.concurrency, per_host=schedule.per_host
        ) as fetcher:
            self.fetcher = fetcher
            # Build once at start: every due source, then all the posts.
            due = remote.due_sources(self.settings, self.store, time.time())
            await asyncio.gather(*(self.poll_source(s) for s in due))
            for source in self.settings.sources:
                if source.type == "posts":
                    await self.rescan_posts(source)
            await self.publish("start")

            scheduler = AsyncIOScheduler(
                timezone=UTC,
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
            )
            states = self.store.source_states()
            now = datetime.now(UTC)
            for source in self.settings.sources:
                jitter = source.interval * schedule.jitter
                start = now + timedelta(seconds=source.interval)
                state = states.get(source.name)
                if source.type == "feed" and state is not None and state.next_due is not None:
                    start = max(now, datetime.fromtimestamp(state.next_due, UTC))
                scheduler.add_job(
                    self.job,
                    IntervalTrigger(seconds=source.interval, start_date=start, jitter=jitter or None),
                    args=(source,),
                    id=source.name,
                    name=f"{source.type} {source.name}",
                )
            scheduler.start()
            log.info("running: %d sources; SIGTERM or Ctrl-C stops", len(self.settings.sources))
            try:
                await self.stopping.wait()
            finally:
                scheduler.pause()
                for task in list(self.running):  # polls in flight: dropped quietly
                    task.cancel()
                await asyncio.gather(*self.running, return_exceptions=True)
                scheduler.shutdown(wait=False)

    async def poll_due(self, source: Source) -> None:
        """The scheduled job of a remote source: poll unless it is backing off."""
        state = self.store.source_state(source.name)
        if state.next_due is not None and state.next_due > time.time() + 1:
            return  # failing: wait for the backoff / Retry-After
        await self.poll_source(source)

    def stop(self, sig: int) -> None:
        if not self.stopping.is_set():
            log.info("received %s, stopping", signal.Signals(sig).name)
        self.stopping.set()


def run(settings: Settings, store: Store) -> None:
    with Workers() as workers:
        workers.start()
        asyncio.run(Daemon(settings, store, workers).run())
