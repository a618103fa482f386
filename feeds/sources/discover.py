"""The feeds a URL offers (``feeds add``): the URL itself when it is a feed, else its page's alternates.

A web page names its feeds with ``<link rel="alternate" type="application/rss+xml"
href="…">`` (Atom: ``application/atom+xml``; JSON Feed: ``application/feed+json``).
:func:`discover` fetches the URL with the project's bounded fetcher
(:mod:`feeds.sources.fetch`: size, time and redirect limits); when it is not a
feed, it reads the page's alternates in their order and fetches them, first to
last, until one is a feed feeds reads (RSS or Atom; at most :data:`MAX_TRIES`).
That one is the feed to add, named by its own title; the others are listed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from feeds.config import FetchSettings
from feeds.core.errors import FeedParseError, FeedsError, SourceError
from feeds.core.identity import DEFAULT_PATTERNS, Identity
from feeds.core.models import Source
from feeds.core.safety import safe_url, url_key
from feeds.core.text import clean_line
from feeds.sources.feedparse import parse_feed
from feeds.sources.fetch import Fetcher

MAX_TRIES = 5  # alternates fetched before giving up on a page
MAX_ALTERNATES = 100  # alternates of a page listed
KINDS = {
    "application/rss+xml": "RSS",
    "application/rdf+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/feed+json": "JSON Feed",
    "application/json": "JSON Feed",
}
READ = ("RSS", "Atom")  # the kinds feeds polls
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(rss|RDF|feed)[\s>/]")
_JSON_FEED = "https://jsonfeed.org/version/"


@dataclass(frozen=True, slots=True)
class Offer:
    """One feed a URL offers: its URL, kind ("RSS", "Atom", "JSON Feed") and title ("" when unknown)."""

    url: str
    kind: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Discovery:
    """What :func:`discover` found: ``chosen``, a feed feeds reads (checked by fetching it), and the
    ``others`` the page offers too; ``page`` is the page they were found in (None: the URL is a feed)."""

    chosen: Offer
    others: tuple[Offer, ...] = ()
    page: str | None = None


class NoFeedError(SourceError):
    """The URL is no feed and offers none that feeds reads."""


def _kind(body: bytes) -> str:
    """ "RSS" or "Atom" from a feed's root element (its first 4 KiB), else "feed"."""
    match = _ROOT.search(body[:4096])
    return {"rss": "RSS", "RDF": "RSS", "feed": "Atom"}.get(match.group(1).decode() if match else "", "feed")


def _json_feed_title(body: bytes) -> str | None:
    """A JSON Feed's title ("" without one), or None when ``body`` is not a JSON Feed."""
    if body.lstrip()[:1] != b"{":
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(_JSON_FEED):
        return None
    title = data.get("title")
    return clean_line(title)[:200] if isinstance(title, str) else ""


def alternates(html: bytes, page_url: str) -> list[Offer]:
    """The feeds a page names with ``<link rel="alternate" type=…>``, absolute, each URL once, in order."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.LxmlError, ValueError):
        return []
    base = page_url
    for element in root.iter("base"):
        base = safe_url(element.get("href") or "", page_url) or page_url
        break
    found: list[Offer] = []
    seen: set[str] = set()
    for element in root.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = KINDS.get((element.get("type") or "").split(";")[0].strip().lower())
        if "alternate" not in rel or kind is None:
            continue
        url = safe_url((element.get("href") or "").strip(), base)
        if url is None or url_key(url) in seen:
            continue
        seen.add(url_key(url))
        found.append(Offer(url, kind, clean_line(element.get("title") or "")[:200]))
        if len(found) >= MAX_ALTERNATES:
            break
    return found


async def _read(fetcher: Fetcher, url: str) -> tuple[bytes, str]:
    """The body of ``url`` and its final URL, or FetchError."""
    result = await fetcher.fetch(Source(name=url, type="feed", url=url))
    return result.body or b"", result.url


def _as_feed(body: bytes, url: str, final: str, content_type: str | None = None) -> Offer | None:
    """``body`` read as an RSS/Atom feed (its title from the feed itself), or None when it is none."""
    try:
        parsed = parse_feed(body, url=final, source=Source(name=url, type="feed", url=url),
                            identity=Identity(DEFAULT_PATTERNS), now=datetime.now(UTC),
                            content_type=content_type)  # fmt: skip
    except FeedParseError:
        return None
    return Offer(url, _kind(body), parsed.title)


async def discover(url: str, settings: FetchSettings) -> Discovery:
    """The feed to add for ``url`` and the others it offers; NoFeedError (or FetchError) when there is none."""
    async with Fetcher(settings, concurrency=1, per_host=1) as fetcher:
        body, final = await _read(fetcher, url)
        offer = _as_feed(body, url, final)
        if offer is not None:
            return Discovery(offer)
        if _json_feed_title(body) is not None:
            raise NoFeedError(url, "a JSON Feed: feeds reads RSS and Atom feeds only (give the site's RSS or Atom)")
        offers = alternates(body, final)
        if not offers:
            raise NoFeedError(url, 'no feed here: not an RSS or Atom feed, and no <link rel="alternate"> feed in it')
        problems: list[str] = []
        for candidate in [o for o in offers if o.kind in READ][:MAX_TRIES]:
            try:
                feed_body, feed_final = await _read(fetcher, candidate.url)
            except FeedsError as exc:
                problems.append(str(exc))
                continue
            found = _as_feed(feed_body, candidate.url, feed_final)
            if found is None:
                problems.append(f"{candidate.url}: not an RSS or Atom feed")
                continue
            chosen = Offer(found.url, found.kind if found.kind != "feed" else candidate.kind,
                           found.title or candidate.title)  # fmt: skip
            return Discovery(chosen, tuple(o for o in offers if o.url != candidate.url), page=final)
        if not problems:
            kinds = ", ".join(sorted({o.kind for o in offers}))
            raise NoFeedError(url, f"the page offers only {kinds} feeds: feeds reads RSS and Atom feeds only")
        raise NoFeedError(url, f"none of the page's feeds could be read ({problems[0]})")


__all__ = ["Discovery", "NoFeedError", "Offer", "alternates", "discover"]
