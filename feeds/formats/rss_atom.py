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
from feeds.safety import plain_text, safe_url, text_as_html
from feeds.text import clean_line, clean_text, excerpt

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed with no items
MIME = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


# ---------------------------------------------------------------- feeds


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
    fg.link(href=safe_url(spec.html_url) or safe_url(site.url) or self_url, rel="alternate", type="text/html")
    fg.updated(max((i.updated for i in items), default=EPOCH, key=lambda d: d.timestamp()))

    titles: dict[str, str] = {}

    def labels(slug: str) -> str:
        label = titles.get(slug)
        if label is None:
            label = titles[slug] = clean_line(plain_text(settings.category_title(slug)))
        return label

    for item in items:
        entry = fg.add_entry(order="append")
        guid = stable_id(item.key, authority)
        entry.id(guid)
        entry.guid(guid, permalink=False)
        link = safe_url(item.link)
        entry.title(clean_line(plain_text(item.title)) or link or guid)
        if link:
            entry.link(href=link, rel="alternate")
        entry.published(item.published)
        entry.updated(item.updated)
        html = clean_text(item.content or "")
        if html:
            entry.content(html, type="html")  # Atom <content type="html">, RSS <content:encoded>
        # RSS <description> and Atom <summary>: a plain-text excerpt, which readers
        # render as HTML (RSS) - so it is escaped as text, and declared html in Atom.
        summary = clean_line(item.summary) if item.summary else ""
        text = summary[:300] or (excerpt(html) if html else "") or clean_line(item.title)
        entry.summary(text_as_html(text), type="html")
        author = clean_line(plain_text(item.author or site.author))
        if author:
            entry.author({"name": author})
            entry.dc.dc_creator(author)
        if item.categories:  # one call: feedgen redoes its whole list on every call (quadratic)
            entry.category([{"term": clean_line(plain_text(slug)) or "-", "label": labels(slug) or "-"}
                            for slug in item.categories])  # fmt: skip
    if fmt == "rss":
        return fg.rss_str(pretty=True)
    return fg.atom_str(pretty=True)


# ---------------------------------------------------------------- OPML, index


# ---------------------------------------------------------------- files


