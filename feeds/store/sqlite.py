"""The SQLite backend of the store (the embedded default): one file, WAL mode.

One class per group of tables (sources and items, posts, articles and
outputs), put together here.  Every public method is one transaction on the
calling thread's own connection, so a crash at any moment (kill -9) leaves
the store as it was before or after that change, and threads never collide.
"""

from __future__ import annotations

from feeds.store.sqlite_articles import ArticleTables
from feeds.store.sqlite_neardup import NearDupTables
from feeds.store.sqlite_posts import PostTables
from feeds.store.sqlite_sources import SourceTables


class SQLiteStore(SourceTables, PostTables, ArticleTables, NearDupTables):
    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
