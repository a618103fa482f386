"""Remote feed bytes -> :class:`~feeds.core.models.ParsedFeed`.

feedparser is used only here (the sanitiser is feeds.core.safety); only our own types leave this module.
Every failure to get anything usable out of a body is a
:class:`~feeds.core.errors.FeedParseError`.
"""

from __future__ import annotations

import html as htmllib
import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.exceptions import CharacterEncodingUnknown, NonXMLContentType, ThingsNobodyCaresAboutButMe

from feeds.core.dates import entry_date
from feeds.core.errors import FeedParseError
from feeds.core.identity import Identity, item_key
from feeds.core.models import Item, ParsedFeed, Source
from feeds.core.safety import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    URL_SCHEMES,
    plain_text,
    safe_email,
    safe_url,
    sanitize_html,
    strip_tags,
)
from feeds.core.text import clean_text, counted, is_http_url
from feeds.sources.xmlcut import complete_entries, well_formed_prefix

SUMMARY_CHARS = 300  # an excerpt: the full text is in content
MAX_TITLE = 1000  # characters (as for posts)
MAX_ENTRIES = 5000  # entries read from one body (a feed has tens; the rest is an attack or a mistake)

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "URL_SCHEMES", "clean_text", "parse_feed", "sanitize_html"]

# Block-level tags whose boundaries become spaces when HTML is turned into text.
_BLOCK_BOUNDARY_RE = re.compile(
    r"<(?:br|hr|/?(?:p|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|figure|figcaption))\b[^>]*>",
    re.IGNORECASE,
)
_PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")
_TITLE_FALLBACK_CHARS = 80
_PREFIX_MARGIN = 16  # characters of text a cut tag or entity can garble at a prefix's end
_get = dict.get  # on feedparser's dicts, skipping FeedParserDict's slow aliasing


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _html_to_text(html: str, limit: int | None = None) -> str:
    """Visible text of an HTML fragment, whitespace collapsed.

    With ``limit``, only the first ``limit`` characters matter: a long fragment
    is first tried by a prefix, and the whole is read only when the prefix
    gives too little text (a prefix may end inside a tag or an entity, which
    garbles at most its last few characters, so a margin is kept).
    """
    html = clean_text(html)
    if "<" not in html and "&" not in html:
        return _collapse(html)
    if limit is not None and len(html) > 4 * limit:
        text = _markup_text(html[: 4 * limit])
        if len(text) > limit + _PREFIX_MARGIN:
            return text[: limit + 1]
    return _markup_text(html)


def _markup_text(html: str) -> str:
    spaced = _BLOCK_BOUNDARY_RE.sub(" ", html)
    # Plain text from here on: what spelled a tag once unescaped (``&lt;img onerror=…&gt;``) is dropped.
    return _collapse(plain_text(clean_text(htmllib.unescape(strip_tags(spaced)))))


def _text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank-line separated paragraphs, line breaks kept."""
    paragraphs = [p.strip() for p in _PARAGRAPH_SPLIT_RE.split(text.strip())]
    return "".join(
        "<p>" + "<br>".join(htmllib.escape(line, quote=False) for line in p.splitlines()) + "</p>"
        for p in paragraphs
        if p
    )


def _is_html(detail: Any) -> bool:
    return isinstance(detail, dict) and "html" in str(_get(detail, "type") or "")


def _detail_text(detail: Any, fallback: Any = "", limit: int | None = None) -> str:
    """Plain text of a feedparser text construct (title, summary...)."""
    value = _get(detail, "value") if isinstance(detail, dict) else None
    if value is None:
        value = fallback
    if not isinstance(value, str) or not value:
        return ""
    # Whatever the declared type: a "text" title may carry markup a reader would render.
    return _html_to_text(value, limit)


def _title_text(detail: Any, fallback: Any = "") -> str:
    """A title (of an entry or a feed) as the text its feed means, nothing removed from it.

    As feedparser gives it: an ``html``/``xhtml`` title (every RSS title that holds
    markup or an entity) has its tags dropped and its entities decoded once
    (``a ]]> b &lt;c&gt;`` -> ``a ]]> b <c>``); a ``text`` one is that text.
    Whatever it then spells (``<script>``) is escaped wherever it is written.
    """
    value = _get(detail, "value") if isinstance(detail, dict) else None
    if value is None:
        value = fallback
    if not isinstance(value, str) or not value:
        return ""
    value = clean_text(value)
    if _is_html(detail) and ("<" in value or "&" in value):
        value = htmllib.unescape(strip_tags(_BLOCK_BOUNDARY_RE.sub(" ", value)))
    return _collapse(clean_text(value))


def _str(value: Any) -> str:
    return clean_text(value).strip() if isinstance(value, str) else ""


# -- entries ---------------------------------------------------------------


def _resolve(href: Any, base: str) -> str:
    """``href`` made absolute against ``base``; ``""`` unless it is an http(s) URL."""
    if not isinstance(href, str) or not href.strip():
        return ""
    try:
        link = urljoin(base, clean_text(href).strip())
    except ValueError:
        return ""
    return link if is_http_url(link) else ""


def _entry_links(entry: Mapping[str, Any], base: str) -> tuple[str, list[str]]:
    """The entry's link (``rel=alternate`` first) and every link href, all absolute."""
    hrefs: list[str] = []
    alternate = ""
    for link in entry.get("links") or ():
        if not isinstance(link, dict):
            continue
        href = _resolve(_get(link, "href"), base)
        if not href:
            continue
        hrefs.append(href)
        if not alternate and (_get(link, "rel") or "alternate") == "alternate":
            alternate = href
    return alternate or _resolve(entry.get("link"), base), hrefs


