"""RSS 2.0: one ``rss.xml`` per feed, rendered by feedgen (:mod:`.feedgen`)."""

from __future__ import annotations

from functools import partial

from feeds.output.formats import feedgen
from feeds.output.formats.base import Format

FORMAT = Format(
    name="rss",
    filename="rss.xml",
    mime="application/rss+xml",
    content_type="application/rss+xml; charset=utf-8",
    label="RSS 2.0",
    entries=partial(feedgen.entries, fmt="rss"),
    document=partial(feedgen.document, fmt="rss"),
)
