"""Items -> RSS 2.0 / Atom 1.0 bytes (feedgen lives here and nowhere else).

:func:`entries` renders items into entries (one feedgen document of them all,
cut into its entries); :func:`document` writes a feed around given entries;
:func:`render_feed` renders a feed whole, and the two give the same bytes.
WebSub hub links and the related links of merged items go through feedgen's
public extension mechanism (``register_extension``).  Rendering is
deterministic: no clock (the feed's date is its newest item's), items in the
order given, so unchanged input gives byte-identical output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feeds import __version__
from feeds.config import Settings
from feeds.core.identity import stable_id
from feeds.core.models import FeedSpec, Item
from feeds.core.safety import escape_text, plain_text, public_url, safe_url, text_as_html
from feeds.core.text import clean_line, clean_text, summary_text
from feeds.output.formats.base import get
from feeds.output.layout import feed_id

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the date of a feed with no items
ATOM_NS = "http://www.w3.org/2005/Atom"
_ORIGINAL = {True: "原文", False: "Original article"}  # the related link to a post's original article


# ---------------------------------------------------------------- feeds


class _RelatedFeed:
    """feedgen extension (feed side: nothing)."""

    def extend_atom(self, feed: object) -> object:
        return feed

    def extend_ns(self) -> dict[str, str]:
        return {}


class _HubFeed:
    """feedgen extension: one ``<link rel="hub">`` per WebSub hub, after the feed's self link
    (feedgen writes no hub links).  RSS gets ``atom:link``, as its self link."""

    hubs: tuple[str, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {}  # RSS declares atom: for its self link already; in Atom it is the default namespace

    def extend_rss(self, feed: object) -> object:
        channel = feed.find("channel")  # type: ignore[attr-defined]
        self._insert(channel, f"{{{ATOM_NS}}}link")
        return feed

    def extend_atom(self, feed: object) -> object:
        self._insert(feed, "link")  # feedgen's Atom tree: un-namespaced tags under the root's xmlns
        return feed

    def _insert(self, parent: object, tag: str) -> None:
        from lxml import etree

        children = list(parent)  # type: ignore[call-overload]
        position = next((i + 1 for i, el in enumerate(children) if el.tag == tag and el.get("rel") == "self"),
                        len(children))  # fmt: skip
        for offset, hub in enumerate(self.hubs):
            parent.insert(position + offset, etree.Element(tag, href=hub, rel="hub"))  # type: ignore[attr-defined]


class _NoEntry:
    """The entry side of :class:`_HubFeed`: nothing."""

    def extend_rss(self, entry: object) -> object:
        return entry

    def extend_atom(self, entry: object) -> object:
        return entry


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
    if settings.websub.hubs:
        fg.register_extension("hubs", _HubFeed, _NoEntry, atom=True, rss=True)
        fg.hubs.hubs = settings.websub.hubs  # type: ignore[attr-defined]
    fg.id(feed_id(site.authority, spec.slug))
    fg.title(escape_text(spec.title))  # a title is text: see _serialise
    fg.subtitle(spec.description)  # RSS <description> and Atom <subtitle>
    fg.language(site.language)
    if site.author:
        fg.author({"name": clean_line(site.author)})
    fg.generator("feeds", version=__version__, uri="https://github.com/feeds-dev/feeds")
    # RSS takes the channel <link> from the last link() call: self first, page last.
    self_url = spec.url(fmt)
    fg.link(href=self_url, rel="self", type=get(fmt).mime)
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
    entry.title(escape_text(clean_line(item.title) or link or guid))  # a title is text: see _serialise
    if link:
        entry.link(href=link, rel="alternate")
    feed_url = public_url(item.feed_url)  # (never a password in the URL)
    feed_title = clean_line(item.feed_title or item.source) or feed_url
    if hasattr(entry, "related"):  # Atom: the original article, the other versions of a merged story, the feed
        original = safe_url(item.original)
        links = [(_ORIGINAL[site.language.lower().startswith("zh")], original)] if original else []
        entry.related.links = (*links, *((s, u) for s, u in item.related if safe_url(u)))
        entry.related.source = (escape_text(feed_title), feed_url, item.updated.isoformat()) if feed_url else None
    elif feed_url:  # RSS <source url="…">title</source>
        entry.source(url=feed_url, title=escape_text(feed_title))
    entry.published(item.published)
    entry.updated(item.updated)
    html = clean_text(item.content or "")
    if not html and not link:  # Atom needs a link or a content: the title then stands as the content
        html = escape_text(clean_line(item.title) or guid)
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


# A title is text, nothing removed from it (``How I use <script> tags``), and is given to feedgen as HTML
# that shows that text (escaped once: ``&lt;script&gt;``), which feedgen escapes again as XML.  Readers
# take an RSS title for HTML: there the XML-level "&" is written as a hexadecimal reference (as the RSS
# Profile and the W3C validator want).  An Atom title so escaped is declared type="html".
_RSS_TITLE = re.compile(rb"(<title>|<source url=\"[^\"<>]*\">)([^<]*&amp;[^<]*)(?=</title>|</source>)")
_ATOM_TITLE = re.compile(rb"<title>(?=[^<]*&amp;[^<]*</title>)")


def _rss_refs(match: re.Match[bytes]) -> bytes:
    return match.group(1) + match.group(2).replace(b"&amp;", b"&#x26;")


def _serialise(fg: FeedGenerator, fmt: str) -> bytes:
    if fmt == "rss":
        return _RSS_TITLE.sub(_rss_refs, fg.rss_str(pretty=True))
    return _ATOM_TITLE.sub(b'<title type="html">', fg.atom_str(pretty=True))


def render_feed(spec: FeedSpec, items: Sequence[Item], settings: Settings, fmt: str) -> bytes:
    """One feed as bytes (``fmt`` is "rss" or "atom"), every item rendered now."""
    fg = _generator(spec, settings, fmt, _newest(i.updated for i in items))
    labels: dict[str, str] = {}
    for item in items:
        _add_entry(fg, item, settings, labels)
    return _serialise(fg, fmt)


def _newest(dates: Iterable[datetime]) -> datetime:
    return max(dates, default=EPOCH, key=lambda d: d.timestamp())


# Where the entries go in a feed with none, and where one entry starts and ends in a feed of one:
# feedgen pretty-prints items last in <channel> and entries last in <feed>, at a fixed depth.
_CLOSE = {"rss": b"\n  </channel>\n", "atom": b"\n</feed>\n"}
_ENTRY = {"rss": (b"\n    <item>", b"</item>"), "atom": (b"\n  <entry>", b"</entry>")}


def entries(items: Sequence[Item], texts: Sequence[str], settings: Settings, fmt: str) -> list[bytes]:
    """Each item's entry in ``fmt`` (``texts``: their excerpts): an item of the common shape written
    directly (:func:`_direct`), the others by feedgen (:func:`_through_feedgen`); the same bytes."""
    out: list[bytes | None] = [_direct(item, text, settings, fmt) if FAST else None
                               for item, text in zip(items, texts, strict=True)]  # fmt: skip
    rest = [i for i, entry in enumerate(out) if entry is None]
    if rest:
        for i, entry in zip(rest, _through_feedgen([items[i] for i in rest], [texts[i] for i in rest], settings, fmt),
                            strict=True):  # fmt: skip
            out[i] = entry
    return out  # type: ignore[return-value]


FAST = True  # False: every entry through feedgen (tests compare the two)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _text(value: str) -> str:
    """Text as libxml2 writes it in an element (what feedgen's lxml tree gives)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(value: str) -> str:
    """An attribute's value as libxml2 writes it (in double quotes)."""
    return (_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))


