"""Items -> RSS 2.0 / Atom 1.0 bytes (feedgen lives here and nowhere else).

Rendering is deterministic: no clock (the feed's date is its newest item's),
items in the order given, so unchanged input gives byte-identical output.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from feeds import __version__
from feeds.config import Settings
from feeds.identity import stable_id
from feeds.layout import feed_id
from feeds.models import FeedSpec, Item
from feeds.text import clean_line, clean_text, excerpt

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed with no items
MIME = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


# ---------------------------------------------------------------- feeds


class _RelatedFeed:
    """feedgen extension (feed side: nothing)."""

    def extend_atom(self, feed: object) -> object:
        return feed

    def extend_ns(self) -> dict[str, str]:
        return {}


class _RelatedEntry:
    """feedgen extension: ``<link rel="related" href=… title=…/>`` per other version of a merged item.

    (feedgen's own ``entry.link(rel="related")`` writes no ``rel`` attribute.)
    """

    def __init__(self) -> None:
        self.links: tuple[tuple[str, str], ...] = ()

    def extend_atom(self, entry: object) -> object:
        from lxml import etree

        for source, link in self.links:
            element = etree.SubElement(entry, "{http://www.w3.org/2005/Atom}link")  # type: ignore[arg-type]
            element.attrib["rel"] = "related"
            element.attrib["href"] = link
            element.attrib["title"] = clean_line(source)
        return entry


def render_feed(
    spec: FeedSpec,
    items: Sequence[Item],
    settings: Settings,
    fmt: str,
) -> bytes:
    """One feed as bytes (``fmt`` is "rss" or "atom")."""
    from feedgen.feed import FeedGenerator

    site = settings.site
    authority = site.host
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    if fmt == "atom":
        fg.register_extension("related", _RelatedFeed, _RelatedEntry, atom=True, rss=False)
    fg.id(feed_id(authority, spec.slug))
    fg.title(spec.title)
    fg.subtitle(spec.description)  # RSS <description> and Atom <subtitle>
    fg.language(site.language)
    if site.author:
        fg.author({"name": clean_line(site.author)})
    fg.generator("feeds", version=__version__, uri="https://github.com/feeds-dev/feeds")
    # RSS takes the channel <link> from the last link() call: self first, page last.
    self_url = spec.rss_url if fmt == "rss" else spec.atom_url
    fg.link(href=self_url, rel="self", type=MIME[fmt])
    fg.link(href=spec.html_url, rel="alternate", type="text/html")
    fg.updated(max((i.updated for i in items), default=EPOCH, key=lambda d: d.timestamp()))

    for item in items:
        entry = fg.add_entry(order="append")
        guid = stable_id(item.key, authority)
        entry.id(guid)
        entry.guid(guid, permalink=False)
        entry.title(clean_line(item.title) or item.link)
        entry.link(href=item.link, rel="alternate")
        if fmt == "atom" and item.related:  # the other versions of a merged story
            entry.related.links = item.related
        entry.published(item.published)
        entry.updated(item.updated)
        html = clean_text(item.content or "")
        if html:
            entry.content(html, type="html")  # Atom <content type="html">, RSS <content:encoded>
        # RSS <description> and Atom <summary>: a plain-text excerpt.
        summary = clean_line(item.summary) if item.summary else ""
        entry.summary(summary[:300] or (excerpt(html) if html else "") or clean_line(item.title))
        author = item.author or site.author
        if author:
            entry.author({"name": clean_line(author)})
            entry.dc.dc_creator(clean_line(author))
        for slug in item.categories:
            entry.category(term=clean_line(slug), label=clean_line(settings.category_title(slug)))
    if fmt == "rss":
        return fg.rss_str(pretty=True)
    return fg.atom_str(pretty=True)


# ---------------------------------------------------------------- OPML, index


# ---------------------------------------------------------------- files


