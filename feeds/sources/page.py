"""A web list page -> :class:`~feeds.core.models.ParsedFeed`, items picked by CSS selectors (lxml lives here).

For a publisher with no feed (``[[sources]] type = "page"``): ``item`` selects one
element per item; inside it ``title``, ``link``, ``date`` and ``summary`` select
the element whose text (or, written ``selector@attribute``, whose attribute) is
that field.  Links are resolved against the page (its ``<base href>`` first)
and only http(s) links are kept; dates are read as list pages write them
(:mod:`feeds.core.listdates`) in the site's time zone.  An item's key is its
link (its infoCode when the link carries one).  A page whose item selector
matches nothing, or whose items all lack a title or a link, is a redesign or a
block page: a :class:`~feeds.core.errors.FeedParseError` naming the selector,
and the source's items are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from feeds.core.errors import FeedParseError
from feeds.core.identity import Identity, item_key
from feeds.core.listdates import read_list_date
from feeds.core.models import Item, ParsedFeed, Source
from feeds.core.safety import safe_url
from feeds.core.selectors import Pick, split_selector
from feeds.core.text import clean_line, counted
from feeds.sources.charset import decode_html

FIELDS = ("item", "title", "link", "date", "summary")  # the selector keys of a page source, in the config's order
REQUIRED = ("item", "title", "link")
MAX_ITEMS = 1000  # items read from one page (a list page has tens)
MAX_TITLE = 1000  # characters (as for feeds and posts)
SUMMARY_CHARS = 300


@lru_cache(maxsize=512)
def _compiled(css: str) -> Any:
    from lxml.cssselect import CSSSelector

    return CSSSelector(css)


def _first(element: Any, pick: Pick) -> str:
    """The text (or attribute) of the first element ``pick`` selects inside ``element``; "" for none."""
    found = [element] if not pick.css else _compiled(pick.css)(element)
    for match in found:
        if pick.attribute is not None:
            value = match.get(pick.attribute)
            if value and value.strip():
                return str(value).strip()
        else:
            text = clean_line(match.text_content())
            if text:
                return text
    return ""


def _link_of(element: Any, pick: Pick) -> str:
    """The link field: as picked; without an attribute, the picked element's href (or its first <a>'s)."""
    if pick.attribute is not None:
        return _first(element, pick)
    found = [element] if not pick.css else _compiled(pick.css)(element)
    for match in found:
        href = match.get("href") or next((a.get("href") for a in match.iter("a") if a.get("href")), None)
        if href and href.strip():
            return str(href).strip()
    return ""


def selectors_of(source: Source) -> dict[str, Pick]:
    """The source's selectors by field (a page source always has item, title and link: the config checks)."""
    return {name: split_selector(css) for name, css in source.selectors}


@dataclass(frozen=True, slots=True)
class Row:
    """What the selectors picked of one item element (before it is made an item): for ``feeds try`` too."""

    title: str
    link: str  # absolute, or "" when there is none or it is not http(s)
    raw_link: str
    date: str
    summary: str


def pick_rows(body: bytes, url: str, source: Source, content_type: str | None = None) -> tuple[list[Row], str, int]:
    """(the rows the selectors pick, the page's title, how many item elements matched)."""
    from lxml import etree
    from lxml import html as lxml_html

    text, _ = decode_html(body, content_type)
    try:
        root = lxml_html.document_fromstring(text)
    except (etree.LxmlError, ValueError) as exc:
        raise FeedParseError(url, f"not an HTML page: {clean_line(str(exc)) or 'empty'}") from None
    picks = selectors_of(source)
    base = url
    for element in root.iter("base"):
        href = element.get("href")
        if href:
            base = urljoin(url, href.strip())
            break
    page_title = clean_line(root.findtext(".//title") or "")[:200]
    matched = _compiled(picks["item"].css)(root)
    rows: list[Row] = []
    for element in matched[:MAX_ITEMS]:
        raw = _link_of(element, picks["link"])
        try:
            resolved = safe_url(urljoin(base, raw)) if raw else None
        except ValueError:
            resolved = None
        rows.append(Row(
            title=_first(element, picks["title"]),
            link=resolved or "",
            raw_link=raw,
            date=_first(element, picks["date"]) if "date" in picks else "",
            summary=_first(element, picks["summary"]) if "summary" in picks else "",
        ))  # fmt: skip
    return rows, page_title, len(matched)


