"""The data that crosses module boundaries: frozen dataclasses, nothing else.

Third-party objects (feedparser dicts, feedgen entries, httpx responses, sqlite
rows) never leave the module that wraps them; they are turned into these.
All datetimes here are timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

SourceType = Literal["posts", "feed"]


@dataclass(frozen=True, slots=True)
class BodyRef:
    """Where a local post's body lives, so it is rendered only when a feed needs it.

    ``offset`` is the character offset of the body in the decoded file text;
    ``size``/``mtime_ns`` are the file's signature when it was read (a changed
    file is read again instead of rendering stale offsets).
    """

    path: str
    offset: int
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Item:
    """One article, from a local post or a remote feed entry.

    ``key`` is the identity key (see :mod:`feeds.identity`): items with the same
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
    content: str | None = None
    summary: str = ""
    body: BodyRef | None = None
    source: str = ""
    origin: str = ""  # the post's path or the entry's feed URL: for messages and ties


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
    """One feed to write: which file, what it is called, where it is served."""

    slug: str | None  # category slug, None for the combined feed
    title: str
    description: str
    html_url: str  # the page the feed is about
    rss_path: str  # path relative to the output folder, "/"-separated
    atom_path: str
    rss_url: str  # public URLs (self links)
    atom_url: str


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
