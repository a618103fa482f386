"""The data that crosses module boundaries: frozen dataclasses, nothing else.

Third-party objects (feedparser dicts, feedgen entries, httpx responses, sqlite
rows) never leave the module that wraps them; they are turned into these.
All datetimes here are timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from feeds.core.registry import SOURCE_TYPES

SourceType = Literal["posts", "feed", "page"]  # the names of feeds.core.registry.SOURCE_TYPES


@dataclass(frozen=True, slots=True)
class Item:
    """One article, from a local post or a remote feed entry.

    ``key`` is the identity key (see :mod:`feeds.core.identity`): items with the same
    key are the same article and are merged.  ``content`` is final HTML (absolute
    links, sanitised for remote sources); it is ``None`` for a local post until
    the pipeline renders ``body`` for the few items that reach a feed.
    ``published`` is the first date the article was seen with, ``updated`` the
    date of the version whose title/content/link we carry.
    """

    key: str
    title: str
    link: str
    published: datetime
    updated: datetime
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    author: str = ""
    content: str = ""
    summary: str = ""
    source: str = ""
    origin: str = ""  # the post's path or the entry's feed URL: for messages and ties
    related: tuple[tuple[str, str], ...] = ()  # (source, link) of the other versions merged into this item
    author_email: str = ""
    author_uri: str = ""  # an http(s) URL
    image: str = ""  # an http(s) URL: the item's thumbnail
    original: str = ""  # an http(s) URL: the original article a post was taken from (its infoCode source link)
    feed_url: str = ""  # a remote item: the feed it came from ("" for a post)
    feed_title: str = ""  # a remote item: that feed's title (its source's name when it has none)

    @property
    def byline(self) -> str:
        """Who the item is by, when it says so; a remote item without an author: its feed's title."""
        return self.author or (self.feed_title or self.source if self.feed_url else "")


@cache
def _fixed_zone(seconds: int) -> timezone:
    return timezone(timedelta(seconds=seconds))


_MIN_TIMESTAMP = -62135510400.0  # 0001-01-02T00:00:00Z: any offset can still be applied
_MAX_TIMESTAMP = 253402128000.0  # 9999-12-30T00:00:00Z


def instant(timestamp: float, utcoffset: int) -> datetime:
    """An aware datetime from epoch seconds and its UTC offset in seconds.

    Never raises: an instant outside years 1..9999 (a stored value from an older
    version, a NaN) is clamped to the supported range, an impossible offset is UTC.
    """
    if not -86400 < utcoffset < 86400:
        utcoffset = 0
    if not _MIN_TIMESTAMP <= timestamp <= _MAX_TIMESTAMP:  # also NaN
        timestamp = _MIN_TIMESTAMP if timestamp < 0 else _MAX_TIMESTAMP
    return datetime.fromtimestamp(timestamp, _fixed_zone(utcoffset))


def stamp(when: datetime) -> tuple[float, int]:
    """(epoch seconds, UTC offset in seconds) of an aware datetime."""
    offset = when.utcoffset()
    return when.timestamp(), int(offset.total_seconds()) if offset else 0


class PostIndex(NamedTuple):
    """What a build keeps in memory of each post: enough to merge and pick feeds.

    Title, link and body are read again (with :func:`feeds.posts.load_full`)
    only for the few posts that reach a feed.
    """

    path: str
    size: int
    mtime_ns: int
    status: str  # "ok", "unpublished", "error"
    message: str | None
    key: str
    timestamp: float
    utcoffset: int
    categories: tuple[str, ...]
    source: str


class PostRecord(NamedTuple):
    """One post file as read: a plain tuple, cheap to send between processes and to cache.

    ``status`` is ``"ok"``, ``"unpublished"`` or ``"error"``; ``message`` is the
    error's reason, or for a post that was read anyway what was repaired.
    ``body_offset`` is where the body starts in the decoded text.
    """

    path: str
    size: int
    mtime_ns: int
    status: str
    message: str | None = None
    key: str = ""
    title: str = ""
    link: str = ""
    timestamp: float = 0.0
    utcoffset: int = 0
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    author: str = ""
    body_offset: int = 0
    source: str = ""
    updated: float = 0.0  # last_modified_at / updated, epoch seconds (0: not given); same offset as the date
    updated_offset: int = 0
    excerpt: str = ""  # the front matter's excerpt / description / summary, as plain text
    author_email: str = ""
    author_uri: str = ""
    image: str = ""
    original: str = ""  # set by load_full: the URL in a stripped closing line (the original article)

    @property
    def error(self) -> str | None:
        return self.message if self.status == "error" else None

    @property
    def warning(self) -> str | None:
        return self.message if self.status != "error" else None

    @property
    def unpublished(self) -> bool:
        return self.status == "unpublished"

    def index(self) -> PostIndex:
        return PostIndex(
            self.path,
            self.size,
            self.mtime_ns,
            self.status,
            self.message,
            self.key,
            self.timestamp,
            self.utcoffset,
            self.categories,
            self.source,
        )

    @property
    def item(self) -> Item | None:
        """The post as an :class:`Item` (content not rendered yet), None unless status is ok."""
        if self.status != "ok":
            return None
        when = instant(self.timestamp, self.utcoffset)
        return Item(
            key=self.key,
            title=self.title,
            link=self.link,
            published=when,
            updated=instant(self.updated, self.updated_offset) if self.updated > self.timestamp else when,
            categories=self.categories,
            tags=self.tags,
            author=self.author,
            source=self.source,
            origin=self.path,
            author_email=self.author_email,
            author_uri=self.author_uri,
            image=self.image,
            original=self.original,
        )


