"""What crosses the store's boundary besides :mod:`feeds.core.models`: the records its methods take and give.

Kept apart from :mod:`feeds.store` (the interface) so that the backends, which
make and take them, import them without importing the interface that opens
the backends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from feeds.core.models import Entry, Merged


class UnknownKeys(LookupError):
    """A poll said some of its entries are stored unchanged, and the store holds no item of those keys
    (:meth:`feeds.store.Store.save_poll` wrote nothing: the poll is stored again, parsed whole)."""


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store remembers of one remote source."""

    name: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    failures: int = 0
    next_due: float | None = None
    last_error: str | None = None
    items: int = 0


class PostRef(NamedTuple):
    """The ``ref`` of an :class:`~feeds.core.models.Entry` that is a local post."""

    source: str
    path: str
    stamp: str  # "size:mtime_ns" of the file the entry was read from


class Article(NamedTuple):
    """One merged article as stored: enough to pick a feed's items and fingerprint them."""

    id: str  # the article's identity in the store (the key of its first stored version)
    timestamp: float  # published: the earliest version's date
    utcoffset: int
    categories: tuple[str, ...]
    sig: str  # changes whenever anything a feed shows of it may change
    shown: str = ""  # the key it is shown with (its id in every feed): canonical until published, then pinned


class NearDup(NamedTuple):
    """How a new version is matched with the stored versions of other sources (``[merge]``)."""

    window: float  # seconds
    threshold: float  # estimated Jaccard similarity
    priorities: tuple[tuple[str, int], ...] = ()  # each source's merge priority (whose version is canonical)

    def priority(self, source: str) -> int:
        for name, rank in self.priorities:
            if name == source:
                return rank
        return 0


class Page(NamedTuple):
    """An item's page fetched for its full text: the extracted article, or why not."""

    url: str
    ok: bool
    content: str  # sanitised article HTML ("" when not ok)
    reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None


Combine = Callable[[Sequence[Entry]], Merged]
# The rules at settle time: merged articles (key = article id) -> each one's categories, or None (dropped).
Judge = Callable[[Sequence[Merged]], Sequence[tuple[str, ...] | None]]


class Claim(NamedTuple):
    """What :meth:`Store.claim_due` gave this node."""

    granted: tuple[str, ...]  # the sources this node now holds (polls, then releases)
    retry_at: float | None  # when a source not granted may be claimable (due, a dead node's lease ending)
    busy_host: float = 0.0  # > 0: some were refused for a busy host; try again after this many seconds
