"""Items -> RSS 2.0 / Atom 1.0 bytes (feedgen lives here and nowhere else).

Rendering is deterministic: no clock (the feed's date is its newest item's),
items in the order given, so unchanged input gives byte-identical output.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feeds import __version__
from feeds.config import Settings
from feeds.core.identity import stable_id
from feeds.core.models import FeedSpec, Item
from feeds.core.safety import plain_text, public_url, safe_url, text_as_html
from feeds.core.text import clean_line, clean_text, summary_text
from feeds.output.layout import feed_id

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

    from feeds.runtime.workers import Workers

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed with no items
MIME = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
ATOM_NS = "http://www.w3.org/2005/Atom"
_ORIGINAL = {True: "原文", False: "Original article"}  # the related link to a post's original article


# ---------------------------------------------------------------- feeds


class _RelatedFeed:
    """feedgen extension (feed side: nothing)."""

    def extend_atom(self, feed: object) -> object:
        return feed

    def extend_ns(self) -> dict[str, str]:
        return {}


class _RelatedEntry:
    """feedgen extension: ``<link rel="related" href=… title=…/>`` per other version of a merged item
    and for the original article, and ``<source>`` naming the feed a remote item came from.

    (feedgen's own ``entry.link(rel="related")`` writes no ``rel`` attribute, and its Atom
    ``<source>`` has no ``rel="self"`` link.)
    """

    def __init__(self) -> None:
        self.links: tuple[tuple[str, str], ...] = ()
        self.source: tuple[str, str, str] | None = None  # (title, feed URL, RFC 3339 date)

    def extend_atom(self, entry: object) -> object:
        from lxml import etree

        # feedgen's Atom tree: un-namespaced tags under the root's xmlns (a namespaced tag gets a prefix)
        for title, link in self.links:
            element = etree.SubElement(entry, "link")  # type: ignore[arg-type]
            element.attrib["rel"] = "related"
            element.attrib["href"] = link
            element.attrib["title"] = clean_line(title)
        if self.source is not None:
            # The feed's URL is its id (an RSS feed has none of its own).  No rel="self" link: the
            # W3C validator takes any self link for the document's own, and reports a mismatch.
            title, url, updated = self.source
            source = etree.SubElement(entry, "source")  # type: ignore[arg-type]
            etree.SubElement(source, "id").text = url
            etree.SubElement(source, "title").text = title
            etree.SubElement(source, "updated").text = updated  # it listed the item: updated since
        return entry


def _generator(spec: FeedSpec, settings: Settings, fmt: str, updated: datetime) -> FeedGenerator:
    from feedgen.feed import FeedGenerator

    site = settings.site
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.load_extension("media", atom=True, rss=True)
    if fmt == "atom":
        fg.register_extension("related", _RelatedFeed, _RelatedEntry, atom=True, rss=False)
    fg.id(feed_id(site.authority, spec.slug))
    fg.title(spec.title)
    fg.subtitle(spec.description)  # RSS <description> and Atom <subtitle>
    fg.language(site.language)
    if site.author:
        fg.author({"name": clean_line(site.author)})
    fg.generator("feeds", version=__version__, uri="https://github.com/feeds-dev/feeds")
    # RSS takes the channel <link> from the last link() call: self first, page last.
    self_url = spec.rss_url if fmt == "rss" else spec.atom_url
    fg.link(href=self_url, rel="self", type=MIME[fmt])
    fg.link(href=safe_url(spec.html_url) or safe_url(settings.site.url) or self_url, rel="alternate",
            type="text/html")  # fmt: skip
    fg.updated(updated)
    return fg


def _excerpt(item: Item, html: str) -> str:
    """The plain-text excerpt shown as RSS description / Atom summary (and on the pages)."""
    return summary_text(item.summary, html, item.title)


def _add_entry(
    fg: FeedGenerator, item: Item, settings: Settings, labels: dict[str, str], text: str | None = None
) -> None:
    """One item as an entry of ``fg``; ``labels`` caches category titles as shown (across calls)."""
    site = settings.site
    entry = fg.add_entry(order="append")
    guid = stable_id(item.key, site.authority)
    entry.id(guid)
    entry.guid(guid, permalink=False)
    link = safe_url(item.link)
    entry.title(clean_line(plain_text(item.title)) or link or guid)
    if link:
        entry.link(href=link, rel="alternate")
    feed_url = public_url(item.feed_url)  # (never a password in the URL)
    feed_title = clean_line(plain_text(item.feed_title or item.source)) or feed_url
    if hasattr(entry, "related"):  # Atom: the original article, the other versions of a merged story, the feed
        original = safe_url(item.original)
        links = [(_ORIGINAL[site.language.lower().startswith("zh")], original)] if original else []
        entry.related.links = (*links, *((s, u) for s, u in item.related if safe_url(u)))
        entry.related.source = (feed_title, feed_url, item.updated.isoformat()) if feed_url else None
    elif feed_url:  # RSS <source url="…">title</source>
        entry.source(url=feed_url, title=feed_title)
    entry.published(item.published)
    entry.updated(item.updated)
    html = clean_text(item.content or "")
    if not html and not link:  # Atom needs a link or a content: the title then stands as the content
        html = text_as_html(clean_line(plain_text(item.title)) or guid)
    if html:
        entry.content(html, type="html")  # Atom <content type="html">, RSS <content:encoded>
    # RSS <description> and Atom <summary>: a plain-text excerpt, which readers
    # render as HTML (RSS) - so it is escaped as text, and declared html in Atom.
    if text is None:
        text = _excerpt(item, html)
    entry.summary(text_as_html(text), type="html")
    author = clean_line(plain_text(item.byline or site.author))
    if author:
        # Atom <author> with name, email and uri; RSS <author> needs an e-mail ("email (name)"),
        # so RSS names the author in <dc:creator> when there is none.
        person = {"name": author}
        if item.author_email:
            person["email"] = item.author_email
        if item.author_uri and safe_url(item.author_uri):
            person["uri"] = item.author_uri
        entry.author(person)
        if not item.author_email:  # (with one, RSS has <author>: a dc:creator too is one author twice)
            entry.dc.dc_creator(author)
    image = safe_url(item.image)
    if image:
        entry.media.thumbnail({"url": image}, group=None)
    if item.categories or item.tags:  # one call: feedgen redoes its whole list on every call (quadratic)
        for slug in item.categories:
            if slug not in labels:
                labels[slug] = clean_line(plain_text(settings.category_title(slug)))
        terms = {clean_line(plain_text(slug)) or "-": labels[slug] or "-" for slug in item.categories}
        for tag in item.tags:  # tags are categories too (as jekyll-feed writes them), with no feed of their own
            term = clean_line(plain_text(tag))
            if term:
                terms.setdefault(term, term)
        entry.category([{"term": term, "label": label} for term, label in terms.items()])


def _serialise(fg: FeedGenerator, settings: Settings, fmt: str) -> bytes:
    hubs = settings.websub.hubs
    if not hubs:
        return fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    return _with_hubs(fg, fmt, hubs)


def render_feed(spec: FeedSpec, items: Sequence[Item], settings: Settings, fmt: str) -> bytes:
    """One feed as bytes (``fmt`` is "rss" or "atom"), every item rendered now."""
    fg = _generator(spec, settings, fmt, _newest(i.updated for i in items))
    labels: dict[str, str] = {}
    for item in items:
        _add_entry(fg, item, settings, labels)
    return _serialise(fg, settings, fmt)


def _newest(dates: Iterable[datetime]) -> datetime:
    return max(dates, default=EPOCH, key=lambda d: d.timestamp())


# Where the entries go in a feed with none, and where one entry starts and ends in a feed of one:
# feedgen pretty-prints items last in <channel> and entries last in <feed>, at a fixed depth.
_CLOSE = {"rss": b"\n  </channel>\n", "atom": b"\n</feed>\n"}
_ENTRY = {"rss": (b"\n    <item>", b"</item>"), "atom": (b"\n  <entry>", b"</entry>")}


RENDER_CHUNK = 200  # items rendered in one feedgen document: bounds the memory of a big first publish


def fragments(items: Sequence[Item], settings: Settings) -> list[tuple[str, Fragment, Fragment]]:
    """(excerpt, RSS entry, Atom entry) of each item: one feed of them all per format, cut into entries."""
    spec = FeedSpec(slug=None, title="-", description="-", html_url="http://localhost/", rss_path="",
                    atom_path="", rss_url="http://localhost/", atom_url="http://localhost/")  # fmt: skip
    parts: list[list[bytes]] = []
    texts = [_excerpt(item, clean_text(item.content or "")) for item in items]  # once for both formats
    for fmt in ("rss", "atom"):
        fg = _generator(spec, settings, fmt, EPOCH)
        labels: dict[str, str] = {}
        for item, text in zip(items, texts, strict=True):
            _add_entry(fg, item, settings, labels, text)
        data = fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
        # Markup in text is escaped, so these only ever match the entries' own tags.
        opening, closing = _ENTRY[fmt]
        cuts: list[bytes] = []
        start = data.find(opening)
        while start >= 0:
            end = data.index(closing, start) + len(closing)
            cuts.append(data[start + 1 : end])
            start = data.find(opening, end)
        assert len(cuts) == len(items)
        parts.append(cuts)
    return [(text, *_shared(item, rss, atom)) for item, text, rss, atom in zip(items, texts, parts[0], parts[1],
                                                                             strict=True)]  # fmt: skip


Fragment = bytes | tuple[bytes, bytes, bytes]  # an entry's bytes, or (before, the content, after)
SHARED_MIN = 512  # bytes of escaped content from which the RSS and Atom entries share it


def _shared(item: Item, rss: bytes, atom: bytes) -> tuple[Fragment, Fragment]:
    """The RSS and Atom entries of ``item`` holding its escaped content once, when both have it whole.

    Memory: the content is most of an entry, and the daemon keeps every entry its feeds show
    (30 categories of 200 items: 42 MB of fragments, 18 MB of them the content written twice).
    """
    html = clean_text(item.content or "")
    escaped = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;").encode()
    if len(escaped) < SHARED_MIN:
        return rss, atom
    i, j = rss.find(escaped), atom.find(escaped)
    if i < 0 or j < 0:
        return rss, atom
    return (rss[:i], escaped, rss[i + len(escaped) :]), (atom[:j], escaped, atom[j + len(escaped) :])


def _whole(fragment: Fragment) -> bytes:
    return fragment if isinstance(fragment, bytes) else b"".join(fragment)


class Renderer:
    """Feeds assembled from per-item fragments, each rendered (by feedgen) once while unchanged.

    Speed: a busy daemon re-renders a 200-item feed every time one item is
    added; with the fragments kept, that publish renders one item, not 200
    (rendering was ~95 % of a publish).  A fragment is the bytes feedgen writes
    for the item in a one-item feed, so a feed assembled from fragments is byte
    for byte the feed :func:`render_feed` writes (a test checks it).  Keyed by
    the item's id and signature; call :meth:`keep` after a publish to forget the
    items no feed shows any more, which bounds the memory to what the feeds hold.
    """

    def __init__(self) -> None:
        self._settings: object = None
        self._fragments: dict[tuple[str, str], tuple[datetime, Fragment, Fragment]] = {}
        self._cards: dict[tuple[str, str], Item] = {}  # what a page shows of an item: no content, the excerpt

    def reset_if_changed(self, settings: Settings) -> None:
        """Every fragment depends on the settings: forget them all when these change."""
        if self._settings != settings:
            self._settings = settings
            self._fragments.clear()
            self._cards.clear()

    def missing(self, keys: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [key for key in keys if key not in self._fragments]

    def add(
        self, fresh: Sequence[tuple[tuple[str, str], Item]], settings: Settings, workers: Workers | None = None
    ) -> None:
        """Render ``fresh`` items ((key, item) pairs), RENDER_CHUNK at a time: on the worker processes
        when there are several chunks (a daemon's first publish renders thousands, ~1 ms each)."""
        items = [item for _, item in fresh]
        chunks = [items[i : i + RENDER_CHUNK] for i in range(0, len(items), RENDER_CHUNK)]
        executor = workers.executor if workers is not None and len(chunks) > 1 else None
        if executor is not None:
            parts: Iterable[list[tuple[str, Fragment, Fragment]]] = executor.map(
                functools.partial(fragments, settings=settings), chunks
            )
        else:
            parts = (fragments(chunk, settings) for chunk in chunks)
        done = (cut for part in parts for cut in part)
        for (key, item), (text, rss, atom) in zip(fresh, done, strict=True):
            self._fragments[key] = (item.updated, rss, atom)
            self._cards[key] = replace(item, content="", summary=text)

    def card(self, key: tuple[str, str]) -> Item | None:
        """The item as a page shows it (its content dropped, its excerpt as the summary), once added."""
        return self._cards.get(key)

    def feed(self, spec: FeedSpec, keys: Sequence[tuple[str, str]], settings: Settings, fmt: str) -> bytes:
        """The feed of the items ``keys`` (each :meth:`add`-ed), in that order."""
        fragments = [self._fragments[key] for key in keys if key in self._fragments]
        head = _serialise(_generator(spec, settings, fmt, _newest(f[0] for f in fragments)), settings, fmt)
        cut = head.rindex(_CLOSE[fmt]) + 1
        body = b"\n".join(_whole(f[1] if fmt == "rss" else f[2]) for f in fragments)
        return head[:cut] + body + (b"\n" if body else b"") + head[cut:]

    def keep(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted = set(keys)
        for key in [k for k in self._fragments if k not in wanted]:
            del self._fragments[key]
            self._cards.pop(key, None)

    def __len__(self) -> int:
        return len(self._fragments)


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


