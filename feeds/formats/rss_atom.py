"""Items -> RSS 2.0 / Atom 1.0 bytes (feedgen lives here and nowhere else).

Rendering is deterministic: no clock (the feed's date is its newest item's),
items in the order given, so unchanged input gives byte-identical output.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feeds import __version__
from feeds.config import Settings
from feeds.identity import stable_id
from feeds.layout import feed_id
from feeds.models import FeedSpec, Item
from feeds.text import clean_line, clean_text, excerpt

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed with no items
MIME = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
ATOM_NS = "http://www.w3.org/2005/Atom"


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
    fg.link(href=spec.html_url, rel="alternate", type="text/html")
    fg.updated(max((i.updated for i in items), default=EPOCH, key=lambda d: d.timestamp()))

    for item in items:
        entry = fg.add_entry(order="append")
        guid = stable_id(item.key, authority)
        entry.id(guid)
        entry.guid(guid, permalink=False)
        entry.title(clean_line(item.title) or item.link)
        entry.link(href=item.link, rel="alternate")
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
    hubs = settings.websub.hubs
    if not hubs:
        return fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    return _with_hubs(fg, fmt, hubs)


def _with_hubs(fg: FeedGenerator, fmt: str, hubs: Sequence[str]) -> bytes:
    """The feed with one ``<atom:link rel="hub">`` per WebSub hub after its self link
    (feedgen writes no hub links, so they are added to its tree before serialising)."""
    from lxml import etree

    _, doc = fg._create_rss() if fmt == "rss" else fg._create_atom()
    parent = doc.getroot().find("channel") if fmt == "rss" else doc.getroot()
    assert parent is not None
    # feedgen's Atom tree has un-namespaced tags under an xmlns attribute; RSS has atom:link.
    tag = f"{{{ATOM_NS}}}link" if fmt == "rss" else "link"
    position = next((i + 1 for i, el in enumerate(parent) if el.tag == tag and el.get("rel") == "self"), len(parent))
    for offset, hub in enumerate(hubs):
        link = etree.Element(tag, href=hub, rel="hub")
        parent.insert(position + offset, link)
    data: bytes = etree.tostring(doc, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return data


