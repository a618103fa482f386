"""The one place that chains the stages: sources -> items -> merge -> writers.

* :func:`refresh_source` polls one remote source: fetch (conditional GET) ->
  parse -> store, recording success or failure and the next due time.
* :func:`scan_posts` reads the local posts, only the new and changed files.
* :func:`publish` merges everything the store and the posts hold and writes the
  feeds whose content changed.
* :func:`build` is all three once: ``feeds build``.  The daemon calls
  :func:`refresh_source` per source on its schedule and :func:`publish` after.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from feeds import __version__, posts, write
from feeds import merge as merging
from feeds.config import Settings
from feeds.errors import FeedParseError, FetchError
from feeds.models import (
    BuildReport,
    Entry,
    FeedSpec,
    Item,
    Merged,
    ParsedFeed,
    PostIndex,
    PostRecord,
    Source,
    instant,
)
from feeds.parallel import Workers
from feeds.posts import PostContext
from feeds.store import Store

if TYPE_CHECKING:  # httpx and asyncio are imported only when a remote source is polled
    from feeds.fetch import Fetcher

log = logging.getLogger("feeds")
Report = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def display(path: str | Path) -> str:
    """A path as the user would like to read it: relative to the cwd when below it."""
    text = str(path)
    try:
        rel = os.path.relpath(text)
    except ValueError:
        return text
    return text if rel.startswith("..") else rel


def _hash(*parts: object) -> str:
    return hashlib.sha1("\x1e".join(map(str, parts)).encode()).hexdigest()


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


# ---------------------------------------------------------------- remote sources


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

    @property
    def changed(self) -> bool:
        return self.new > 0 or self.updated > 0

    def line(self) -> str:
        if self.error:
            return f"{self.source}: failed after {self.ms:.0f} ms: {self.error}"
        return f"{self.source}: {self.outcome}, {self.new} new, {self.updated} updated, {self.ms:.0f} ms"


def backoff(settings: Settings, source: Source, failures: int, retry_after: float | None) -> float:
    """Seconds to wait after ``failures`` consecutive failures: doubling, capped; at least Retry-After."""
    delay = min(settings.schedule.max_backoff, source.interval * 2 ** min(failures, 30))
    if retry_after is not None:
        delay = max(delay, min(retry_after, 7 * 86400.0))
    return delay


def _parse_job(
    body: bytes, url: str, source: Source, patterns: tuple[str, ...], now: datetime, ctype: str | None, loc: str | None
) -> ParsedFeed:
    from feeds.identity import Identity
    from feeds.parse import parse_feed

    return parse_feed(
        body, url=url, source=source, identity=Identity(patterns), now=now, content_type=ctype, content_location=loc
    )


async def refresh_source(
    source: Source,
    *,
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    workers: Workers | None = None,
    now: float | None = None,
) -> PollOutcome:
    """Poll one remote source once and record the outcome in the store. Never raises for a source's fault."""
    from asyncio import get_running_loop  # loaded already: this runs on its loop

    assert source.url is not None
    started = time.perf_counter()
    when = now if now is not None else time.time()
    old = store.source_state(source.name)
    state = replace(old, url=source.url, last_attempt=when)

    def ms() -> float:
        return (time.perf_counter() - started) * 1000

    def failed(reason: str, retry_after: float | None = None) -> PollOutcome:
        failures = old.failures + 1
        due = when + backoff(settings, source, failures, retry_after)
        store.save_source(replace(state, failures=failures, next_due=due, last_error=reason))
        return PollOutcome(source.name, "failed", ms=ms(), error=reason, next_due=due)

    try:
        result = await fetcher.fetch(source, etag=old.etag, last_modified=old.last_modified)
    except FetchError as exc:
        return failed(exc.reason, exc.retry_after)
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
        store.save_source(ok)
        return PollOutcome(source.name, "not modified", ms=ms(), next_due=due)
    body = result.body or b""
    digest = hashlib.sha256(body).hexdigest()
    if digest == old.body_hash:
        store.save_source(ok)
        return PollOutcome(source.name, "unchanged", ms=ms(), next_due=due)
    args = (
        body,
        result.url,
        source,
        settings.identity_patterns,
        datetime.fromtimestamp(when, UTC),
        result.header("content-type"),
        result.header("content-location"),
    )
    try:
        executor = workers.executor if workers else None
        if executor is None:
            parsed = _parse_job(*args)
        else:
            try:
                parsed = await get_running_loop().run_in_executor(executor, _parse_job, *args)
            except BrokenProcessPool:  # a worker died (out of memory?): new pool, parse here this once
                log.warning("%s: a parser process died; restarting the worker pool", source.name)
                assert workers is not None
                workers.restart()
                parsed = _parse_job(*args)
    except FeedParseError as exc:
        return failed(exc.reason)
    for warning in parsed.warnings:
        log.warning("%s: %s", source.name, warning)
    new, updated = store.save_poll(replace(ok, body_hash=digest), parsed.items, parsed.undated, when)
    return PollOutcome(source.name, "updated" if new or updated else "unchanged", new, updated, ms(), next_due=due)


