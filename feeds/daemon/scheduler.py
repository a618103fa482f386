"""``feeds run``: keep the feeds fresh in the background.

Three kinds of work, each calling the same stage functions as ``feeds build``:

* **polls** — one APScheduler 3 job per remote source at its interval (with
  jitter); a poll only stores what it fetched (:func:`refresh_contained`) and
  tells the publisher; it never waits for a publish;
* **post scans** — on a filesystem notification from a posts folder
  (watchfiles), and at the source's interval as a fallback; only new and
  changed files are read;
* **the publisher** — one task that writes the feeds when something changed,
  coalescing everything that changed since its last run (``schedule.publish_delay``);
  a publish costs what changed (:func:`feeds.output.publish.publish`).

Failures are contained: an error in one poll, scan or publish is logged once
with its source and reason, and that job runs again at its next time.
Signals: SIGTERM/SIGINT stop (a write in progress finishes; exit 0); SIGHUP
reloads the config (a bad one is logged and the old one kept); SIGUSR1 polls
every source and rescans every posts folder now (``feeds build --force`` sends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from feeds import config
from feeds.config import Settings
from feeds.core.errors import ConfigError, FeedsError, display, reason
from feeds.core.models import Source
from feeds.core.text import counted
from feeds.daemon.cluster import ClusterPolls
from feeds.daemon.scans import PostScanner
from feeds.ingest import poll as remote
from feeds.ingest.parsing import Parsed
from feeds.output.publish import publish
from feeds.output.render import Renderer
from feeds.runtime.workers import Workers, limit_malloc_arenas, trim_memory
from feeds.serving.health import HealthMonitor
from feeds.serving.http import start_server
from feeds.serving.metrics import Metrics
from feeds.serving.websub import HubNotifier, changed_feed_urls
from feeds.sources.fetch import Fetcher
from feeds.sources.posts import post_context, posts_sources, scanned_here
from feeds.store import Store
from feeds.store.siteids import placeholder_warning

log = logging.getLogger("feeds")

# What the workers run (reading posts, parsing feeds, sketching, rendering) imports these.  Imported
# before the fork, their memory is shared by every worker instead of each importing its own copy
# (about 15 MB a worker: the daemon's tree was 268 MB at its peak under the soak).
SHARED_MODULES = (
    "lxml.etree", "lxml.html", "feedgen.feed", "feedgen.ext.dc", "feedgen.ext.media", "feedparser",
    "cmarkgfm", "nh3", "yaml", "frontmatter", "feeds.output.formats.feedgen", "feeds.output.render",
    "feeds.sources.feedparse", "feeds.sources.postfile", "feeds.core.neardup", "numpy", "feeds.core.neardup_minhash",
    "feeds.core.neardup_index",
)  # fmt: skip
RETRY_PUBLISH = 5.0  # seconds before a failed publish is tried again
HOUSEKEEPING = 5.0  # seconds between the store's housekeeping runs
MAX_SLEEP = 60.0  # the publisher looks at the clock at least this often (future-dated items)
START_HOLD = 5.0  # seconds at most that the start's polls wait for the stored feeds and the posts to be out


def _not_a_cancelled_job(record: logging.LogRecord) -> bool:
    """APScheduler logs a job cancelled at shutdown (before its coroutine even started) as an error with a
    traceback; our jobs contain their own errors, so that is the only one it can log: not an error."""
    return not (record.exc_info and record.exc_info[0] is asyncio.CancelledError)


logging.getLogger("apscheduler.executors.default").addFilter(_not_a_cancelled_job)


class Daemon:
    def __init__(self, settings: Settings, store: Store, workers: Workers, listen: str | None = None) -> None:
        self.settings = settings
        self.listen = listen
        self.metrics = Metrics() if listen and settings.serve.metrics else None
        self.health = HealthMonitor(settings.serve.stale_seconds(settings.schedule.interval))
        self.outputs: frozenset[str] = frozenset()  # the files feeds wrote: what the server may serve
        self.hubs: HubNotifier | None = None
        self.renderer = Renderer()  # the feeds' items as rendered, kept between publishes
        self.store = store
        self.workers = workers
        self.stopping = asyncio.Event()
        self.changed = asyncio.Event()  # something to publish
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 4,
                                                                      "misfire_grace_time": 3600})  # fmt: skip
        self.fetcher: Fetcher | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.polling: set[str] = set()  # sources with a poll in flight
        self.parsed: dict[str, Parsed] = {}  # each source's last body stored: the next parses only what changed
        # Polls at once, fetch to store: `concurrency`.  A body is fetched only when its poll can be
        # parsed and stored at once: fetched ahead (every due source at the start), 300 bodies waited
        # up to 4 s for a slot, held in memory, and their items were that much older when they came
        # out (an item's freshness counts from its fetch).  Unbounded, a start with 300 sources due
        # made each poll wait for all the others' parsing (one queue for the workers); 16 overlap the
        # stages of the polls (2 x workers drained a 300-source start in ~40 s, 16 in ~20 s).
        self.processing = asyncio.Semaphore(settings.schedule.concurrency)
        self.publish_lock = asyncio.Lock()
        self.publishing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
        self.scans = PostScanner(self)  # the posts folders' scans
        # The start publishes what the store holds and the posts (thousands of items to render when none
        # is yet: seconds) before it polls: polled meanwhile, items waited for that publish and the next.
        self.posts_out = asyncio.Event()
        self.hold_until = 0.0
        self.cluster = ClusterPolls(self)  # several nodes on one store: claiming a source before a poll
        self.publish_failure: str | None = None  # the last publish failure logged
        self.first_polls: set[str] = set()  # sources due at the start whose first poll has not ended
        self.publishes = 0  # publishes done

    # ------------------------------------------------------------ helpers

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def poke(self) -> None:
        self.changed.set()

    # ------------------------------------------------------------ polls

    async def poll_job(self, name: str, force: bool = False) -> None:
        """A remote source's scheduled job: poll it unless it is backing off (or already polling)."""
        source = next((s for s in remote.polled_here(self.settings) if s.name == name), None)
        if source is None or self.fetcher is None or self.stopping.is_set() or name in self.polling:
            return
        self.polling.add(name)
        try:
            if not self.posts_out.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.posts_out.wait(), timeout=max(0.0, self.hold_until - time.time()))
            if self.store.clustered:  # several nodes: poll only what this one claimed (due, not backing off)
                await self.cluster.poll(source, force)
                return
            if not force:
                state = await asyncio.to_thread(self.store.source_state, name, counts=False)
                if state.failures and state.next_due is not None and state.next_due > time.time() + 1:
                    return  # failing: wait for the backoff / Retry-After
            await self.poll_once(source)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
        except Exception as exc:  # contained: this source is polled again at its next time
            log.error("poll %s: %s", name, reason(exc))
        finally:
            self.polling.discard(name)
            self.first_polls.discard(name)

    async def poll_once(self, source: Source) -> None:
        assert self.fetcher is not None
        async with self.processing:
            outcome = await remote.refresh_contained(source, settings=self.settings, store=self.store,
                                                     fetcher=self.fetcher, workers=self.workers,
                                                     memo=self.parsed)  # fmt: skip
        (log.warning if outcome.error else log.info)("poll %s", outcome.line())
        self.health.polled(source.name, ok=outcome.error is None, next_due=outcome.next_due)
        if self.metrics:
            self.metrics.poll(outcome.outcome.replace(" ", "_"), outcome.ms / 1000)
        if outcome.changed:
            self.poke()

    # ------------------------------------------------------------ publishing

    async def publisher(self) -> None:
        """Publish whenever something changed, coalescing changes; at a future item's date too."""
        delay = self.settings.schedule.publish_delay
        # A publish that finds nothing to do is cheap: do one often enough that /healthz stays fresh.
        heartbeat = min(MAX_SLEEP, self.health.stale_after / 3)
        while not self.stopping.is_set():
            try:
                due = await asyncio.to_thread(self.store.meta, "next_due")
            except FeedsError:  # the store is unavailable (a database away): try again soon
                due = time.time() + RETRY_PUBLISH  # then a publish, which tells of the failure
            wait = heartbeat
            with contextlib.suppress(TypeError, ValueError):
                wait = min(heartbeat, max(0.0, float(due or "inf") - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=wait)
            if self.stopping.is_set():
                break
            # Let what changes together arrive together (and no longer: during the start's backlog too,
            # each publish costs what changed since the last).
            await asyncio.sleep(delay)
            self.changed.clear()
            if not await self.publish_now():
                await asyncio.sleep(RETRY_PUBLISH)
                self.poke()

    async def publish_now(self) -> bool:
        if not await self.scans.ids_ready():
            return False
        async with self.publish_lock:  # one write at a time; a stop waits for it
            started = time.perf_counter()
            scanned = self.scans.scanned or not scanned_here(self.settings)  # the posts are in the store
            contexts = {s.name: self.scans.contexts.get(s.name) or post_context(self.settings, s)
                        for s in posts_sources(self.settings)}  # fmt: skip
            try:
                # shielded: a stop does not interrupt a write in progress (asyncio.run waits for the thread)
                job = functools.partial(publish, self.settings, self.store, contexts, now=time.time(),
                                        report=log.warning, workers=self.workers, renderer=self.renderer)  # fmt: skip
                # one thread for every publish: its large, short-lived allocations reuse one arena
                done = await asyncio.shield(asyncio.get_running_loop().run_in_executor(self.publishing, job))
            except Exception as exc:
                self.posts_out.set()  # no poll waits for a publish that fails
                if reason(exc) != self.publish_failure:  # the same failure again is not logged again
                    log.error("publish: %s", reason(exc))
                self.publish_failure = reason(exc)
                if self.metrics:
                    self.metrics.publish_failed()
                return False
            if self.publish_failure is not None:
                log.info("publish: works again")
                self.publish_failure = None
            self.publishes += 1
            if scanned:
                self.posts_out.set()
            seconds = time.perf_counter() - started
            if done.written:
                trim_memory()
            self.outputs = frozenset(done.files)
            self.health.published(done.items)
            if self.metrics:
                self.metrics.publish(seconds, written=len(done.written), at=time.time())
                self.metrics.items_stored(done.items)
            if self.hubs is not None and done.written:
                self.hubs.notify(changed_feed_urls(self.settings, done.written))
            if done.written or done.removed or done.settled:
                log.info("publish: %s, %s written, %d unchanged, %.0f ms, %d removed, %d merged",
                         counted(done.items, "item"), counted(len(done.written), "file"), len(done.unchanged),
                         (time.perf_counter() - started) * 1000, len(done.removed), done.settled)  # fmt: skip
            return True

    async def housekeeping(self) -> None:
        """The store's housekeeping every few seconds (SQLite: WAL checkpoints, off the commits), and
        free memory given back to the system."""
        while not self.stopping.is_set():
            try:
                await asyncio.to_thread(self.store.maintain)
            except Exception as exc:
                log.warning("store housekeeping: %s", reason(exc))
            # Memory: what the polls' threads freed goes back too (publishes trim after writing).
            await asyncio.to_thread(trim_memory)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=HOUSEKEEPING)

    # ------------------------------------------------------------ scheduling

    def schedule(self, sources: list[Source], states: dict[str, Any]) -> None:
        now = time.time()
        jitter = self.settings.schedule.jitter
        for source in sources:
            if source.remote:
                first = max(now, remote.due_at(source, states.get(source.name)))
                func, args = self.poll_job, (source.name,)
            else:
                first = now + source.interval
                func, args = self.scans.scan_job, ([source.name],)
            self.scheduler.add_job(
                func,
                IntervalTrigger(
                    seconds=source.interval,
                    start_date=datetime.fromtimestamp(first, UTC),
                    jitter=source.interval * jitter or None,
                ),
                args=args,
                id=source.name,
                name=f"{source.type} {source.name}",
                replace_existing=True,
                next_run_time=datetime.fromtimestamp(first, UTC),
            )

    def force(self) -> None:
        """SIGUSR1: poll every remote source and rescan every posts folder now."""
        log.info("received SIGUSR1: polling every source now")
        for source in remote.polled_here(self.settings):
            self.spawn(self.poll_job(source.name, force=True))
        self.spawn(self.scans.scan_job(why="forced"))

    def reload(self, path: Path) -> None:
        """SIGHUP: read the config again; sources added, removed or changed; a bad config is ignored."""
        try:
            new = config.load(path)
        except ConfigError as exc:
            log.error("reload: %s; keeping the running config", exc)
            return
        if (new.output.dir, new.state_path, new.state_url) != (self.settings.output.dir, self.settings.state_path,
                                                                self.settings.state_url):
            log.error("reload: output.dir and state.path cannot change while running; restart feeds run")
            return
        old = {s.name: s for s in self.settings.sources}
        fresh = {s.name: s for s in new.sources}
        for name in old.keys() - fresh.keys():
            self.parsed.pop(name, None)
            with contextlib.suppress(Exception):
                self.scheduler.remove_job(name)
        changed = [s for s in new.sources if old.get(s.name) != s]
        self.settings = new
        self.scans.contexts = {}
        self.spawn(self._apply_reload(changed))
        log.info("reload: %s (%d added, %d removed, %d changed)", counted(len(fresh), "source"),
                 len(fresh.keys() - old.keys()), len(old.keys() - fresh.keys()),
                 len([s for s in changed if s.name in old]))  # fmt: skip

    async def _apply_reload(self, changed: list[Source]) -> None:
        try:
            await asyncio.to_thread(self.store.forget_sources, [s.name for s in remote.remote_sources(self.settings)])
            states = await asyncio.to_thread(self.store.source_states)
        except Exception as exc:
            log.error("reload: %s", reason(exc))
            states = {}
        self.schedule(changed, states)
        self.scans.rewatch()
        await self.scans.scan_job(why="reload")
        self.poke()

    # ------------------------------------------------------------ running

    async def run(self, config_path: Path) -> None:
        if warning := placeholder_warning(self.settings):
            log.warning("%s: %s", display(config_path), warning)
        async with contextlib.AsyncExitStack() as stack:
            if self.settings.websub.hubs:
                self.hubs = await stack.enter_async_context(HubNotifier.from_settings(self.settings,
                                                                                      metrics=self.metrics))
            if self.listen:
                self.outputs = frozenset(await asyncio.to_thread(self.store.output_fingerprints))
                try:
                    server = await start_server(self.settings, listen=self.listen, files=lambda: self.outputs,
                                                health=self.health if self.settings.serve.health else None,
                                                metrics=self.metrics)  # fmt: skip
                except OSError as exc:
                    raise FeedsError(f"cannot serve at {self.listen}: {exc.strerror or exc}") from None
                stack.push_async_callback(server.close)
            served = f"serving {display(self.settings.output.dir)} at {server.url}" if self.listen else (
                f"writing {display(self.settings.output.dir)} (not served: no --listen or [serve] listen)")
            log.info("%s; the feeds' self links point at %s", served, self_links(self.settings))
            await self._run(config_path)

    async def _run(self, config_path: Path) -> None:
        loop = asyncio.get_running_loop()
        # Store calls run on threads (never on the loop).  A write waits for SQLite's lock; with
        # the default 6 threads, polls' writes waiting in turn starved every read behind them
        # (polls took seconds under load).  Reads never wait in WAL mode: give them threads (each
        # has its connection and page cache).  Since at most 2 x workers polls store at once (and
        # the source states of the others are small, urgent writes), 8 are enough (memory: 16).
        loop.set_default_executor(ThreadPoolExecutor(max_workers=8, thread_name_prefix="store"))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig)
        loop.add_signal_handler(signal.SIGHUP, self.reload, config_path)
        loop.add_signal_handler(signal.SIGUSR1, self.force)
        schedule = self.settings.schedule
        async with Fetcher(self.settings.fetch, concurrency=schedule.concurrency, per_host=schedule.per_host) as f:
            self.fetcher = f
            try:
                await asyncio.to_thread(self.store.forget_sources,
                                        [s.name for s in remote.remote_sources(self.settings)])  # fmt: skip
                states = await asyncio.to_thread(self.store.source_states)
            except FeedsError as exc:
                log.error("%s", exc)
                states = {}
            now = time.time()
            self.hold_until = now + START_HOLD
            self.first_polls = {s.name for s in remote.polled_here(self.settings)
                                if remote.due_at(s, states.get(s.name)) <= now + 1}  # fmt: skip
            self.spawn(self.catch_up(now, len(self.first_polls)))
            self.schedule(list(self.settings.sources), states)
            self.scheduler.start()
            self.spawn(self.housekeeping())
            # several nodes: hear of the others' changes (and settle them while leading)
            stop_watching = self.store.watch(lambda _event: loop.call_soon_threadsafe(self.poke))
            publisher = loop.create_task(self.publisher())
            self.scans.rewatch()
            self.spawn(self.scans.scan_job(why="start"))
            self.poke()  # publish what the store holds at once, whatever the polls bring later
            log.info("running: %s; SIGTERM or Ctrl-C stops, SIGHUP reloads, SIGUSR1 polls now",
                     counted(len(self.settings.sources), "source"))  # fmt: skip
            try:
                await self.stopping.wait()
            finally:
                self.scheduler.shutdown(wait=False)
                running = [*self.tasks, publisher, *filter(None, [self.scans.watcher])]
                for task in running:  # polls and scans in flight are dropped quietly
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                async with self.publish_lock:  # a write in progress finishes
                    pass
                await asyncio.to_thread(stop_watching)
        log.info("stopped")

    async def catch_up(self, started: float, sources: int) -> None:
        """Log ``caught up`` once the backlog of the start is out: every source due at the start
        polled once (a poll fetches only once it can be stored: none holds fetched items waiting),
        the posts scanned, and a publish done after all that.  (A start with many sources
        has thousands of new items to store and render at once; from this line on, a new item is
        out within seconds: the soak benchmark measures freshness from it.)"""
        # (A poll waiting for its slot has fetched nothing yet: it holds back no item.)
        scanning = bool(scanned_here(self.settings))
        while self.first_polls or (scanning and not self.scans.scanned):
            await asyncio.sleep(0.1)
        done = self.publishes + self.publish_lock.locked()  # (one in progress may predate the last poll)
        self.poke()
        while self.publishes <= done:
            await asyncio.sleep(0.1)
        items = await asyncio.to_thread(self.store.meta, "items")
        log.info("caught up in %.1f s: %s polled, %s out", time.time() - started, counted(sources, "source"),
                 counted(int(items or 0), "item"))  # fmt: skip

    def stop(self, sig: int) -> None:
        if not self.stopping.is_set():
            log.info("received %s, stopping", signal.Signals(sig).name)
        self.stopping.set()


def self_links(settings: Settings) -> str:
    """Where the feeds' self links point, and which setting says so."""
    output = settings.output
    why = "output.url" if output.url_set else "site.url" if output.url == settings.site.url else "[serve] listen"
    return f"{output.url} ({why})"


def run(settings: Settings, store: Store, *, listen: str | None = None) -> None:
    """``feeds run``; with ``listen`` ("host:port") the output folder is served too."""
    limit_malloc_arenas(1)
    # Threads hand the GIL over every 1 ms instead of 5: a store thread that released it for a
    # SQLite statement (holding the write lock) got it back after the busy threads' whole slice.
    sys.setswitchinterval(0.001)
    with Workers(preload=SHARED_MODULES) as workers:
        workers.start()
        daemon = Daemon(settings, store, workers, listen)
        try:
            asyncio.run(daemon.run(settings.path))
        finally:
            daemon.publishing.shutdown(wait=True)  # a write in progress finishes
    log.debug("workers closed")

