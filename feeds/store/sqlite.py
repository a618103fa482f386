"""The SQLite backend of the store (the embedded default): one file, WAL mode.

One class per group of tables (sources and items, posts, articles and
outputs), put together here.  Every public method is one transaction on the
calling thread's own connection, so a crash at any moment (kill -9) leaves
the store as it was before or after that change, and threads never collide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from feeds.core.models import Source
from feeds.store import Claim
from feeds.store.sqlite_articles import ArticleTables
from feeds.store.sqlite_neardup import NearDupTables
from feeds.store.sqlite_posts import PostTables
from feeds.store.sqlite_sources import SourceTables

# the tables ``feeds migrate`` copies (every one)
DUMPED = ("sources", "items", "post_cache", "post_delta", "rendered", "entries", "articles", "article_cats",
          "dirty", "meta", "outputs", "sketches", "buckets", "clusters", "pages")  # fmt: skip


class SQLiteStore(SourceTables, PostTables, ArticleTables, NearDupTables):
    clustered = False  # one node: every claim succeeds, no one else to hear from

    def claim_due(
        self, sources: Sequence[Source], now: float, lease: float, per_host: int, *, force: bool = False
    ) -> Claim:
        return Claim(tuple(s.name for s in sources), None)

    def release(self, names: Sequence[str]) -> None:
        pass

    def watch(self, on_event: Callable[[str], None]) -> Callable[[], None]:
        return lambda: None

    def dump(self) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        """Every table's columns and rows, read in one snapshot (for ``feeds migrate``)."""
        out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        with self.read() as db:
            for table in DUMPED:
                columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
                out[table] = (columns, db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())
        return out

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
