"""A remote source: fetch (conditional GET) -> parse -> store, with backoff.

:func:`refresh_source` polls one source and records the outcome; it is the one
function that ``feeds build``, the daemon's scheduler and a forced poll share.
It never raises for a source's fault: the failure is recorded, and the source
backs off (doubling, capped, at least Retry-After).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from feeds.config import Settings
from feeds.core.errors import FeedParseError, FeedsError, FetchError, reason
from feeds.core.models import Item, ParsedFeed, Source
from feeds.ingest.parsing import Job, Parsed, parse_changed, stored
from feeds.runtime.workers import Workers
from feeds.store import NearDup, SourceState, Store, UnknownKeys

if TYPE_CHECKING:  # httpx and asyncio are imported only when a remote source is polled
    from feeds.sources.fetch import Fetcher

log = logging.getLogger("feeds")


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of one remote source did (one log line)."""

    source: str
    outcome: str  # "updated", "unchanged", "not modified", "failed"
    new: int = 0
    updated: int = 0
    ms: float = 0.0
    error: str | None = None
    next_due: float | None = None
    steps: str = ""  # where an update's time went: "fetch N, wait N, parse N, merge N, store N ms"

    @property
    def changed(self) -> bool:
        return self.new > 0 or self.updated > 0

    def line(self) -> str:
        if self.error:
            return f"{self.source}: failed after {self.ms:.0f} ms: {self.error}"
        steps = f" ({self.steps})" if self.steps else ""
        return f"{self.source}: {self.outcome}, {self.new} new, {self.updated} updated, {self.ms:.0f} ms{steps}"


def backoff(settings: Settings, source: Source, failures: int, retry_after: float | None) -> float:
    """Seconds to wait after ``failures`` consecutive failures: doubling, capped; at least Retry-After."""
    delay = min(settings.schedule.max_backoff, source.interval * 2 ** min(failures, 30))
    if retry_after is not None:
        delay = max(delay, min(retry_after, 7 * 86400.0))
    return delay


async def refresh_source(
    source: Source,
    *,
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    workers: Workers | None = None,
    now: float | None = None,
    processing: AbstractAsyncContextManager[Any] | None = None,
    memo: MutableMapping[str, Parsed] | None = None,
) -> PollOutcome:
    """Poll one remote source once and record the outcome in the store. Never raises for a source's fault.

    ``processing``: held from the parse to the store (the daemon bounds how many polls do that at once).
    ``memo``: what the last body of each source stored was made of (:mod:`feeds.ingest.parsing`):
    with it, a body is parsed without the entries it shares with the last one (the daemon keeps one).
    """
    from asyncio import to_thread  # loaded already: this runs on its loop

    assert source.url is not None
    started = time.perf_counter()
    when = now if now is not None else time.time()
    # (the store is never used on the event loop; a poll needs no count of the source's items)
    old = await to_thread(store.source_state, source.name, counts=False)
    state = replace(old, url=source.url, last_attempt=when)

    def ms() -> float:
        return (time.perf_counter() - started) * 1000

    async def failed(reason: str, retry_after: float | None = None) -> PollOutcome:
        failures = old.failures + 1
        due = when + backoff(settings, source, failures, retry_after)
        await to_thread(store.save_source, replace(state, failures=failures, next_due=due, last_error=reason))
        return PollOutcome(source.name, "failed", ms=ms(), error=reason, next_due=due)

    try:
        result = await fetcher.fetch(source, etag=old.etag, last_modified=old.last_modified)
    except FetchError as exc:
        return await failed(exc.reason, exc.retry_after)
    due = when + source.interval
    ok = replace(
        state,
        etag=result.etag,
        last_modified=result.last_modified,
        last_success=when,
        failures=0,
        next_due=due,
        last_error=None,
    )
    if result.not_modified:
        await to_thread(store.save_source, ok)
        return PollOutcome(source.name, "not modified", ms=ms(), next_due=due)
    body = result.body or b""
    digest = hashlib.sha256(body).hexdigest()
    if digest == old.body_hash:
        await to_thread(store.save_source, ok)
        return PollOutcome(source.name, "unchanged", ms=ms(), next_due=due)
    fetched = ms()
    async with processing or nullcontext():
        return await _process(source, settings, store, fetcher, workers, result, ok, digest, when, ms, failed,
                              fetched, memo)  # fmt: skip


async def _process(
    source: Source, settings: Settings, store: Store, fetcher: Fetcher, workers: Workers | None, result: Any,
    ok: SourceState, digest: str, when: float, ms: Callable[[], float],
    failed: Callable[[str], Awaitable[PollOutcome]], fetched: float, memo: MutableMapping[str, Parsed] | None,
) -> PollOutcome:  # fmt: skip
    """Parse a fetched body, then store its items (see :func:`refresh_source`)."""
    from asyncio import to_thread

    body = result.body or b""
    due = when + source.interval
    waited = ms()  # for a processing slot
    args = (
        body,
        result.url,
        source,
        settings.identity_patterns,
        datetime.fromtimestamp(when, UTC),
        result.header("content-type"),
        result.header("content-location"),
        settings.site.timezone,
        # A source's first poll: every item is new, sketched where it is parsed (not sent to a worker again).
        ok.body_hash is None and settings.merge.near_duplicates and not source.full_text,
    )
    # The entries of the last body this process stored, when that is the body the store holds now.
    last = memo.pop(source.name, None) if memo is not None else None
    if last is not None and last.body != ok.body_hash:
        last = None
    try:
        parsed, ready, seen, made = await _parse(workers, source, (*args, last))
    except FeedParseError as exc:
        return await failed(exc.reason)
    for warning in parsed.warnings:
        log.warning("%s: %s", source.name, warning)
    marks = [fetched, waited, ms()]
    items, sketches, near = await _merger_steps(settings, store, source, parsed, fetcher, workers, when, ready)
    marks.append(ms())
    try:
        new, updated = await to_thread(store.save_poll, replace(ok, body_hash=digest), items, parsed.undated, when,
                                       sketches=sketches, near=near, seen=seen)  # fmt: skip
    except UnknownKeys:  # an entry taken as stored is not (its items were removed meanwhile): all of it again
        return await _process(source, settings, store, fetcher, workers, result, ok, digest, when, ms, failed,
                              fetched, None)  # fmt: skip
    if memo is not None and made is not None:
        memo[source.name] = stored(made, digest)
    marks.append(ms())
    steps = ", ".join(f"{name} {b - a:.0f}" for name, a, b in zip(("fetch", "wait", "parse", "merge", "store"),
                                                                   [0.0, *marks[:-1]], marks, strict=True))  # fmt: skip
    return PollOutcome(source.name, "updated" if new or updated else "unchanged", new, updated, marks[-1],
                       next_due=due, steps=f"{steps} ms")  # fmt: skip


