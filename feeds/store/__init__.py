"""The state store: what feeds remembers between runs, behind one small interface.

What is kept:

* **sources**: each remote source's fetch state (validators, failures, next due);
* **items**: every entry fetched from a remote source, in full;
* **post cache**: one index row per post file (size, mtime, key, date…), so a
  rescan reads only new and changed files; and the posts read in full for a feed;
* **entries** and **articles**: every version of every article (a remote item
  or a post), and each article merged from its versions, indexed by date and
  by category.  A change marks the article *dirty*; :meth:`Store.settle`
  merges the dirty ones again (and only them), so a publish costs what
  changed, not everything ever stored;
* **outputs**: the files feeds wrote, with the fingerprint of what is in them
  (per node: each node of a cluster writes its own output folder).

Several nodes (``feeds run`` processes) may share one PostgreSQL store: a node
polls only the sources it claimed (:meth:`Store.claim_due`, a lease that ends
with :meth:`Store.release` or by expiring), learns of changes by
:meth:`Store.watch`, and settles only while it leads.  SQLite is one node.

Every method is one transaction, atomic and isolated whoever calls it, from
any thread: an implementation never shares a connection between threads.
Backends: :class:`feeds.store.sqlite.SQLiteStore` (the embedded default) and
:class:`feeds.store.postgres.PostgresStore` (several nodes on one database).
Only the types of :mod:`feeds.store.records` (re-exported here) and those of
:mod:`feeds.core.models` cross this boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from feeds.core.errors import StoreError
from feeds.core.models import Entry, Item, PostIndex, Source
from feeds.store.records import Article, Claim, Combine, Judge, NearDup, Page, PostRef, SourceState, UnknownKeys

__all__ = [
    "Article", "Claim", "Combine", "Judge", "NearDup", "Page", "PostRef", "SourceState", "Store", "UnknownKeys",
    "default_node", "display_store", "display_url", "open_store", "store_exists",
]  # fmt: skip

if TYPE_CHECKING:
    from feeds.config import Settings


class Store(Protocol):
    """The interface every backend implements (see the module docstring)."""

    # lifecycle
    def close(self) -> None: ...
    def maintain(self) -> None: ...  # housekeeping every few seconds in a long-running process
    def __enter__(self) -> Store: ...
    def __exit__(self, *exc: object) -> None: ...
    @property
    def schema_version(self) -> int: ...

    # remote sources and their items
    def source_state(self, name: str, *, counts: bool = True) -> SourceState: ...
    def source_states(self, *, counts: bool = False) -> dict[str, SourceState]: ...
    def save_source(self, state: SourceState) -> None: ...
    def save_poll(
        self, state: SourceState, items: Sequence[Item], undated: Iterable[str], now: float,
        *, sketches: Mapping[str, bytes] | None = None, near: NearDup | None = None, seen: Sequence[str] = (),
    ) -> tuple[int, int]: ...  # fmt: skip
    def load_items(self, ids: Iterable[int]) -> dict[int, Item]: ...
    def forget_sources(self, keep: Iterable[str]) -> None: ...

    # posts
    def has_post_cache(self, source: str, context: str) -> bool: ...
    def post_cache(self, source: str, context: str) -> dict[str, PostIndex]: ...
    def save_posts(
        self,
        source: str,
        context: str,
        rows: Sequence[PostIndex],
        *,
        changed: Sequence[PostIndex] | None = None,
        removed: Sequence[str] = (),
        sketches: Mapping[str, bytes] | None = None,
        near: NearDup | None = None,
    ) -> None: ...
    def post_counts(self) -> dict[str, int]: ...
    def rendered(self, wanted: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], tuple[Any, ...]]: ...
    def save_rendered(self, rows: Sequence[tuple[str, str, str, tuple[Any, ...]]]) -> None: ...

    # articles
    def settle(self, combine: Combine, *, merge_key: str | None = None, judge: Judge | None = None) -> int: ...
    def generation(self) -> int: ...
    def categories(self) -> list[str]: ...
    def top(self, category: str | None, now: float, limit: int) -> list[Article]: ...
    def versions(self, articles: Iterable[str]) -> dict[str, list[Entry]]: ...
    def pin(self, articles: Iterable[tuple[str, str]]) -> None: ...  # (article, shown) as published: forever
    def next_due(self, now: float) -> float | None: ...
    def count_articles(self, now: float) -> int: ...

    # the merger: near-duplicate sketches, full-text pages
    def new_keys(self, source: str, keys: Sequence[str]) -> set[str]: ...
    def sketch_days(self, exclude: str) -> set[int]: ...
    def unsketched_posts(self, start: float, end: float) -> list[tuple[PostRef, str, float]]: ...
    def save_sketches(self, source: str, rows: Sequence[tuple[str, float, bytes]]) -> None: ...
    def find_article(self, keys: Sequence[str], link: str | None = None) -> str | None: ...
    def sketches_of(self, article: str) -> dict[tuple[str, str], bytes]: ...
    def pages(self, urls: Iterable[str]) -> dict[str, Page]: ...
    def save_pages(self, pages: Sequence[Page], now: float) -> None: ...

    # outputs and small values
    def output_fingerprints(self) -> dict[str, tuple[str, int]]: ...
    def save_outputs(self, fingerprints: Mapping[str, tuple[str, int]]) -> None: ...
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, values: Mapping[str, str]) -> None: ...

    # several nodes on one store (PostgreSQL); SQLite is one node: every claim succeeds, nothing to watch
    @property
    def clustered(self) -> bool: ...
    def claim_due(
        self, sources: Sequence[Source], now: float, lease: float, per_host: int, *, force: bool = False
    ) -> Claim: ...
    def release(self, names: Sequence[str]) -> None: ...
    def watch(self, on_event: Callable[[str], None]) -> Callable[[], None]: ...


def default_node(output_dir: object = "") -> str:
    """This node's name when none is given: the host and its output folder (one per node)."""
    import socket

    return f"{socket.gethostname()}:{output_dir}"