def _entry_content(entry: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Raw content HTML (html/xhtml content, else summary, else text content) and its detail."""
    contents = [c for c in entry.get("content") or () if isinstance(c, dict) and _get(c, "value")]
    for content in contents:
        if _is_html(content):
            return str(content["value"]), content
    summary = entry.get("summary_detail")
    summary_value = entry.get("summary")
    if isinstance(summary_value, str) and summary_value.strip():
        if _is_html(summary):
            return summary_value, summary
        return _text_to_html(plain_text(clean_text(summary_value))), summary
    for content in contents:
        value = str(content["value"])
        if value.strip():
            return _text_to_html(plain_text(clean_text(value))), content
    return "", None


def _entry_tags(entry: Mapping[str, Any]) -> tuple[str, ...]:
    terms: dict[str, None] = {}
    for tag in entry.get("tags") or ():
        term = _collapse(_str(_get(tag, "term"))) if isinstance(tag, dict) else ""
        if term:
            terms.setdefault(term, None)
    return tuple(terms)


def _entry_author(entry: Mapping[str, Any], base: str) -> tuple[str, str, str]:
    """(name, email, uri) of the entry's own author; each "" when the feed does not say."""
    detail = entry.get("author_detail")
    detail = detail if isinstance(detail, dict) else {}
    email = safe_email(_get(detail, "email"))
    name = _collapse(_str(_get(detail, "name")) or _str(entry.get("author")) or email)
    uri = safe_url(_get(detail, "href"), base) or ""
    return name[:200], email, uri


def _entry_image(entry: Mapping[str, Any], base: str) -> str:
    """The entry's thumbnail: ``media:thumbnail``, else an image enclosure; "" without one."""
    candidates: list[Any] = [_get(t, "url") for t in entry.get("media_thumbnail") or () if isinstance(t, dict)]
    for link in entry.get("links") or ():
        if (
            isinstance(link, dict)
            and _get(link, "rel") == "enclosure"
            and str(_get(link, "type") or "").startswith("image/")
        ):
            candidates.append(_get(link, "href"))
    for candidate in candidates:
        url = safe_url(candidate, base)
        if url and len(url) <= 2000:
            return url
    return ""


class _Context:
    """What every entry of one feed shares."""

    __slots__ = ("doc_base", "identity", "now", "source", "title", "url")

    def __init__(
        self, url: str, doc_base: str, source: Source, identity: Identity, now: datetime, title: str = ""
    ) -> None:
        self.url = url
        self.doc_base = doc_base
        self.source = source
        self.identity = identity
        self.now = now
        self.title = title  # the feed's own title: who a remote item is credited to when it names no author


def _make_item(entry: Mapping[str, Any], ctx: _Context) -> tuple[Item, bool] | None:
    """The entry as an :class:`Item` and whether it was undated; ``None`` if it carries nothing."""
    # A plain dict: FeedParserDict's key aliasing makes every lookup ~10x slower,
    # and the canonical keys read here are the ones feedparser stores.
    entry = dict(entry)
    link, hrefs = _entry_links(entry, ctx.doc_base)
    guid = _str(entry.get("id"))

    raw_content, detail = _entry_content(entry)
    base = link or ctx.url
    if detail is not None:
        # An explicit xml:base (feedparser is given no document base: it would
        # resolve every URL of every element, a third of its time).
        detail_base = _resolve(_get(detail, "base"), ctx.doc_base)
        if detail_base:
            base = detail_base
    content = sanitize_html(raw_content, base)

    # A summary of its own only when the content came from elsewhere: an excerpt
    # of the content is made when a feed is written (half the store's size).
    summary_detail = entry.get("summary_detail")
    summary = "" if detail is summary_detail else _detail_text(summary_detail, entry.get("summary"), SUMMARY_CHARS)
    title = _title_text(entry.get("title_detail"), entry.get("title"))
    if not title:
        body_text = summary or _html_to_text(content, _TITLE_FALLBACK_CHARS)
        title = body_text[:_TITLE_FALLBACK_CHARS].strip() or link
    if not title and not link and not content:
        return None
    if len(title) > MAX_TITLE:
        title = title[:MAX_TITLE].rstrip() + "…"

    published = entry_date(entry, "published") or entry_date(entry, "updated") or entry_date(entry, "created")
    updated = entry_date(entry, "updated") or published
    undated = published is None

    info_code = ctx.identity.code_in_urls(u for u in (link, guid, *hrefs) if u)
    if not info_code and content:
        info_code = ctx.identity.code_in_text(content)
    key = item_key(info_code=info_code, link=link, guid=guid, title=title, date=published)

    category = ctx.source.category
    author, email, uri = _entry_author(entry, base)
    item = Item(
        key=key,
        title=title,
        link=link,
        published=published or ctx.now,
        updated=updated or ctx.now,
        categories=(category,) if category else (),
        tags=_entry_tags(entry),
        author=author,
        content=content,
        summary=summary if len(summary) <= SUMMARY_CHARS else summary[:SUMMARY_CHARS].rstrip() + "…",
        source=ctx.source.name,
        origin=ctx.url,
        author_email=email,
        author_uri=uri,
        image=_entry_image(entry, base),
        feed_url=ctx.url,
        feed_title=ctx.title or ctx.source.name,
    )
    return item, undated


def _one_line(text: object) -> str:
    return _collapse(clean_text(str(text))) or "unknown error"


def _bozo_warning(exc: BaseException | None, count: int) -> str | None:
    """The warning for a bozo feed that still gave entries (``None`` when harmless)."""
    if isinstance(exc, CharacterEncodingUnknown):
        return f"unknown character encoding: {_one_line(exc)}; used {counted(count, 'entry', 'entries')}"
    if isinstance(exc, ThingsNobodyCaresAboutButMe):
        # Content-Type not XML, or the declared encoding was overridden: the feed was read fine.
        return None
    return f"not well-formed XML: {_one_line(exc)}; used {counted(count, 'entry', 'entries')}"


def _feedparser(body: bytes, headers: dict[str, str]) -> Any:
    # A BytesIO: feedparser would try to open bytes as a file name first.
    return feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        resolve_relative_uris=False,  # done by sanitize_html against the item link
        sanitize_html=False,  # done by nh3
    )


