"""The stages, chained once: ``feeds build`` and ``feeds check``.

    config -> sources (remote: poll the due ones | posts: scan) -> store
           -> publish (merge what changed, write the feeds that changed)

The daemon (:mod:`feeds.daemon.scheduler`) calls the same stage functions on its schedule.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from feeds.config import Settings
from feeds.core.errors import StoreError, display
from feeds.core.models import BuildReport
from feeds.core.text import counted
from feeds.ingest.poll import PollOutcome, due_sources, poll, remote_sources
from feeds.ingest.scan import scan_posts
from feeds.output.publish import Report, publish
from feeds.runtime.workers import Workers
from feeds.store import Store, open_store, postgres_backend
from feeds.store.siteids import fix_ids, placeholder_warning

# What the workers of a build import (reading posts in full, rendering entries) and this process needs
# too: imported once before the fork, not once in each worker.
FORKED_NEEDS = ("ctypes", "cmarkgfm", "lxml.html", "feedgen.feed", "feedgen.ext.dc", "feedgen.ext.media",
                "feeds.output.render")  # fmt: skip


def _quiet(_: str) -> None:
    pass


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC: a build makes ~10 small objects per post and frees them together."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _pool() -> Iterator[Workers]:
    """A build's workers, not started: the results are in when the build ends, so their exit is not
    waited for (~10-50 ms; it overlaps what follows, and the interpreter's exit joins them)."""
    workers = Workers(preload=FORKED_NEEDS)
    try:
        yield workers
    finally:
        workers.close(wait=False)


def build(
    settings: Settings,
    *,
    store: Store | None = None,
    force: bool = False,
    now: datetime | None = None,
    report: Report = _quiet,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> BuildReport:
    """Poll the due remote sources, scan the posts, publish (``feeds build``).

    Bad posts and failing sources are reported and skipped; the rest is built.
    A posts folder that is missing or unreadable is reported too, and its
    posts' last known items stay in the feeds (``BuildReport.failed``).
    """
    if store is None:
        with open_store(settings) as opened:
            return build(settings, store=opened, force=force, now=now, report=report, progress=progress,
                         on_total=on_total)  # fmt: skip
    started = time.perf_counter()
    if warning := placeholder_warning(settings):
        report(f"{display(settings.path)}: warning: {warning}")
    settings = fix_ids(settings, store)  # ids do not follow site.url: recorded by the first build
    clock = (now or datetime.now(UTC)).timestamp()
    # The pool forks at its first task (the scan of a big site, while this process is still small);
    # a small site needs none.
    with _no_gc(), _pool() as workers:
        polled: list[PollOutcome] = []
        store.forget_sources(s.name for s in remote_sources(settings))
        due = due_sources(settings, store, clock, force=force)
        if due and store.clustered:  # nodes share the store: poll only what no node is polling
            claimed = set(store.claim_due(due, clock, settings.lease, len(due), force=force).granted)
            due = [s for s in due if s.name in claimed]
        if due:
            import asyncio

            try:
                polled = asyncio.run(poll(settings, store, due, workers=workers))
            finally:
                if store.clustered:
                    store.release([s.name for s in due])
        scan = scan_posts(settings, store, workers=workers, progress=progress, on_total=on_total, full=True)
        lines = scan.problems() + [outcome.line() for outcome in polled if outcome.error]
        for line in lines:
            report(line)
        at = now.timestamp() if now else time.time()  # after polling: entries first seen just now are due
        done = publish(settings, store, scan.contexts, now=at, report=report, workers=workers, read=scan.full)
        scan.full.clear()
    return BuildReport(
        posts_read=len(scan.results),
        posts_skipped=len(scan.errors),
        posts_cached=len(scan.results) - scan.read,
        items=done.items,
        written=done.written,
        unchanged=done.unchanged,
        removed=done.removed,
        problems=tuple(lines),
        seconds=time.perf_counter() - started,
        polled=len(polled),
        poll_failures=sum(1 for o in polled if o.error),
        failed=tuple(scan.missing.values()),
    )


def check(settings: Settings) -> list[str]:
    """Every problem with the posts (the config was already validated by loading it), and a
    PostgreSQL store (``[state] url``) whose driver is not installed."""
    problems = []
    if settings.state_url:
        try:
            postgres_backend(settings.state_url)
        except StoreError as exc:
            problems.append(str(exc))
    return problems + scan_posts(settings).problems()


def summary(report: BuildReport) -> str:
    polled = f"{counted(report.polled, 'source')} polled ({report.poll_failures} failed), " if report.polled else ""
    removed = f", {len(report.removed)} removed" if report.removed else ""
    return (
        f"{polled}{counted(report.posts_read, 'post')} read ({report.posts_cached} cached), "
        f"{report.posts_skipped} skipped, {counted(report.items, 'item')}; {counted(len(report.written), 'file')} "
        f"written, {len(report.unchanged)} unchanged{removed} in {report.seconds:.2f}s"
    )