def remote_sources(settings: Settings) -> list[Source]:
    return [s for s in settings.sources if s.type == "feed"]


def due_sources(settings: Settings, store: Store, now: float, *, force: bool = False) -> list[Source]:
    """Remote sources whose next poll is due (all of them with ``force``)."""
    states = store.source_states()
    due = []
    for source in remote_sources(settings):
        state = states.get(source.name)
        if force or state is None or state.url != source.url or state.next_due is None or state.next_due <= now:
            due.append(source)
    return due


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

    from feeds.fetch import Fetcher

    schedule = settings.schedule
    async with Fetcher(settings.fetch, concurrency=schedule.concurrency, per_host=schedule.per_host) as fetcher:

        async def one(source: Source) -> PollOutcome:
            outcome = await refresh_source(source, settings=settings, store=store, fetcher=fetcher, workers=workers)
            if report:
                report(outcome)
            return outcome

        return list(await asyncio.gather(*(one(s) for s in sources)))


# ---------------------------------------------------------------- local posts


def context_fingerprint(ctx: PostContext) -> str:
    """Changes whenever what a post is read into may change: the settings it is read with, feeds' version."""
    return _hash(__version__, ctx)


def post_context(settings: Settings, source: Source) -> PostContext:
    return PostContext(
        site_url=settings.site.url,
        timezone=settings.site.timezone,
        permalink=settings.site.permalink,
        patterns=settings.identity_patterns,
        source=source.name,
    )


@dataclass
class PostScan:
    """Every post of the posts sources (index rows), and how many were read anew."""

    results: list[PostIndex] = field(default_factory=list)
    contexts: dict[str, PostContext] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # source folders that do not exist
    read: int = 0  # files parsed this time (the rest came from the cache)

    def entries(self, now: float) -> list[Entry]:
        """The published posts whose date is due, ready to merge."""
        return [
            Entry(r.key, r.timestamp, r.utcoffset, r.categories, r.path, r)
            for r in self.results
            if r.status == "ok" and r.timestamp <= now
        ]

    def next_due(self, now: float) -> float | None:
        """When the next future-dated post becomes due."""
        future = [r.timestamp for r in self.results if r.status == "ok" and r.timestamp > now]
        return min(future) if future else None

    @property
    def errors(self) -> list[PostIndex]:
        return [r for r in self.results if r.status == "error"]

    def problems(self) -> list[str]:
        lines = list(self.missing)
        for row in self.results:
            if row.status == "error":
                lines.append(f"{display(row.path)}: {row.message}")
            elif row.message:
                lines.append(f"{display(row.path)}: warning: {row.message}")
        return lines