def _complete_only(body: bytes, headers: dict[str, str], result: Any) -> tuple[Any, Any, str | None]:
    """A not-well-formed body read again as its complete entries only: (result, bozo exception, note).

    A body cut off while streaming ends inside an entry; feedparser's loose
    parser would make an item of that half entry (a cut title, dated now).
    The body up to its last complete entry, closed, is read by the strict
    parser; when even that is not well-formed (an undefined entity, junk after
    the cut), the body up to its last entry that is sound on its own (every tag
    closed in it, in order) is read by the loose parser; nothing when there is none.
    """
    exc = result.get("bozo_exception")
    cut = complete_entries(body)
    if cut is not None:
        try:
            fixed = _feedparser(cut.body, headers)
        except Exception:
            fixed = None
        if fixed is not None and fixed.get("entries"):
            fixed_exc = fixed.get("bozo_exception") if fixed.get("bozo") else None
            if fixed_exc is None or isinstance(fixed_exc, NonXMLContentType):
                note = (f"body not well-formed or cut off ({_one_line(exc)}); used its "
                        f"{counted(cut.entries, 'complete entry', 'complete entries')}")
                return fixed, None, note
    kept = well_formed_prefix(body, cut) if cut else 0
    if cut is not None and kept:
        # Read again up to the last sound entry: the tail's broken bytes must not make the whole
        # body decode in a fallback encoding (every title garbled), nor give a half entry.
        try:
            again = _feedparser(cut.up_to(body, kept), headers)
        except Exception:
            again = None
        if again is not None and len(again.get("entries") or ()) >= kept:
            again["entries"] = list(again["entries"])[:kept]
            return again, exc, None
    result["entries"] = []
    return result, exc, None


