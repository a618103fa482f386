"""``feeds try SOURCE``: what a remote source gives now, fetched live and parsed, nothing stored.

For a list page (``type = "page"``) it shows what each selector picks in the
first items, so that selectors can be written against the real page; for a feed,
its first items.  Nothing is written: not the store, not the output.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from feeds.config import Settings
from feeds.core.errors import ConfigError, FeedParseError, FetchError
from feeds.core.identity import Identity
from feeds.core.models import Source
from feeds.core.registry import SOURCE_TYPES, load
from feeds.core.text import counted
from feeds.sources.fetch import Fetcher

SHOWN = 10  # items shown


def _source(settings: Settings, name: str) -> Source:
    for source in settings.sources:
        if source.name == name:
            if not source.remote:
                raise ConfigError(str(settings.path), f"{name!r} is a posts folder: `feeds check` reads it")
            return source
    names = ", ".join(s.name for s in settings.sources if s.remote) or "none"
    raise ConfigError(str(settings.path), f"no remote source named {name!r} (remote sources: {names})")


async def _fetch(settings: Settings, source: Source) -> tuple[bytes, str, str | None, str | None]:
    async with Fetcher(settings.fetch, concurrency=1, per_host=1) as fetcher:
        result = await fetcher.fetch(source)
    return result.body or b"", result.url, result.header("content-type"), result.header("content-location")


def try_source(settings: Settings, name: str) -> tuple[int, list[str]]:
    """(exit code, lines): 0 when the source gives items, 1 when it fails (the lines say why)."""
    source = _source(settings, name)
    assert source.url is not None
    try:
        body, url, ctype, location = asyncio.run(_fetch(settings, source))
    except FetchError as exc:
        return 1, [f"{source.name}: fetch failed: {exc.reason}"]
    lines = [f"{source.name}: {url} ({len(body)} bytes, {ctype or 'no Content-Type'})"]
    if source.type == "page":
        from feeds.sources.page import describe, pick_rows

        try:
            rows, title, matched = pick_rows(body, url, source, ctype)
        except FeedParseError as exc:
            return 1, [*lines, f"{source.name}: {exc.reason}"]
        selectors = dict(source.selectors)
        lines.append(f"page title: {title or '(none)'}")
        lines.append(f"item = {selectors['item']!r}: {counted(matched, 'element')}")
        for field in ("title", "link", "date", "summary"):
            if field in selectors:
                found = sum(1 for row in rows if (row.link if field == "link" else getattr(row, field)))
                lines.append(f"{field} = {selectors[field]!r}: found in {found} of {counted(len(rows), 'item')}")
        lines.extend(describe(rows, SHOWN))
    parse = load(SOURCE_TYPES[source.type][1], "parse")
    try:
        parsed = parse(body, url=url, source=source, identity=Identity(settings.identity_patterns),
                       now=datetime.now(UTC), tz=ZoneInfo(settings.site.timezone), content_type=ctype,
                       content_location=location)  # fmt: skip
    except FeedParseError as exc:
        return 1, [*lines, f"{source.name}: {exc.reason}"]
    lines.extend(f"warning: {warning}" for warning in parsed.warnings)
    lines.append(counted(len(parsed.items), "item") + (f" ({len(parsed.undated)} without a date: dated when first "
                                                       "seen)" if parsed.undated else ""))  # fmt: skip
    if source.type != "page":
        for item in parsed.items[:SHOWN]:
            lines.append(f"  {item.published.isoformat()}  {item.title}  {item.link}")
    return 0, lines