def parse_page(
    body: bytes, *, url: str, source: Source, identity: Identity, now: datetime, tz: tzinfo,
    content_type: str | None = None,
) -> ParsedFeed:  # fmt: skip
    """The items of a list page fetched from ``url`` (see the module docstring)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if not body.strip():
        raise FeedParseError(url, "empty page")
    rows, page_title, matched = pick_rows(body, url, source, content_type)
    picks = dict(source.selectors)
    if not matched:
        raise FeedParseError(url, f"the item selector {picks['item']!r} matches nothing on the page (a redesign, "
                             "or a block page?); the source's items are kept")  # fmt: skip
    items: list[Item] = []
    undated: list[str] = []
    seen: set[str] = set()
    unsafe = missing = 0
    for row in rows:
        if row.raw_link and not row.link:
            unsafe += 1  # javascript:, data:, mailto:… (or not a URL at all)
            continue
        if not row.title or not row.link:
            missing += 1
            continue
        title = row.title if len(row.title) <= MAX_TITLE else row.title[:MAX_TITLE].rstrip() + "…"
        read = read_list_date(row.date, now, tz) if row.date else None
        when = read.when if read is not None else now.astimezone(tz).replace(microsecond=0)
        key = item_key(info_code=identity.code_in_url(row.link), link=row.link, guid=None, title=title, date=None)
        if key in seen:
            continue
        seen.add(key)
        summary = row.summary if len(row.summary) <= SUMMARY_CHARS else row.summary[:SUMMARY_CHARS].rstrip() + "…"
        items.append(Item(key=key, title=title, link=row.link, published=when, updated=when,
                          categories=(source.category,) if source.category else (), summary=summary,
                          source=source.name, origin=url, feed_url=url,
                          feed_title=page_title or source.name))  # fmt: skip
        if read is None or not read.exact:
            undated.append(key)  # dated when first seen, and kept so
    warnings = _warnings(unsafe, missing, len(rows), matched)
    if not items:
        who = "the one item lacks" if len(rows) == 1 else f"each of the {len(rows)} items lacks"
        raise FeedParseError(url, f"{who} a title ({picks['title']!r}) or an http(s) link ({picks['link']!r}): "
                             "a redesign, or a block page?; the source's items are kept")  # fmt: skip
    return ParsedFeed(title=page_title, link=url, items=tuple(items), warnings=warnings, undated=tuple(undated))


def parse(
    body: bytes, *, url: str, source: Source, identity: Identity, now: datetime, tz: tzinfo,
    content_type: str | None = None, content_location: str | None = None,
) -> ParsedFeed:  # fmt: skip
    """The registry's entry point of a remote source type (:mod:`feeds.core.registry`)."""
    return parse_page(body, url=url, source=source, identity=identity, now=now, tz=tz, content_type=content_type)


def _warnings(unsafe: int, missing: int, rows: int, matched: int) -> tuple[str, ...]:
    out: list[str] = []
    if unsafe:
        out.append(f"dropped {counted(unsafe, 'item')} whose link is not http(s) (javascript:, data:…)")
    if missing:
        out.append(f"skipped {missing} of {counted(rows, 'item')} without a title or a link")
    if matched > MAX_ITEMS:
        out.append(f"{matched} items on the page: only the first {MAX_ITEMS} are read")
    return tuple(out)


def describe(rows: Sequence[Row], limit: int = 10) -> list[str]:
    """What the selectors picked, as lines for ``feeds try``."""
    lines = []
    for n, row in enumerate(rows[:limit], 1):
        lines.append(f"{n:>3}. {row.title or '(no title)'}")
        lines.append(f"     link: {row.link or ('(not http(s): ' + row.raw_link + ')' if row.raw_link else '(none)')}")
        if row.date:
            lines.append(f"     date: {row.date}")
        if row.summary:
            lines.append(f"     summary: {row.summary[:120]}")
    return lines