def parse_feed(
    body: bytes,
    *,
    url: str,
    source: Source,
    identity: Identity,
    now: datetime,
    content_type: str | None = None,
    content_location: str | None = None,
    tz: tzinfo | None = None,
) -> ParsedFeed:
    """Parse an RSS/Atom ``body`` fetched from ``url`` into items (``tz``: unused: feeds give their dates' offsets).

    Raises :class:`FeedParseError` when the body is not a feed or no entry is usable.
    """
    # the date of an undated entry: aware, and whole seconds as every other date
    now = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).replace(microsecond=0)
    if not body:
        raise FeedParseError(url, "not a feed: empty body")

    doc_base = (_resolve(content_location, url) if content_location else "") or url
    headers = {}
    if content_type:
        headers["content-type"] = content_type
    try:
        result = _feedparser(bytes(body), headers)
    except Exception as exc:  # feedparser must never leak its own errors
        raise FeedParseError(url, f"not a feed: {_one_line(exc)}") from exc

    exc = result.get("bozo_exception") if result.get("bozo") else None
    broken = exc is not None and not isinstance(exc, NonXMLContentType)
    note = None
    if broken:
        result, exc, note = _complete_only(body, headers, result)
    entries = list(result.get("entries") or ())
    if not entries:
        if exc is not None and not isinstance(exc, ThingsNobodyCaresAboutButMe):
            raise FeedParseError(url, f"not a feed: {_one_line(exc)}")
        if not result.get("version"):
            raise FeedParseError(url, "not a feed: no RSS or Atom document found")

    warnings: list[str] = [note] if note else []
    if exc is not None and entries:
        warning = _bozo_warning(exc, len(entries))
        if warning:
            warnings.append(warning)
    if len(entries) > MAX_ENTRIES:
        warnings.append(f"{len(entries)} entries: only the first {MAX_ENTRIES} are read")
        entries = entries[:MAX_ENTRIES]

    feed = result.get("feed") or {}
    feed_title = _title_text(feed.get("title_detail"), feed.get("title"))[:200]
    ctx = _Context(url, doc_base, source, identity, now, feed_title)
    items: list[Item] = []
    undated: list[str] = []
    seen: set[str] = set()
    empty = anonymous = 0
    for index, entry in enumerate(entries):
        try:
            made = _make_item(entry, ctx)
        except Exception as error:  # one odd entry must not lose the others
            warnings.append(f"entry {index + 1} skipped: {_one_line(error)}")
            continue
        if made is None:
            empty += 1
            continue
        if broken and not made[0].link and not _str(dict.get(entry, "id")):
            anonymous += 1  # in a broken body, nothing tells it from a cut-off copy of itself
            continue
        item, is_undated = made
        if item.key in seen:
            continue
        seen.add(item.key)
        items.append(item)
        if is_undated:
            undated.append(item.key)
    for n, why in ((empty, "with no title, link or content"),
                   (anonymous, "with neither link nor guid in a body that is not well-formed")):  # fmt: skip
        if n:
            warnings.append(f"skipped {counted(n, 'entry', 'entries')} {why}")
    if entries and not items:
        raise FeedParseError(url, f"no usable entry among {counted(len(entries), 'entry', 'entries')}")

    return ParsedFeed(
        title=feed_title,
        link=_resolve(feed.get("link"), doc_base),
        items=tuple(items),
        warnings=tuple(warnings),
        undated=tuple(undated),
    )


parse = parse_feed  # the registry's entry point of a remote source type (feeds.core.registry)