class Entry(NamedTuple):
    """What merging needs of one version of an article; ``ref`` leads to the rest.

    Merging and picking the newest items of 100k articles works on these light
    tuples; full :class:`Item` objects are made only for what reaches a feed.
    """

    key: str
    timestamp: float  # the version's date, epoch seconds
    utcoffset: int
    categories: tuple[str, ...]
    origin: str  # the post's path or the entry's feed URL: a fixed tie-break
    ref: Any  # a PostIndex (local post) or an Item (remote entry)
    source: str = ""  # the name of the source the version came from (its priority)


class Merged(NamedTuple):
    """One article after merging its versions (see :func:`feeds.core.merge.merge`)."""

    key: str
    timestamp: float  # published: the earliest version's date
    utcoffset: int
    categories: tuple[str, ...]  # union, newest version's first
    best: Entry  # the most recently dated version: title, content, link, updated
    versions: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """One ``[[sources]]`` entry of the config."""

    name: str
    type: SourceType
    path: Path | None = None  # posts: folder scanned recursively
    url: str | None = None  # feed: the remote feed URL
    category: str | None = None  # feed: slug its items are filed under
    interval: float = 900.0  # seconds between polls / rescans
    headers: tuple[tuple[str, str], ...] = ()
    nodes: tuple[str, ...] = ()  # posts: the nodes that scan it (a cluster); empty: every node
    max_bytes: int = 10 * 1024 * 1024  # posts: a larger file is refused with that reason
    trusted_html: bool = False  # posts: keep the bodies' HTML as written (not sanitised)
    priority: int | None = None  # whose version wins a merge: None = the default of its type (see rank)
    full_text: bool = False  # feed: fetch each new item's page and use its article as the content
    full_text_selector: str | None = None  # feed: a CSS selector narrowing the page to the article
    strip_lines: tuple[str, ...] | None = None  # posts: closing lines that are not the article (None: defaults)
    selectors: tuple[tuple[str, str], ...] = ()  # page: (field, CSS selector[@attribute]) of item, title, link…

    @property
    def remote(self) -> bool:
        """Fetched from a URL (a feed, a list page), not read from files."""
        return SOURCE_TYPES[self.type][0] == "remote"

    @property
    def host(self) -> str:
        """The host a feed is fetched from (per-host limits); "" for posts."""
        from urllib.parse import urlsplit

        return (urlsplit(self.url or "").hostname or "").lower()

    @property
    def rank(self) -> int:
        """The priority of this source's versions: posts above remote sources unless configured."""
        if self.priority is not None:
            return self.priority
        return REMOTE_PRIORITY if self.remote else POSTS_PRIORITY


POSTS_PRIORITY = 10  # default priority of a posts source: the site's own version wins
REMOTE_PRIORITY = 0  # default priority of a remote source


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A completed HTTP fetch: ``status`` 200 with ``body``, or 304 without.

    ``url`` is the final URL after redirects; ``headers`` keeps the response
    headers a parser needs (content type and encoding) as lower-case names.
    """

    url: str
    status: int
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    elapsed_ms: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What :func:`feeds.parse.parse_feed` made of a remote body."""

    title: str
    link: str
    items: tuple[Item, ...]
    warnings: tuple[str, ...] = ()
    undated: tuple[str, ...] = ()  # keys of items whose entry had no date


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed to write: what it is called, and its file and URL in each configured format."""

    slug: str | None  # category slug, None for the combined feed
    title: str
    description: str
    html_url: str  # the page the feed is about
    files: tuple[tuple[str, str, str], ...] = ()  # (format, path relative to the output folder, public URL)
    folder: str = ""  # "" (the combined feed) or "category/<slug>/": its files and its page are there

    def path(self, fmt: str) -> str:
        """The file of this feed in ``fmt`` (a format of ``[output] formats``), "/"-separated."""
        for name, path, _ in self.files:
            if name == fmt:
                return path
        raise KeyError(fmt)

    def url(self, fmt: str) -> str:
        """The public URL (self link) of this feed in ``fmt``."""
        for name, _, url in self.files:
            if name == fmt:
                return url
        raise KeyError(fmt)


@dataclass(frozen=True, slots=True)
class Health:
    """What ``GET /healthz`` reports: ``ok`` False (503) with ``reason`` when feeds is not publishing."""

    ok: bool
    reason: str = ""
    last_publish: float | None = None  # epoch seconds of the last successful publish
    items: int = 0
    sources_failing: int = 0
    oldest_due: float | None = None  # the earliest next-due time of a source, epoch seconds


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What one build did, for the summary line and the tests."""

    posts_read: int = 0
    posts_skipped: int = 0
    posts_cached: int = 0
    items: int = 0
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    seconds: float = 0.0
    polled: int = 0
    poll_failures: int = 0
    removed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()  # why the build is not complete (a posts folder missing…): exit 1
