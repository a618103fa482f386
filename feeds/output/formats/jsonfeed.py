"""Items -> JSON Feed 1.1 bytes (https://www.jsonfeed.org/version/1.1/).

The same feed as its RSS/Atom siblings: the same items in the same order, each
with the same stable id as their guid/id, dates in RFC 3339 with their own
offset.  Deterministic: no clock, keys in a fixed order, so unchanged input gives
byte-identical output.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from feeds.config import Settings
from feeds.core.identity import stable_id
from feeds.core.models import FeedSpec, Item
from feeds.core.safety import escape_text, public_url, text_as_html
from feeds.core.text import clean_line, clean_text, summary_text
from feeds.output.formats.base import Format

VERSION = "https://jsonfeed.org/version/1.1"


def rfc3339(when: datetime) -> str:
    """``2022-01-25T20:54:37+08:00`` (fractions of a second only when there are any)."""
    return when.isoformat(timespec="microseconds" if when.microsecond else "seconds")


def render_json(spec: FeedSpec, items: Sequence[Item], settings: Settings) -> bytes:
    """One feed as JSON Feed 1.1 bytes (UTF-8, indented, a final newline), every item rendered now."""
    texts = [summary_text(item.summary, clean_text(item.content or ""), item.title) for item in items]
    return document(spec, entries(items, texts, settings), datetime.min, settings)


def entries(items: Sequence[Item], texts: Sequence[str], settings: Settings) -> list[bytes]:
    """Each item as it stands in a feed's ``items`` array (indented for it); ``texts``: their excerpts."""
    return [
        textwrap.indent(json.dumps(_item(item, text, settings), ensure_ascii=False, indent=2), "    ").encode()
        for item, text in zip(items, texts, strict=True)
    ]


def document(spec: FeedSpec, parts: Sequence[bytes], updated: datetime, settings: Settings) -> bytes:
    """The feed ``spec`` around the items ``parts`` (from :func:`entries`), in that order."""
    head = _head(spec, settings)
    at = head.rindex(_ITEMS)  # the last key
    items = b"[\n" + b",\n".join(parts) + b"\n  ]" if parts else b"[]"
    return head[:at] + b'"items": ' + items + head[at + len(_ITEMS) :]


_ITEMS = b'"items": "\\u0000"'  # where _head leaves the items: json.dumps of a NUL


def _head(spec: FeedSpec, settings: Settings) -> bytes:
    site = settings.site
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": spec.title,
        "home_page_url": spec.html_url,
        "feed_url": spec.url("json"),
        "description": spec.description,
        "language": site.language,
    }
    if site.author:
        feed["authors"] = [{"name": clean_line(site.author)}]
    if settings.websub.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in settings.websub.hubs]
    feed["items"] = "\x00"  # where document() puts the items
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()


def _item(item: Item, text: str, settings: Settings) -> dict[str, Any]:
    site = settings.site
    html = clean_text(item.content or "")
    summary = clean_line(item.summary)[:300] if item.summary else ""
    entry: dict[str, Any] = {"id": stable_id(item.key, site.authority)}
    if item.link:
        entry["url"] = item.link
    if item.original and item.original != item.link:
        entry["external_url"] = item.original
    entry["title"] = clean_line(item.title) or item.link
    # content_html is required (or content_text): an item without a body carries its summary or title.
    entry["content_html"] = html or text_as_html(summary) or escape_text(entry["title"] or "")
    entry["summary"] = text  # as the RSS/Atom siblings
    if item.image:
        entry["image"] = item.image
    entry["date_published"] = rfc3339(item.published)
    entry["date_modified"] = rfc3339(item.updated)
    author = clean_line(item.byline or site.author)
    if author:
        entry["authors"] = [{"name": author, "url": item.author_uri} if item.author_uri else {"name": author}]
    feed_url = public_url(item.feed_url)  # (never a password in the URL)
    if feed_url:  # a remote item: the feed it came from (an extension: JSON Feed has no <source>)
        entry["_source"] = {"title": clean_line(item.feed_title or item.source), "feed_url": feed_url}
    tags = [clean_line(settings.category_title(slug)) for slug in item.categories]
    tags += [clean_line(tag) for tag in item.tags]
    tags = [t for t in dict.fromkeys(tags) if t]
    if tags:
        entry["tags"] = tags
    return entry


FORMAT = Format(
    name="json",
    filename="feed.json",
    mime="application/feed+json",
    content_type="application/feed+json",
    label="JSON Feed",
    entries=entries,
    document=document,
)