def _rfc822(when: datetime) -> str:
    """feedgen's RFC 822 date (``%a, %d %b %Y %H:%M:%S %z`` in the C locale)."""
    return when.strftime(f"{_DAYS[when.weekday()]}, %d {_MONTHS[when.month - 1]} %Y %H:%M:%S %z")


def _direct(item: Item, text: str, settings: Settings, fmt: str) -> bytes | None:
    """The entry feedgen writes for ``item``, written here (~10x faster), or None when the item has
    what only feedgen's path writes (a source feed, a thumbnail, an author's e-mail or URI, related
    versions, no excerpt)."""
    summary = text_as_html(text)
    if item.feed_url or item.image or item.author_email or item.related or not summary:
        return None  # (an empty summary: feedgen writes no RSS description and an empty Atom summary)
    if item.author_uri and safe_url(item.author_uri):
        return None
    site = settings.site
    guid = stable_id(item.key, site.authority)
    link = safe_url(item.link)
    title = escape_text(clean_line(item.title) or link or guid)
    html = clean_text(item.content or "")
    if not html and not link:
        html = escape_text(clean_line(item.title) or guid)
    author = clean_line(plain_text(item.byline or site.author))
    labels = [(clean_line(plain_text(slug)) or "-", clean_line(plain_text(settings.category_title(slug))) or "-")
              for slug in item.categories]  # fmt: skip
    terms = dict(labels)  # a term twice: its last label, in the place of its first (as _add_entry's dict)
    for tag in item.tags:
        term = clean_line(plain_text(tag))
        if term:
            terms.setdefault(term, term)
    if fmt == "rss":
        parts = ["    <item>\n", f"      <title>{_text(title)}</title>\n"]
        if link:
            parts.append(f"      <link>{_text(link)}</link>\n")
        parts.append(f"      <description>{_text(summary)}</description>\n")
        if html:
            parts.append(f"      <content:encoded>{_text(html)}</content:encoded>\n")
        parts.append(f'      <guid isPermaLink="false">{_text(guid)}</guid>\n')
        parts.extend(f"      <category>{_text(label)}</category>\n" for label in terms.values())
        parts.append(f"      <pubDate>{_rfc822(item.published)}</pubDate>\n")
        if author:
            parts.append(f"      <dc:creator>{_text(author)}</dc:creator>\n")
        parts.append("    </item>")
        return _RSS_TITLE.sub(_rss_refs, "".join(parts).encode())
    if fmt != "atom":
        return None
    parts = ["  <entry>\n", f"    <id>{_text(guid)}</id>\n", f"    <title>{_text(title)}</title>\n",
             f"    <updated>{item.updated.isoformat()}</updated>\n"]  # fmt: skip
    if author:
        parts.append(f"    <author>\n      <name>{_text(author)}</name>\n    </author>\n")
    if html:
        parts.append(f'    <content type="html">{_text(html)}</content>\n')
    if link:
        parts.append(f'    <link href="{_attr(link)}"/>\n')  # (feedgen writes no rel="alternate")
    parts.append(f'    <summary type="html">{_text(summary)}</summary>\n')
    parts.extend(f'    <category term="{_attr(term)}" label="{_attr(label)}"/>\n' for term, label in terms.items())
    parts.append(f"    <published>{item.published.isoformat()}</published>\n")
    original = safe_url(item.original)
    if original:
        name = clean_line(_ORIGINAL[site.language.lower().startswith("zh")])
        parts.append(f'    <link rel="related" href="{_attr(original)}" title="{_attr(name)}"/>\n')
    parts.append("  </entry>")
    return _ATOM_TITLE.sub(b'<title type="html">', "".join(parts).encode())


