"""The one place that chains the stages: sources -> items -> merge -> writers.

``build`` reads every source once, merges, and writes the feeds.  The CLI and
the daemon both call it (and nothing else chains stages).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from feeds import merge as merging
from feeds import posts, write
from feeds.config import Settings
from feeds.models import BuildReport, Entry, FeedSpec, Item, Merged, PostIndex, Source, instant
from feeds.parallel import Workers
from feeds.posts import PostContext

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
    """Every post of the posts sources, read (or rejected)."""

    results: list[PostIndex] = field(default_factory=list)
    contexts: dict[str, PostContext] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # source folders that do not exist

    def entries(self, now: datetime) -> list[Entry]:
        """The published posts whose date is due, ready to merge."""
        due = now.timestamp()
        return [
            Entry(r.key, r.timestamp, r.utcoffset, r.categories, r.path, r)
            for r in self.results
            if r.status == "ok" and r.timestamp <= due
        ]

    @property
    def errors(self) -> list[PostIndex]:
        return [r for r in self.results if r.status == "error"]


def scan_posts(
    settings: Settings,
    *,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    workers: Workers | None = None,
) -> PostScan:
    scan = PostScan()
    for source in settings.sources:
        if source.type != "posts" or source.path is None:
            continue
        if not source.path.is_dir():
            scan.missing.append(f"{display(source.path)}: posts folder of source {source.name!r} does not exist")
            continue
        files = posts.discover(source.path)
        if on_total:
            on_total(len(files))
        ctx = scan.contexts[source.name] = post_context(settings, source)
        scan.results.extend(posts.index_posts(files, ctx, progress=progress, workers=workers))
    return scan


def problem_lines(scan: PostScan) -> list[str]:
    lines = list(scan.missing)
    for row in scan.results:
        if row.status == "error":
            lines.append(f"{display(row.path)}: {row.message}")
        elif row.message:
            lines.append(f"{display(row.path)}: warning: {row.message}")
    return lines


@dataclass(frozen=True)
class Output:
    """What :func:`render_outputs` decided: every file with its bytes."""

    files: tuple[tuple[str, bytes], ...]
    specs: tuple[FeedSpec, ...]
    counts: dict[str | None, int]


def materialize(merged: Merged, full: Mapping[tuple[str, str], Item]) -> Item:
    """The item of a merged article: its best version, with the merged date, categories and tags.

    ``full`` holds the local posts read again in full, by (source, path).
    """

    def item_of(entry: Entry) -> Item:
        ref = entry.ref
        return full[(ref.source, ref.path)] if isinstance(ref, PostIndex) else ref

    best = item_of(merged.best)
    tags: dict[str, None] = {}
    for version in merged.versions:
        for tag in item_of(version).tags:
            tags.setdefault(tag, None)
    return replace(
        best,
        published=instant(merged.timestamp, merged.utcoffset),
        categories=merged.categories,
        tags=tuple(tags),
    )


def load_posts(
    chosen: Iterable[Merged], contexts: Mapping[str, PostContext], report: Report, workers: Workers | None
) -> dict[tuple[str, str], Item]:
    """Every local post among the versions of ``chosen``, read again in full with its body rendered."""
    rows = {(v.ref.source, v.ref.path): v.ref for m in chosen for v in m.versions if isinstance(v.ref, PostIndex)}
    full: dict[tuple[str, str], Item] = {}
    for (key, row), (record, html, summary) in zip(
        rows.items(), posts.load_many(list(rows.values()), contexts, workers=workers), strict=True
    ):
        item = record.item
        if item is None or record.key != row.key:
            # changed or broken since the scan a moment ago: keep what the scan saw
            report(f"{display(row.path)}: changed while building; its old text is used")
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


def render_outputs(
    settings: Settings,
    entries: Iterable[Entry],
    contexts: Mapping[str, PostContext],
    report: Report = _quiet,
    workers: Workers | None = None,
) -> Output:
    """Merge ``entries`` and render every output file to bytes (nothing is written)."""
    limit = settings.output.limit
    ordered = merging.merge(entries)
    combined, per_category = merging.select(ordered, limit)
    specs = write.plan(settings, list(per_category))

    # Full items and rendered bodies for only the articles that reach a feed, once each.
    chosen = {m.key: m for m in combined}
    for bucket in per_category.values():
        for m in bucket:
            chosen.setdefault(m.key, m)
    full = load_posts(chosen.values(), contexts, report, workers)
    items = {key: materialize(m, full) for key, m in chosen.items()}

    files: list[tuple[str, bytes]] = []
    counts: dict[str | None, int] = {}
    for spec in specs:
        picked = [items[m.key] for m in (combined if spec.slug is None else per_category[spec.slug])]
        counts[spec.slug] = len(picked)
        for fmt in settings.output.formats:
            path = spec.rss_path if fmt == "rss" else spec.atom_path
            files.append((path, write.render_feed(spec, picked, settings, fmt)))
    files.append(("feeds.opml", write.render_opml(specs, settings)))
    files.append(("index.html", write.render_index(specs, settings, counts)))
    return Output(files=tuple(files), specs=tuple(specs), counts=counts)


def write_outputs(out_dir: Path, output: Output) -> tuple[list[str], list[str]]:
    """Write every file whose bytes changed; (written, unchanged) relative paths."""
    written: list[str] = []
    unchanged: list[str] = []
    write.sweep_temporaries(out_dir, (os.path.dirname(rel) for rel, _ in output.files))
    for rel, data in output.files:
        if write.write_if_changed(out_dir / rel, data):
            written.append(rel)
        else:
            unchanged.append(rel)
    return written, unchanged


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


def build(
    settings: Settings,
    *,
    now: datetime | None = None,
    report: Report = _quiet,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> BuildReport:
    """Read every source once, merge, write the feeds; bad posts are reported and skipped."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    with _no_gc(), Workers() as workers:
        scan = scan_posts(settings, progress=progress, on_total=on_total, workers=workers)
        problems = problem_lines(scan)
        for line in problems:
            report(line)
        entries = scan.entries(now)
        output = render_outputs(settings, entries, scan.contexts, report, workers)
    written, unchanged = write_outputs(settings.output.dir, output)
    return BuildReport(
        posts_read=len(scan.results),
        posts_skipped=len(scan.errors),
        items=len({e.key for e in entries}),
        written=tuple(written),
        unchanged=tuple(unchanged),
        problems=tuple(problems),
        seconds=time.perf_counter() - started,
    )


def check(settings: Settings) -> list[str]:
    """Every problem with the posts (the config was already validated by loading it)."""
    return problem_lines(scan_posts(settings))


def summary(report: BuildReport) -> str:
    return (
        f"{report.posts_read} posts read, {report.posts_skipped} skipped, {report.items} items; "
        f"{len(report.written)} files written, {len(report.unchanged)} unchanged in {report.seconds:.2f}s"
    )


__all__: Sequence[str] = ("build", "check", "render_outputs", "scan_posts", "summary")