async def _parse(workers: Workers | None, source: Source, args: tuple[Any, ...]) -> Job:
    """:func:`parse_changed` on a worker process (here without workers)."""
    from asyncio import get_running_loop

    executor = workers.executor if workers else None
    if executor is None:
        return parse_changed(*args)
    from concurrent.futures.process import BrokenProcessPool  # (imported with the pool)

    try:
        return await get_running_loop().run_in_executor(executor, parse_changed, *args)
    except BrokenProcessPool:  # a worker died (out of memory?): new pool, parse here this once
        log.warning("%s: a parser process died; restarting the worker pool", source.name)
        assert workers is not None
        workers.restart()
        return parse_changed(*args)


async def _merger_steps(
    settings: Settings, store: Store, source: Source, parsed: ParsedFeed, fetcher: Fetcher,
    workers: Workers | None, when: float, ready: Mapping[str, bytes],
) -> tuple[Sequence[Item], dict[str, bytes], NearDup | None]:  # fmt: skip
    """The new items' full text (``full_text`` sources) and near-duplicate sketches (:mod:`feeds.ingest.sketching`)."""
    from asyncio import to_thread

    from feeds.ingest import sketching

    items: Sequence[Item] = parsed.items
    near = sketching.near_settings(settings)
    if near is None and not source.full_text:
        return items, {}, None
    new = await to_thread(store.new_keys, source.name, [item.key for item in items])
    if source.full_text and new:
        from feeds.ingest.fulltext import fill_full_text

        items = await fill_full_text(source, items, new, store=store, fetcher=fetcher, workers=workers, now=when)
    sketches = await sketching.prepare_poll(settings, store, source, items, new, workers, ready)
    return items, sketches, near


def remote_sources(settings: Settings) -> list[Source]:
    return [s for s in settings.sources if s.remote]


def polled_here(settings: Settings) -> list[Source]:
    """The remote sources this node polls: those without ``nodes``, and those that name it."""
    return [s for s in remote_sources(settings) if not s.nodes or settings.node in s.nodes]


def due_at(source: Source, state: SourceState | None) -> float:
    """When ``source`` is due next (0: now).

    A source that is not backing off is due at its last success plus its
    interval at the latest, so a shortened interval takes effect at once.
    """
    if state is None or state.url != source.url or state.next_due is None:
        return 0.0
    if state.failures == 0 and state.last_success is not None:
        return min(state.next_due, state.last_success + source.interval)
    return state.next_due


def due_sources(settings: Settings, store: Store, now: float, *, force: bool = False) -> list[Source]:
    """Remote sources whose next poll is due (all of them with ``force``)."""
    states = store.source_states()
    return [s for s in polled_here(settings) if force or due_at(s, states.get(s.name)) <= now]


async def refresh_contained(source: Source, **kwargs: Any) -> PollOutcome:
    """:func:`refresh_source`, with any unexpected error turned into a failed outcome (one line)."""
    started = time.perf_counter()
    try:
        return await refresh_source(source, **kwargs)
    except Exception as exc:  # the store, most likely (a FeedsError), or a bug: contained to this poll
        if not isinstance(exc, FeedsError):
            log.debug("%s: unexpected error", source.name, exc_info=True)
        why = reason(exc)
    return PollOutcome(source.name, "failed", ms=(time.perf_counter() - started) * 1000, error=why)


async def poll(
    settings: Settings,
    store: Store,
    sources: Sequence[Source],
    *,
    workers: Workers | None = None,
    report: Callable[[PollOutcome], None] | None = None,
) -> list[PollOutcome]:
    """Poll ``sources`` concurrently (bounded by the schedule's limits) with one shared client."""
    if not sources:
        return []
    import asyncio

    from feeds.sources.fetch import Fetcher

    schedule = settings.schedule
    # Whole polls at once (fetch, parse, store), not only fetches: a body fetched waits for no slot
    # (memory: 1,000 feeds fetched ahead of a busy store held every body at once).
    slots = asyncio.Semaphore(schedule.concurrency)
    async with Fetcher(settings.fetch, concurrency=schedule.concurrency, per_host=schedule.per_host) as fetcher:

        async def one(source: Source) -> PollOutcome:
            async with slots:
                outcome = await refresh_contained(source, settings=settings, store=store, fetcher=fetcher,
                                                  workers=workers)  # fmt: skip
            if report:
                report(outcome)
            return outcome

        return list(await asyncio.gather(*(one(s) for s in sources)))