def postgres_backend(url: str) -> ModuleType:
    """:mod:`feeds.store.postgres`, for the database at ``url``; without the ``postgresql`` extra
    (psycopg) installed, a StoreError that says how to install it (one line, never a traceback)."""
    try:
        from feeds.store import postgres as module
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("psycopg", "psycopg_pool"):
            raise
        raise StoreError(_plain_url(url), 'PostgreSQL needs its driver, which is not installed: run '
                         'pip install "feeds[postgresql]"') from None  # fmt: skip
    return module


def _plain_url(url: str) -> str:
    """``postgresql://user@host:port/dbname`` of ``url`` without its password, read without psycopg."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "postgresql://(unparsable url)"
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}{parts.hostname or 'localhost'}{port}{parts.path}"


def display_url(url: str) -> str:
    """A PostgreSQL URL as shown to a user: without its password."""
    try:
        return str(postgres_backend(url).display_url(url))
    except StoreError:
        return _plain_url(url)


def display_store(settings: Settings) -> str:
    """The store as named to a user (a PostgreSQL URL without its password)."""
    return str(settings.state_path) if settings.state_url is None else display_url(settings.state_url)


def store_exists(settings: Settings) -> bool:
    """Whether the store the settings name holds anything yet (without creating it); raises StoreError."""
    if settings.state_url is None:
        return settings.state_path.exists()
    return bool(postgres_backend(settings.state_url).exists(settings.state_url, timeout=settings.state_timeout))


def open_store(
    where: Settings | Path | str, *, busy_timeout: float | None = None, node: str | None = None
) -> Store:
    """The store the settings name (``[state] url``: PostgreSQL; else SQLite at ``[state] path``),
    or at a path or ``postgresql://`` URL; created or migrated as needed; raises StoreError.

    ``busy_timeout``: how long (seconds) a write waits for another's (SQLite), or for a
    connection (PostgreSQL).  ``node``: this node's name (PostgreSQL: outputs are per node).
    """
    from feeds.config import Settings

    if isinstance(where, Settings):
        timeout = where.state_timeout if busy_timeout is None else busy_timeout
        target: Path | str = where.state_url or where.state_path
        node = node or default_node(where.output.dir)
    else:
        timeout = 120.0 if busy_timeout is None else busy_timeout
        target = where
    if isinstance(target, str) and target.startswith(("postgresql:", "postgres:")):
        store: Store = postgres_backend(target).PostgresStore(target, node=node or default_node(), timeout=timeout)
        return store
    from feeds.store.sqlite import SQLiteStore

    return SQLiteStore(Path(target), busy_timeout=timeout)