def _through_feedgen(items: Sequence[Item], texts: Sequence[str], settings: Settings, fmt: str) -> list[bytes]:
    """Each item's entry in ``fmt``: one feedgen feed of them all, cut into its entries."""
    spec = FeedSpec(slug=None, title="-", description="-", html_url="http://localhost/",
                    files=((fmt, "", "http://localhost/"),))  # fmt: skip
    fg = _generator(spec, settings, fmt, EPOCH)
    labels: dict[str, str] = {}
    for item, text in zip(items, texts, strict=True):
        _add_entry(fg, item, settings, labels, text)
    data = _serialise(fg, fmt)
    # Markup in text is escaped, so these only ever match the entries' own tags.
    opening, closing = _ENTRY[fmt]
    cuts: list[bytes] = []
    start = data.find(opening)
    while start >= 0:
        end = data.index(closing, start) + len(closing)
        cuts.append(data[start + 1 : end])
        start = data.find(opening, end)
    assert len(cuts) == len(items)
    return cuts


def document(spec: FeedSpec, parts: Sequence[bytes], updated: datetime, settings: Settings, fmt: str) -> bytes:
    """The feed ``spec`` in ``fmt`` around the entries ``parts`` (from :func:`entries`), in that order."""
    head = _serialise(_generator(spec, settings, fmt, updated), fmt)
    cut = head.rindex(_CLOSE[fmt]) + 1
    body = b"\n".join(parts)
    return b"".join((head[:cut], body, b"\n" if body else b"", head[cut:]))  # one copy of ~0.5 MB, not three