def scan_posts(
    settings: Settings,
    store: Store | None = None,
    *,
    workers: Workers | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> PostScan:
    """Index every post; with a store, only new and changed files are read (the rest is cached)."""
    scan = PostScan()
    for source in settings.sources:
        if source.type != "posts" or source.path is None:
            continue
        if not source.path.is_dir():
            scan.missing.append(f"{display(source.path)}: posts folder of source {source.name!r} does not exist")
            continue
        ctx = scan.contexts[source.name] = post_context(settings, source)
        paths = posts.discover(source.path)
        fingerprint = context_fingerprint(ctx)
        warm = store is not None and store.has_post_cache(source.name, fingerprint)
        cache: dict[str, PostIndex] = {}
        rows: dict[str, PostIndex] = {}
        todo: list[str] = []
        if store is not None and warm:
            stats = posts.stat_many(paths, workers=workers)  # on the workers while the cache loads
            cache = store.post_cache(source.name, fingerprint)
        if not cache:
            todo = paths
        else:
            get = cache.get
            for path, (size, mtime_ns) in zip(paths, stats(), strict=True):
                cached = get(path)
                if cached is not None and size == cached.size and mtime_ns == cached.mtime_ns:
                    rows[path] = cached
                elif size >= 0:  # (else it vanished since it was listed)
                    todo.append(path)
        if on_total:
            on_total(len(todo))
        fresh = list(posts.index_posts(todo, ctx, progress=progress, workers=workers))
        added = 0
        for row in fresh:
            added += row.path not in cache
            rows[row.path] = row
        # A cached path not seen now: its file was removed (or vanished while listed).
        removed = sorted(cache.keys() - rows.keys()) if len(rows) - added != len(cache) else []
        results = [rows[p] for p in paths if p in rows]
        if store is not None:
            if not warm or (not cache and results):  # no usable cache yet: write it whole
                store.save_posts(source.name, fingerprint, results)
            elif fresh or removed:
                store.save_posts(source.name, fingerprint, results, changed=fresh, removed=removed)
        scan.read += len(fresh)
        scan.results.extend(results)
    return scan


# ---------------------------------------------------------------- merging and writing


@dataclass(frozen=True)
class Output:
    """What :func:`render_outputs` decided: every file with its bytes (None: unchanged, not rendered)."""

    files: tuple[tuple[str, bytes | None], ...]
    specs: tuple[FeedSpec, ...]
    counts: dict[str | None, int]
    fingerprints: dict[str, tuple[str, int]]


def materialize(merged: Merged, full: Mapping[object, Item]) -> Item:
    """The item of a merged article: its best version, with the merged date, categories and tags."""

    def item_of(entry: Entry) -> Item:
        ref = entry.ref
        if isinstance(ref, PostIndex):
            return full[(ref.source, ref.path)]
        if isinstance(ref, Item):
            return ref
        return full[ref]

    best = item_of(merged.best)
    tags: dict[str, None] = {}
    for version in merged.versions:
        for tag in item_of(version).tags:
            tags.setdefault(tag, None)
    return replace(
        best, published=instant(merged.timestamp, merged.utcoffset), categories=merged.categories, tags=tuple(tags)
    )


def load_posts(
    rows: Mapping[tuple[str, str], PostIndex],
    contexts: Mapping[str, PostContext],
    store: Store | None,
    workers: Workers | None,
    keep: Collection[tuple[str, str]] = (),
) -> list[tuple[PostRecord, str, str]]:
    """:func:`posts.load_full` of every row, in order; with a store, a post read for an
    earlier build and unchanged since (same size, mtime and settings) is not read again.

    ``keep``: every (source, path) in some feed now; the store forgets the others.
    """
    if store is None:
        return posts.load_many(list(rows.values()), contexts, workers=workers)
    fingerprints = {name: context_fingerprint(ctx) for name, ctx in contexts.items()}

    def stamp(source: str, size: int, mtime_ns: int) -> str:
        return f"{size}:{mtime_ns}:{fingerprints[source]}"

    held = store.rendered({key: stamp(row.source, row.size, row.mtime_ns) for key, row in rows.items()})
    todo = [row for key, row in rows.items() if key not in held]
    fresh = iter(posts.load_many(todo, contexts, workers=workers))
    out: list[tuple[PostRecord, str, str]] = []
    save: list[tuple[str, str, str, tuple[object, ...]]] = []
    make = tuple.__new__
    for key, row in rows.items():
        value = held.get(key)
        if value is not None:
            out.append((make(PostRecord, value[0]), value[1], value[2]))
            continue
        record, html, summary = next(fresh)
        if record.status == "ok":  # stamped as read: a file that changed meanwhile is read again next time
            save.append(
                (row.source, row.path, stamp(row.source, record.size, record.mtime_ns), (tuple(record), html, summary))
            )
        out.append((record, html, summary))
    if save:
        store.save_rendered(save, keep)
    return out


def load_versions(
    chosen: Iterable[Merged],
    contexts: Mapping[str, PostContext],
    store: Store | None,
    report: Report,
    workers: Workers | None,
    keep: Collection[tuple[str, str]] = (),
) -> dict[object, Item]:
    """Every version of ``chosen`` in full: local posts read again (bodies rendered), remote items loaded."""
    rows: dict[tuple[str, str], PostIndex] = {}
    ids: list[int] = []
    for merged in chosen:
        for version in merged.versions:
            ref = version.ref
            if isinstance(ref, PostIndex):
                rows[(ref.source, ref.path)] = ref
            elif isinstance(ref, int):
                ids.append(ref)
    full: dict[object, Item] = {}
    if ids and store is not None:
        full.update(store.load_items(ids))
    loaded = load_posts(rows, contexts, store, workers, keep)
    for (key, row), (record, html, summary) in zip(rows.items(), loaded, strict=True):
        item = record.item
        if item is None or record.key != row.key:
            report(f"{display(row.path)}: changed while building; rebuild to pick up the change")
            when = instant(row.timestamp, row.utcoffset)
            item = Item(
                key=row.key,
                title=os.path.basename(row.path),
                link="",
                published=when,
                updated=when,
                categories=row.categories,
                source=row.source,
                origin=row.path,
            )
            full[key] = item
            continue
        full[key] = replace(item, content=html, summary=summary)
    return full


def _version_sig(merged: Merged) -> str:
    parts = [merged.key, repr(merged.timestamp), str(merged.utcoffset), "\x1f".join(merged.categories)]
    for version in merged.versions:
        ref = version.ref
        if isinstance(ref, PostIndex):
            parts.append(f"p:{ref.path}:{ref.size}:{ref.mtime_ns}")
        elif isinstance(ref, int):
            parts.append(f"r:{ref}:{version.origin}:{version.timestamp!r}")
        else:  # an Item given directly: its own (deterministic) repr
            parts.append(f"i:{ref!r}")
    return "|".join(parts)


def render_outputs(
    settings: Settings,
    entries: Iterable[Entry],
    contexts: Mapping[str, PostContext],
    *,
    store: Store | None = None,
    previous: Mapping[str, tuple[str, int]] | None = None,
    report: Report = _quiet,
    workers: Workers | None = None,
    revs: Mapping[int, int] | None = None,
) -> Output:
    """Merge ``entries`` and render every output file whose content changed (nothing is written).

    ``previous`` holds each file's fingerprint from the last build: a feed whose
    items (and their versions) and settings are the same, and whose file is
    still there, is not rendered again.
    """
    limit = settings.output.limit
    ordered = merging.merge(entries)
    combined, per_category = merging.select(ordered, limit)
    specs = write.plan(settings, list(per_category))
    settings_fp = _hash(__version__, settings.site, settings.output, settings.categories)
    revs = revs or {}

    def fingerprint(spec: FeedSpec, fmt: str, picked: Sequence[Merged]) -> str:
        sigs = [_version_sig(m) + "".join(f"#{revs.get(v.ref, 0)}" for v in m.versions if isinstance(v.ref, int))
                for m in picked]  # fmt: skip
        return _hash(settings_fp, spec, fmt, *sigs)

    plans: list[tuple[str, FeedSpec, str, list[Merged], str]] = []
    for spec in specs:
        picked = combined if spec.slug is None else per_category[spec.slug]
        for fmt in settings.output.formats:
            path = spec.rss_path if fmt == "rss" else spec.atom_path
            plans.append((path, spec, fmt, picked, fingerprint(spec, fmt, picked)))

    def current(path: str, fp: str) -> bool:
        old = (previous or {}).get(path)
        if old is None or old[0] != fp:
            return False
        try:
            return os.path.getsize(settings.output.dir / path) == old[1]
        except OSError:
            return False

    stale = [p for p in plans if not current(p[0], p[4])]
    chosen: dict[str, Merged] = {}
    for _, _, _, picked, _ in stale:
        for merged in picked:
            chosen.setdefault(merged.key, merged)
    keep = {
        (version.ref.source, version.ref.path)
        for _, _, _, picked, _ in plans
        for merged in picked
        for version in merged.versions
        if isinstance(version.ref, PostIndex)
    }
    full = load_versions(chosen.values(), contexts, store, report, workers, keep)
    items = {key: materialize(m, full) for key, m in chosen.items()}

    files: list[tuple[str, bytes | None]] = []
    fingerprints: dict[str, tuple[str, int]] = {}
    counts: dict[str | None, int] = {}
    stale_paths = {p[0] for p in stale}
    for path, spec, fmt, picked, fp in plans:
        counts[spec.slug] = len(picked)
        if path in stale_paths:
            data = write.render_feed(spec, [items[m.key] for m in picked], settings, fmt)
            files.append((path, data))
            fingerprints[path] = (fp, len(data))
        else:
            files.append((path, None))
            fingerprints[path] = (previous or {})[path]
    files.append(("feeds.opml", write.render_opml(specs, settings)))
    files.append(("index.html", write.render_index(specs, settings, counts)))
    return Output(files=tuple(files), specs=tuple(specs), counts=counts, fingerprints=fingerprints)


def _current(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def write_outputs(out_dir: Path, output: Output) -> tuple[list[str], list[str]]:
    """Write every file whose bytes changed; (written, unchanged) relative paths."""
    written: list[str] = []
    unchanged: list[str] = []
    write.sweep_temporaries(out_dir, (os.path.dirname(rel) for rel, _ in output.files))
    for rel, data in output.files:
        if data is not None and write.write_if_changed(out_dir / rel, data):
            written.append(rel)
        else:
            unchanged.append(rel)
    return written, unchanged


def publish(
    settings: Settings,
    store: Store | None,
    scan: PostScan,
    *,
    now: float,
    report: Report = _quiet,
    workers: Workers | None = None,
) -> tuple[list[str], list[str], int]:
    """Merge the posts of ``scan`` and every stored remote item; write what changed.

    Returns (written, unchanged, number of distinct items).
    """
    world = ""
    if store is not None and not scan.missing:
        # Nothing changed since the last publish and nothing became due: the files are current.
        world = _hash(
            __version__, settings, store.meta("posts_generation"), store.remote_signature(), len(scan.results)
        )
        due = float(store.meta("next_due") or "inf")
        previous = store.output_fingerprints()
        if (
            store.meta("world") == world
            and now < due
            and previous
            and all(_current(settings.output.dir / p, size) for p, (_, size) in previous.items())
        ):
            kept = [*previous, "feeds.opml", "index.html"]
            return [], kept, int(store.meta("items") or 0)
    entries = scan.entries(now)
    revs: dict[int, int] = {}
    if store is not None:
        for row_id, key, published, offset, categories, origin, rev in store.item_rows(
            s.name for s in remote_sources(settings)
        ):
            if published <= now:
                entries.append(Entry(key, published, offset, categories, origin, row_id))
                revs[row_id] = rev
    previous = store.output_fingerprints() if store is not None else None
    output = render_outputs(
        settings, entries, scan.contexts, store=store, previous=previous, report=report, workers=workers, revs=revs
    )
    written, unchanged = write_outputs(settings.output.dir, output)
    count = len({e.key for e in entries})
    if store is not None:
        if output.fingerprints != previous:
            store.save_outputs(output.fingerprints)
        future = [t for t in (scan.next_due(now), store.next_item_due(now)) if t is not None]
        store.set_meta({"world": world, "items": str(count), "next_due": repr(min(future, default=float("inf")))})
    return written, unchanged, count


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
    """Poll the due remote sources, read the posts, merge, write the feeds (``feeds build``).

    Bad posts and failing sources are reported and skipped; the rest is built.
    Without a ``store`` nothing is remembered between builds and remote sources
    are not polled.
    """
    started = time.perf_counter()
    clock = (now or datetime.now(UTC)).timestamp()
    problems: list[str] = []
    with _no_gc(), Workers() as workers:
        workers.start()  # fork while this process is still small
        polled: list[PollOutcome] = []
        if store is not None:
            store.forget_sources(s.name for s in remote_sources(settings))
            due = due_sources(settings, store, clock, force=force)
            if due:
                import asyncio

                polled = asyncio.run(poll(settings, store, due, workers=workers))
            problems.extend(outcome.line() for outcome in polled if outcome.error)
        scan = scan_posts(settings, store, workers=workers, progress=progress, on_total=on_total)
        lines = scan.problems() + problems
        for line in lines:
            report(line)
        at = now.timestamp() if now else time.time()  # after polling: entries first seen just now are due
        written, unchanged, items = publish(settings, store, scan, now=at, report=report, workers=workers)
    return BuildReport(
        posts_read=len(scan.results),
        posts_skipped=len(scan.errors),
        posts_cached=len(scan.results) - scan.read,
        items=items,
        written=tuple(written),
        unchanged=tuple(unchanged),
        problems=tuple(lines),
        seconds=time.perf_counter() - started,
        polled=len(polled),
        poll_failures=sum(1 for o in polled if o.error),
    )


def check(settings: Settings) -> list[str]:
    """Every problem with the posts (the config was already validated by loading it)."""
    return scan_posts(settings).problems()


def summary(report: BuildReport) -> str:
    polled = f"{report.polled} sources polled ({report.poll_failures} failed), " if report.polled else ""
    return (
        f"{polled}{report.posts_read} posts read ({report.posts_cached} cached), {report.posts_skipped} skipped, "
        f"{report.items} items; {len(report.written)} files written, {len(report.unchanged)} unchanged "
        f"in {report.seconds:.2f}s"
    )


def _when(stamp: float | None, now: float) -> str:
    if stamp is None:
        return "-"
    text = datetime.fromtimestamp(stamp, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} (now)" if stamp <= now else text


def status_table(settings: Settings, store: Store) -> str:
    """A plain-text table of the sources and what the store knows of them."""
    now = time.time()
    states = store.source_states()
    posts_counts: dict[str, int] = {}
    for source, count in store.post_counts().items():
        posts_counts[source] = count
    rows = [("SOURCE", "TYPE", "LAST SUCCESS", "LAST ERROR", "FAILURES", "ITEMS", "NEXT DUE")]
    for source in settings.sources:
        if source.type == "feed":
            state = states.get(source.name)
            if state is None:
                rows.append((source.name, "feed", "never", "-", "0", "0", "now"))
                continue
            rows.append((
                source.name, "feed", _when(state.last_success, now) if state.last_success else "never",
                (state.last_error or "-")[:60], str(state.failures), str(state.items),
                _when(state.next_due, now) if state.next_due else "now",
            ))  # fmt: skip
        else:
            rows.append((source.name, "posts", "-", "-", "0", str(posts_counts.get(source.name, 0)), "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
