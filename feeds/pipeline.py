"""The one place that chains the stages: sources -> items -> merge -> writers.

``build`` reads every source once, merges, and writes the feeds.  The CLI and
the daemon both call it (and nothing else chains stages).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feeds import merge as merging
from feeds import posts, write
from feeds.config import Settings
from feeds.models import BuildReport, FeedSpec, Item, Source
from feeds.posts import PostContext, PostResult

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

    results: list[PostResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # source folders that do not exist

    def items(self, now: datetime) -> list[Item]:
        """Published items whose date is due."""
        stamp = now.timestamp()
        return [r.item for r in self.results if r.item is not None and r.item.published.timestamp() <= stamp]

    @property
    def errors(self) -> list[PostResult]:
        return [r for r in self.results if r.error]

    @property
    def warnings(self) -> list[PostResult]:
        return [r for r in self.results if r.warning]


def scan_posts(
    settings: Settings,
    *,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
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
        scan.results.extend(posts.read_posts(files, post_context(settings, source), progress=progress))
    return scan


def problem_lines(scan: PostScan) -> list[str]:
    lines = list(scan.missing)
    for result in scan.results:
        if result.error:
            lines.append(f"{display(result.path)}: {result.error}")
        elif result.warning:
            lines.append(f"{display(result.path)}: warning: {result.warning}")
    return lines


@dataclass(frozen=True)
class Output:
    """What :func:`render_outputs` decided: every file with its bytes."""

    files: tuple[tuple[str, bytes], ...]
    specs: tuple[FeedSpec, ...]
    counts: dict[str | None, int]


def render_outputs(settings: Settings, items: Iterable[Item], report: Report = _quiet) -> Output:
    """Merge ``items`` and render every output file to bytes (nothing is written)."""
    limit = settings.output.limit
    ordered = merging.merge(items)
    combined, per_category = merging.select(ordered, limit)
    specs = write.plan(settings, list(per_category))

    # Render the bodies of only the items that reach a feed, once each.
    html: dict[str, str] = {}
    for item in {i.key: i for i in [*combined, *(i for b in per_category.values() for i in b)]}.values():
        if item.content is not None:
            html[item.key] = item.content
        elif item.body is not None:
            try:
                html[item.key] = posts.render(item.body, item.link)
            except posts.PostError as exc:
                report(f"{display(exc.path)}: {exc.reason}")
                html[item.key] = ""
        else:
            html[item.key] = ""

    def content(item: Item) -> str:
        return html.get(item.key, "")

    files: list[tuple[str, bytes]] = []
    counts: dict[str | None, int] = {}
    for spec in specs:
        chosen = combined if spec.slug is None else per_category[spec.slug]
        counts[spec.slug] = len(chosen)
        for fmt in settings.output.formats:
            path = spec.rss_path if fmt == "rss" else spec.atom_path
            files.append((path, write.render_feed(spec, chosen, settings, fmt, content)))
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
    scan = scan_posts(settings, progress=progress, on_total=on_total)
    problems = problem_lines(scan)
    for line in problems:
        report(line)
    items = scan.items(now)
    output = render_outputs(settings, items, report)
    written, unchanged = write_outputs(settings.output.dir, output)
    return BuildReport(
        posts_read=len(scan.results),
        posts_skipped=len(scan.errors),
        items=sum(1 for _ in {i.key for i in items}),
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
